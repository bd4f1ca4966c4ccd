"""Rendered calendar JSON, kept by each worker process for the instruments it served lately.

The calendar is the most read page of the site and changes far less often than it is read.
The database bumps instruments.calendar_version in the same transaction as every change a
calendar shows (migration 0009), so a kept body is right for as long as that counter stands
still, and for as long as time passing has not moved the bookable window across a slot
boundary (rules.bookable_grid, part of the key). Checking costs one primary-key read instead
of the calendar's statement, its rows and their rendering. The cache never serves what a
reader could not have read itself: bodies come from committed, single-statement reads.

The same key names the body for the browser: its ETag. FullCalendar fetches the calendar again
on every navigation, and a browser that still holds the current body is answered 304 without
one (nothing read but the version, nothing rendered when the instrument is kept).
"""
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from booking.accounts.models import User
from booking.bookings import rules
from booking.bookings.calendar import (
    CalendarInstrument,
    CalendarView,
    calendar_version,
    calendar_view,
    policy_for,
)
from booking.core.clock import from_local, now_utc

Render = Callable[[CalendarInstrument, CalendarView], bytes]
FORMAT = 3  # part of every ETag: raise it when the body's format changes


class Calendar(NamedTuple):
    instrument: CalendarInstrument
    body: bytes | None  # None when the asker's copy (`known`) is current
    etag: str


@dataclass
class _Entry:
    instrument: CalendarInstrument  # as of instrument.calendar_version
    bodies: dict[tuple, bytes] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(map(len, self.bodies.values()))


class CalendarCache:
    """At most `max_bytes` of bodies, at most `bodies_per_instrument` per instrument (ranges
    and viewers); the instruments kept least recently go first."""

    def __init__(self, max_bytes: int, bodies_per_instrument: int = 32):
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._max_bytes = max_bytes
        self._max_bodies = bodies_per_instrument
        self._bytes = 0
        self._lock = threading.Lock()  # for threaded servers; a sync worker never waits

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def calendar(self, instrument_id: int, viewer: User | None, start: datetime, end: datetime,
                 render: Render, known: str | None = None) -> Calendar | None:
        """The instrument and its calendar for [start, end) as `viewer` sees it, rendered by
        `render`; None when there is no such instrument. `known`: the ETag the asker holds
        (If-None-Match). One statement when the body is kept (the version check) or nothing is
        kept for the instrument (the calendar's own); two when what is kept is out of date or
        for another range or viewer."""
        now = now_utc()
        viewer_id = viewer.id if viewer is not None and viewer.is_authenticated else None
        entry = self._entries.get(instrument_id)
        if entry is not None and \
                calendar_version(instrument_id) == entry.instrument.calendar_version:
            key = _key(entry.instrument, viewer_id, start, end, now)
            etag = _etag(entry.instrument, key)
            if etag == known:
                return Calendar(entry.instrument, None, etag)
            body = entry.bodies.get(key)
            if body is not None:
                return Calendar(entry.instrument, body, etag)
        found = calendar_view(instrument_id, viewer, start, end, now)
        if found is None:
            with self._lock:
                self._drop(instrument_id)
            return None
        instrument, view = found
        key = _key(instrument, viewer_id, start, end, now)
        etag = _etag(instrument, key)
        # kept even when the asker's copy is current: unkept, every later revalidation on this
        # worker would read the whole calendar again (its copy came from another worker)
        body = render(instrument, view)
        self._keep(instrument, key, body)
        return Calendar(instrument, None if etag == known else body, etag)

    def _keep(self, instrument: CalendarInstrument, key: tuple, body: bytes) -> None:
        with self._lock:
            entry = self._entries.get(instrument.id)
            if entry is None or entry.instrument.calendar_version != instrument.calendar_version \
                    or len(entry.bodies) >= self._max_bodies:
                self._drop(instrument.id)
                entry = self._entries[instrument.id] = _Entry(instrument)
            self._bytes += len(body) - len(entry.bodies.get(key, b""))
            entry.bodies[key] = body
            self._entries.move_to_end(instrument.id)
            while self._bytes > self._max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, instrument_id: int) -> None:
        entry = self._entries.pop(instrument_id, None)
        if entry is not None:
            self._bytes -= entry.size


def _key(instrument: CalendarInstrument, viewer_id: int | None, start: datetime,
         end: datetime, now: datetime) -> tuple:
    """What a rendered calendar depends on besides the instrument's calendar_version: the
    range as asked, who asks (their own bookings are shown as theirs) and where the bookable
    window falls on the slot grid at `now`."""
    window = rules.bookable_grid(_policy(instrument),
                                 from_local(start, instrument.timezone),
                                 from_local(end, instrument.timezone), now)
    return start, end, viewer_id, window


# a CalendarInstrument is an immutable row, its calendar_version included: one Policy each
_policy = lru_cache(maxsize=1024)(policy_for)


def _etag(instrument: CalendarInstrument, key: tuple) -> str:
    """The same for the same body in every worker and instance: the instrument's calendar
    version and the key, hashed."""
    digest = hashlib.blake2s(repr((FORMAT, instrument.id, instrument.calendar_version, key))
                             .encode(), digest_size=12).hexdigest()
    return f'"{digest}"'
