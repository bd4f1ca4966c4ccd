"""The only clock. Everything reads time through now_utc() so freezegun and the DB agree."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones


def now_utc() -> datetime:
    return datetime.now(UTC)


def is_valid_timezone(name: str) -> bool:
    return name in _timezones()


_TZ_CACHE: set[str] | None = None


def _timezones() -> set[str]:
    global _TZ_CACHE
    if _TZ_CACHE is None:
        _TZ_CACHE = available_timezones()
    return _TZ_CACHE


def common_timezones() -> list[str]:
    """The handful of zones our users pick from first, then the rest alphabetically."""
    first = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Tokyo", "Europe/Berlin", "Europe/London",
             "America/New_York", "UTC"]
    return first + sorted(_timezones() - set(first))


def to_local(moment: datetime, tz_name: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz_name))


def from_local(moment: datetime, tz_name: str) -> datetime:
    """`moment` in UTC; a naive one is wall-clock time in `tz_name`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz_name))
    return moment.astimezone(UTC)
