"""Input fields every API schema uses: what a client sends is bounded here, before any work
depends on it (an id the database cannot hold, a date that overflows on conversion)."""
import re
from datetime import UTC, date
from decimal import Decimal

import marshmallow as ma

from booking.core.clock import in_service_window, now_utc, service_window
from booking.core.db import MAX_ID


class WholeNumber(ma.fields.Integer):
    """An integer as JSON writes one, or as a query string's digits: 1.5 (or 1.0) is refused,
    not cut to 1 as marshmallow's Integer does."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float | Decimal):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Id(WholeNumber):
    """A row id: 1 up to what a database column holds."""

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(1, MAX_ID), **kwargs)


class Page(WholeNumber):
    def __init__(self, **kwargs):
        super().__init__(load_default=1, validate=ma.validate.Range(1, 10_000), **kwargs)


class Moment(ma.fields.AwareDateTime):
    """An ISO 8601 time with offset inside the service window (a year back, two years ahead),
    returned in UTC."""

    def __init__(self, **kwargs):
        metadata = {"description": "ISO 8601 with offset, at most a year back and two years "
                                   "ahead", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        now = now_utc()
        if not in_service_window(moment, now):
            earliest, latest = service_window(now)
            raise ma.ValidationError(f"must lie between {earliest:%Y-%m-%d} and "
                                     f"{latest:%Y-%m-%d} (a year back, two years ahead)")
        return moment.astimezone(UTC)


def unstorable_text(value) -> str | None:
    """The key path of the first string in a decoded JSON value that no text column can hold,
    or None: not valid Unicode (JSON may escape half a surrogate pair: "\\ud800"), or with a
    NUL character ("\\u0000", which PostgreSQL's text refuses)."""
    stack = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return path
        elif isinstance(item, dict):
            stack.extend((str(k), v) for k, v in item.items())
            stack.extend((str(k), k) for k in item)
        elif isinstance(item, list):
            stack.extend((path, v) for v in item)
    return None


class Text(ma.fields.String):
    """Text a person typed: trimmed, and without control characters (line breaks and tabs
    are text)."""

    control = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if self.control.search(text):
            raise ma.ValidationError("must not contain control characters")
        return text


class DecimalText(ma.fields.Field):
    """A stored number as a decimal string with `places` places ("84.99"), never a binary
    float: a client comparing a score with a threshold compares what the bureau sees."""

    def __init__(self, places: int, **kwargs):
        super().__init__(metadata={"type": "string", "format": "decimal",
                                   **kwargs.pop("metadata", {})}, **kwargs)
        self.quantum = Decimal(1).scaleb(-places)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(Decimal(str(value)).quantize(self.quantum))


class SearchText(Text):
    """What a list's search box sends: one line of at most 100 characters, trimmed, no
    control characters (PostgreSQL refuses a NUL in a query)."""

    control = re.compile(r"[\x00-\x1f\x7f]")

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Length(max=100), **kwargs)


class Day(ma.fields.Date):
    """A calendar date (YYYY-MM-DD) in 2000-2100: wide enough for any list's period, narrow
    enough that turning it into an instant never overflows."""

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(date(2000, 1, 1), date(2100, 12, 31)),
                         **kwargs)
