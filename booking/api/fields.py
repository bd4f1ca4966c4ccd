"""Input fields every API schema uses: what a client sends is bounded here, before any work
depends on it (an id the database cannot hold, a date that overflows on conversion)."""
from datetime import UTC, date
from decimal import Decimal

import marshmallow as ma

from booking.core.clock import in_service_window, now_utc, service_window
from booking.core.db import MAX_ID


class Id(ma.fields.Integer):
    """A row id: 1 up to what a database column holds."""

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(1, MAX_ID), **kwargs)


class Page(ma.fields.Integer):
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


def has_lone_surrogate(value) -> str | None:
    """The key path of the first string in a decoded JSON value that is not valid Unicode
    (JSON may escape half a surrogate pair: "\\ud800"), or None."""
    stack = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
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


class DecimalText(ma.fields.Field):
    """A stored number as a decimal string with `places` places ("84.99"), never a binary
    float: a client comparing a score with a threshold compares what the bureau sees."""

    def __init__(self, places: int, **kwargs):
        super().__init__(metadata={"type": "string", "format": "decimal",
                                   **kwargs.pop("metadata", {})}, **kwargs)
        self.quantum = Decimal(1).scaleb(-places)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(Decimal(str(value)).quantize(self.quantum))


class SearchText(ma.fields.String):
    """What a list's search box sends: trimmed, at most 100 characters, no control characters
    (PostgreSQL refuses a NUL in a query)."""

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Length(max=100), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if any(ord(char) < 32 or ord(char) == 127 for char in text):
            raise ma.ValidationError("must not contain control characters")
        return text


class Day(ma.fields.Date):
    """A calendar date (YYYY-MM-DD) in 2000-2100: wide enough for any list's period, narrow
    enough that turning it into an instant never overflows."""

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(date(2000, 1, 1), date(2100, 12, 31)),
                         **kwargs)
