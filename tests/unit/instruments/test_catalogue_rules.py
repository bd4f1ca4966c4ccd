from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest

from booking.core.clock import from_local
from booking.instruments import rules


def test_parse_intervals_accepts_several_per_day():
    intervals, problems = rules.parse_intervals("13:30-18:00, 08:00-12:00")
    assert problems == []
    assert intervals == [(time(8), time(12)), (time(13, 30), time(18))]


@pytest.mark.parametrize("typed", [
    "08：00－12：00，13：30－18：00",  # a Chinese keyboard's colon, dash and comma
    "08:00 - 12:00, 13:30 - 18:00", "8:00~12:00、13:30 至 18:00", "08:00—12:00 13:30–18:00",
])
def test_parse_intervals_reads_hours_as_people_type_them(typed):
    intervals, problems = rules.parse_intervals(typed)
    assert problems == [] and intervals == [(time(8), time(12)), (time(13, 30), time(18))]


def test_parse_intervals_says_a_problem_once():
    assert rules.parse_intervals("a, b, c")[1] == [
        "Write intervals like 08:00-12:00, 13:30-18:00."]


def test_parse_intervals_empty_means_closed():
    assert rules.parse_intervals("  ") == ([], [])
    # the field's placeholder ("closed"), typed, means closed too (it was refused)
    for closed in ("关闭", " Closed ", "休息"):
        assert rules.parse_intervals(closed) == ([], []), closed


def test_overlapping_intervals_are_refused():
    _, problems = rules.parse_intervals("08:00-12:00, 11:00-14:00")
    assert problems == ["Opening intervals of one day overlap."]


def test_adjacent_intervals_do_not_overlap():
    assert rules.parse_intervals("08:00-12:00, 12:00-14:00")[1] == []


def test_interval_must_open_before_closing():
    assert rules.parse_intervals("18:00-08:00")[1] == ["An interval must open before it closes."]


def test_garbage_and_impossible_times_are_refused():
    assert rules.parse_intervals("morning")[1]
    assert rules.parse_intervals("25:00-26:00")[1]


def test_rates_must_not_decrease_towards_enterprise():
    assert rules.rate_order_problems({"internal": 100, "academic": 200, "enterprise": 400}) == []
    assert rules.rate_order_problems({"internal": 500, "enterprise": 400})
    assert rules.rate_order_problems({"academic": 300}) == []


def test_booking_lengths_follow_the_slot_grid():
    assert rules.booking_rules_problems(30, 30, 480) == []
    assert rules.booking_rules_problems(30, 60, 30)
    assert rules.booking_rules_problems(30, 45, 480)


def test_image_kind_reads_magic_bytes():
    assert rules.image_kind(b"\xff\xd8\xff\xe0rest") == "jpeg"
    assert rules.image_kind(b"\x89PNG\r\n\x1a\nxxxx") == "png"
    assert rules.image_kind(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert rules.image_kind(b"GIF89a") is None
    assert rules.image_kind(b"<svg xmlns=") is None


def test_photo_problem_checks_size_and_kind():
    assert rules.photo_problem(b"\x89PNG\r\n\x1a\n" + b"0" * 100) is None
    assert rules.photo_problem(b"%PDF-1.7") is not None
    assert rules.photo_problem(b"\xff\xd8\xff" + b"0" * rules.MAX_PHOTO_BYTES) is not None


def test_completeness_weights_sum_to_100_and_scores():
    assert sum(w for _k, w in rules.COMPLETENESS_FIELDS) == 100
    assert rules.completeness({}) == 0
    everything = {key: True for key, _w in rules.COMPLETENESS_FIELDS}
    assert rules.completeness(everything) == 100
    assert rules.completeness({**everything, "photo": None}) == 90
    assert rules.missing_fields({**everything, "photo": None}) == ["photo"]
    # the rankings add the weights up in SQL and ask for the percentage of the sum
    assert rules.completeness_of(100 - 10) == 90 and rules.completeness_of(33) == 33
    assert rules.COMPLETENESS_WEIGHT == 100


def test_stale_after_180_days():
    now = datetime(2026, 11, 1, tzinfo=UTC)
    assert rules.is_stale(now - timedelta(days=180), now)
    assert not rules.is_stale(now - timedelta(days=179), now)


def test_local_to_utc_uses_the_instrument_zone():
    naive = datetime(2026, 3, 1, 9, 0)  # noqa: DTZ001 - wall clock at the instrument
    assert from_local(naive, "Asia/Shanghai") == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def test_effective_rates_pick_the_latest_started():
    at = datetime(2026, 6, 1, tzinfo=UTC)
    old = SimpleNamespace(customer_class="academic", valid_from=datetime(2025, 1, 1, tzinfo=UTC))
    new = SimpleNamespace(customer_class="academic", valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    future = SimpleNamespace(customer_class="academic",
                             valid_from=datetime(2027, 1, 1, tzinfo=UTC))
    assert rules.effective_rates([future, new, old], at) == {"academic": new}


def test_customer_class():
    assert rules.customer_class(1, 1, "university") == "internal"
    assert rules.customer_class(1, 2, "institute") == "academic"
    assert rules.customer_class(1, 3, "enterprise") == "enterprise"
