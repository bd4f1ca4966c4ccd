"""The only clock, and time in one place.

Everything reads time through now_utc() so freezegun and the DB agree. Wall-clock <-> UTC
conversion and the calendar periods (month, quarter, year) of the bureau's timezone live here;
no other module makes a ZoneInfo of its own.
"""
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, cached_property
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

# Budgets, quotas, rankings, billing months and reimbursement quarters are the bureau's local
# calendar periods; instruments and users carry their own zone for wall-clock times.
BUSINESS_TIMEZONE = "Asia/Shanghai"
BUSINESS_ZONE = ZoneInfo(BUSINESS_TIMEZONE)

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


def _city_zones() -> set[str]:
    """The tz database's own zones (zone1970.tab: Asia/Shanghai, Europe/Berlin), without the
    aliases and old names it keeps for compatibility (PRC, Africa/Asmera, Africa/Timbuktu)."""
    table = resources.files("tzdata.zoneinfo") / "zone1970.tab"
    return {line.split("\t")[2] for line in table.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")}


@cache
def common_timezones() -> list[str]:
    """The handful of zones our users pick from first, then every city zone alphabetically
    (any zone of the database stays valid: is_valid_timezone)."""
    first = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Tokyo", "Europe/Berlin", "Europe/London",
             "America/New_York", "UTC"]
    return first + sorted(_city_zones() & _timezones() - set(first))


def to_local(moment: datetime, tz_name: str = BUSINESS_TIMEZONE) -> datetime:
    return moment.astimezone(ZoneInfo(tz_name))


def from_local(moment: datetime, tz_name: str = BUSINESS_TIMEZONE) -> datetime:
    """`moment` in UTC; a naive one is wall-clock time in `tz_name`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz_name))
    return moment.astimezone(UTC)


def local_midnight(day: date, tz_name: str = BUSINESS_TIMEZONE) -> datetime:
    """The first instant of `day` in `tz_name`, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz_name)).astimezone(UTC)


def local_today(at: datetime | None = None, tz_name: str = BUSINESS_TIMEZONE) -> date:
    return to_local(at or now_utc(), tz_name).date()


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def year_end_utc(year: int) -> datetime:
    """The first instant after the bureau's local year: quotas and vouchers end with it."""
    return local_midnight(date(year + 1, 1, 1))


# --- calendar periods ---------------------------------------------------------------------------
class PeriodError(ValueError):
    """Not a period: YYYY, YYYYQn or YYYY-MM."""


@dataclass(frozen=True)
class Period:
    """A local calendar year, quarter or month: [first_day, end_day) and its UTC bounds."""

    label: str
    first_day: date
    end_day: date  # exclusive

    # cached: the rankings ask once per instrument in scope (20,000 in a province)
    @cached_property
    def start(self) -> datetime:
        return local_midnight(self.first_day)

    @cached_property
    def end(self) -> datetime:
        return local_midnight(self.end_day)

    @property
    def days(self) -> int:
        return (self.end_day - self.first_day).days

    @cached_property
    def year_days(self) -> int:
        return (date(self.first_day.year + 1, 1, 1) - date(self.first_day.year, 1, 1)).days

    @property
    def kind(self) -> str:
        return "quarter" if "Q" in self.label else "month" if "-" in self.label else "year"

    @property
    def year(self) -> int:
        return self.first_day.year

    @property
    def quarter(self) -> int:
        return quarter_of(self.first_day)

    def previous(self) -> "Period":
        if self.kind == "year":
            return year_period(self.year - 1)
        if self.kind == "quarter":
            return quarter_period(*((self.year - 1, 4) if self.quarter == 1
                                    else (self.year, self.quarter - 1)))
        return month_period(*((self.year - 1, 12) if self.first_day.month == 1
                              else (self.year, self.first_day.month - 1)))


_PERIOD = re.compile(r"^(\d{4})(?:Q(\d)|-(\d{2}))?$")
_YEARS = range(2000, 3000)


def year_period(year: int) -> Period:
    return Period(str(year), date(year, 1, 1), date(year + 1, 1, 1))


def quarter_period(year: int, quarter: int) -> Period:
    first = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(f"{year}Q{quarter}", first, end)


def month_period(year: int, month: int) -> Period:
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(f"{year}-{month:02d}", date(year, month, 1), end)


def parse_period(text: str, *kinds: str) -> Period:
    """YYYY, YYYYQn or YYYY-MM (years 2000-2999); `kinds` narrows what is accepted."""
    kinds = kinds or ("year", "quarter", "month")
    text = (text or "").strip().upper()
    match = _PERIOD.match(text)
    forms = {"year": ("YYYY", "2026"), "quarter": ("YYYYQn", "2026Q3"),
             "month": ("YYYY-MM", "2026-07")}
    hint = f"use {' or '.join(forms[k][0] for k in kinds)}, e.g. {forms[kinds[-1]][1]}"
    if match is None or int(match[1]) not in _YEARS:
        raise PeriodError(f"{text!r} is not a period: {hint}")
    year, quarter, month = int(match[1]), match[2], match[3]
    if quarter is not None and not 1 <= int(quarter) <= 4:
        raise PeriodError(f"{text!r} is not a period: the quarter must be Q1 to Q4")
    if month is not None and not 1 <= int(month) <= 12:
        raise PeriodError(f"{text!r} is not a period: the month must be 01 to 12")
    period = (quarter_period(year, int(quarter)) if quarter else
              month_period(year, int(month)) if month else year_period(year))
    if period.kind not in kinds:
        raise PeriodError(f"{text!r} is not a period: {hint}")
    return period


def current_quarter(today: date) -> Period:
    return quarter_period(today.year, quarter_of(today))


def last_complete_quarter(today: date) -> Period:
    return current_quarter(today).previous()
