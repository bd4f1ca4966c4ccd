"""The only clock. Everything reads time through now_utc() so freezegun and the DB agree."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

# What anyone may book, record or ask about: a year back (usage recorded late, last year's
# records) to two years ahead (the longest booking horizon an instrument may set is 730 days).
# Every date a user sends is checked against it before any work depends on it.
PAST_LIMIT = timedelta(days=366)
FUTURE_LIMIT = timedelta(days=731)
_SAFE_YEARS = range(1900, 2200)  # no timezone conversion can overflow in these years


def now_utc() -> datetime:
    return datetime.now(UTC)


def service_window(now: datetime) -> tuple[datetime, datetime]:
    return now - PAST_LIMIT, now + FUTURE_LIMIT


def in_service_window(moment: datetime, now: datetime, tz_name: str = "UTC") -> bool:
    """Whether `moment` (naive: wall clock in `tz_name`) lies in the service window."""
    if moment.year not in _SAFE_YEARS:
        return False
    earliest, latest = service_window(now)
    return earliest <= from_local(moment, tz_name) <= latest


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
