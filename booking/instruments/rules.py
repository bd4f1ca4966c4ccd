"""Pure catalogue rules: no Flask, no database."""
import re
from datetime import datetime, time, timedelta
from itertools import pairwise

from booking.core.categories import CATEGORIES  # noqa: F401 (the catalogue's own)

STATUSES = ("active", "maintenance", "retired")
CUSTOMER_CLASSES = ("internal", "academic", "enterprise")
SERVICE_MODES = ("self_operated", "staff_operated")
LARGE_INSTRUMENT_MIN_FEN = 50_000_000  # 500,000 CNY


def customer_class(owner_org_id: int, customer_org_id: int, customer_org_kind: str) -> str:
    """Same organisation as the owner: internal; another university/institute: academic;
    an enterprise (or anyone else): enterprise."""
    if owner_org_id == customer_org_id:
        return "internal"
    if customer_org_kind in ("university", "institute"):
        return "academic"
    return "enterprise"
STALE_AFTER_DAYS = 180
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# Image kinds accepted for instrument photos -> file extension.
PHOTO_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
# What makes a directory entry complete: (key, weight). The keys name instrument attributes
# plus "photo", "rates" and "hours" (has a photo, has rates, has opening hours).
COMPLETENESS_FIELDS = (
    ("name_en", 5), ("model", 10), ("manufacturer", 10), ("purchase_date", 5),
    ("original_value_fen", 5), ("location", 5), ("lab", 5), ("contact", 10),
    ("description", 10), ("capabilities", 10), ("photo", 10), ("rates", 10), ("hours", 5),
)
COMPLETENESS_WEIGHT = sum(weight for _key, weight in COMPLETENESS_FIELDS)


def N_(message: str) -> str:
    """Mark a message for translation; the caller translates it with gettext."""
    return message


def image_kind(head: bytes) -> str | None:
    """The image kind from the file's first bytes (magic numbers), never from its name."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def photo_problem(data: bytes) -> str | None:
    if len(data) > MAX_PHOTO_BYTES:
        return N_("The photo is larger than 5 MB.")
    if image_kind(data[:16]) is None:
        return N_("Only JPEG, PNG or WebP images are accepted.")
    return None


def completeness(values: dict) -> int:
    """Percentage (0-100) of the weighted directory fields that are filled in."""
    return completeness_of(sum(weight for key, weight in COMPLETENESS_FIELDS if values.get(key)))


def completeness_of(filled_weight: int) -> int:
    """The percentage for the sum of the weights of the fields filled in."""
    return round(100 * filled_weight / COMPLETENESS_WEIGHT)


def missing_fields(values: dict) -> list[str]:
    return [key for key, _weight in COMPLETENESS_FIELDS if not values.get(key)]


def is_stale(info_updated_at: datetime, now: datetime) -> bool:
    """Not reviewed for STALE_AFTER_DAYS days."""
    return now - info_updated_at >= timedelta(days=STALE_AFTER_DAYS)


# what a Chinese keyboard types for ":" and "-" (full-width, and the dashes people use)
_AS_TYPED = str.maketrans({"：": ":", "－": "-", "—": "-", "–": "-", "～": "~", "至": "-"})


#: what a closed day may be written as (the empty field's placeholder says "closed")
CLOSED_WORDS = frozenset({"closed", "关闭", "休息", "不开放"})


def parse_intervals(text: str) -> tuple[list[tuple[time, time]], list[str]]:
    """"08:00-12:00, 13:30-18:00" -> sorted intervals and the problems found (full-width
    colons and dashes, and spaces around a dash, read as typed)."""
    intervals, problems = [], []
    text = re.sub(r"\s*([-~])\s*", r"\1", (text or "").translate(_AS_TYPED).strip())
    if text.lower() in CLOSED_WORDS:  # the field's own placeholder, typed
        return [], []
    for part in re.split(r"[,，;；、\s]+", text):
        if not part:
            continue
        match = re.fullmatch(r"(\d{1,2}):(\d{2})[-~](\d{1,2}):(\d{2})", part)
        if not match:
            problems.append(N_("Write intervals like 08:00-12:00, 13:30-18:00."))
            continue
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if (h2, m2) == (24, 0):  # open until midnight: stored as 23:59, which means it
            h2, m2 = 23, 59
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            problems.append(N_("Times must lie between 00:00 and 24:00."))
            continue
        intervals.append((time(h1, m1), time(h2, m2)))
    return sorted(intervals), list(dict.fromkeys(problems + interval_problems(intervals)))


def clock_text(moment: time) -> str:
    """An opening or closing time as people write it: closing at 23:59 is closing at 24:00."""
    return "24:00" if moment >= time(23, 59) else f"{moment:%H:%M}"


def interval_problems(intervals: list[tuple[time, time]]) -> list[str]:
    """Each interval opens before it closes; intervals of one day do not overlap."""
    problems = []
    if any(opens >= closes for opens, closes in intervals):
        problems.append(N_("An interval must open before it closes."))
    if any(later[0] < earlier[1] for earlier, later in pairwise(sorted(intervals))):
        problems.append(N_("Opening intervals of one day overlap."))
    return problems


def rate_order_problems(hourly_by_class: dict[str, int]) -> list[str]:
    """Policy: internal <= academic <= enterprise, for the classes that have a rate."""
    present = [hourly_by_class[c] for c in CUSTOMER_CLASSES if c in hourly_by_class]
    if any(a > b for a, b in pairwise(present)):
        return [N_("Rates must not decrease from internal to academic to enterprise users.")]
    return []


#: No instrument takes bookings longer than a week; the database refuses longer bookings
#: (migration 0007), which keeps every overlap search a short index range.
MAX_BOOKING_MINUTES = 7 * 24 * 60


def booking_rules_problems(slot_minutes: int, min_minutes: int, max_minutes: int) -> list[str]:
    problems = []
    if max_minutes < min_minutes:
        problems.append(N_("The longest booking must not be shorter than the shortest."))
    if min_minutes % slot_minutes or max_minutes % slot_minutes:
        problems.append(N_("Booking lengths must be whole multiples of the slot grid."))
    return problems


def effective_rates(rates, at: datetime) -> dict:
    """customer_class -> the rate in force at `at` (latest valid_from not after it)."""
    current = {}
    for rate in sorted(rates, key=lambda r: r.valid_from):
        if rate.valid_from <= at:
            current[rate.customer_class] = rate
    return current
