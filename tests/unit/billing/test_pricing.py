from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.billing.rules import (
    RateCard,
    billable_minutes,
    penalty_fee_fen,
    quote,
    rate_at,
    samples_fee_fen,
    time_fee_fen,
    usage_fee_fen,
)
from tests.moments import NEW_YEAR_8AM as T0


def card(hourly=20_000, rounding=15, minimum=30, setup=0, klass="academic", valid_from=T0):
    return RateCard(klass, hourly, rounding, minimum, setup, valid_from)


@pytest.mark.parametrize("used,expected", [(0, 0), (1, 30), (30, 30), (31, 45), (45, 45),
                                           (46, 60), (125, 135)])
def test_billable_minutes_round_up_and_respect_minimum(used, expected):
    assert billable_minutes(used, 15, 30) == expected


def test_fee_is_hourly_times_minutes_plus_setup_half_up():
    # 333 fen/h for 45 min = 249.75 fen -> 250 (half-up), plus 500 set-up
    assert usage_fee_fen(45, card(hourly=333, setup=500)) == 750
    assert usage_fee_fen(0, card(setup=500)) == 0  # no use, no set-up fee


def test_penalty_fraction_and_waiver():
    assert penalty_fee_fen(120, card(hourly=20_000), Decimal("0.5"), waived=False) == 20_000
    assert penalty_fee_fen(120, card(hourly=20_000), Decimal("0.5"), waived=True) == 0


def test_rate_in_force_is_latest_not_after_the_moment():
    old = card(hourly=10_000)
    new = card(hourly=15_000, valid_from=datetime(2026, 6, 1, tzinfo=UTC))
    enterprise = card(hourly=99_000, klass="enterprise")
    cards = [new, old, enterprise]
    assert rate_at(cards, "academic", datetime(2026, 5, 31, tzinfo=UTC)) == old
    assert rate_at(cards, "academic", datetime(2026, 6, 1, tzinfo=UTC)) == new
    assert rate_at(cards, "internal", datetime(2026, 6, 1, tzinfo=UTC)) is None
    assert rate_at(cards, "academic", datetime(2025, 1, 1, tzinfo=UTC)) is None


def test_quote_caps_voucher_at_fee():
    q = quote(card(hourly=20_000), 60, voucher_fen=50_000)
    assert (q.fee_fen, q.voucher_fen, q.payable_fen, q.billable_minutes) == (20_000, 20_000, 0, 60)


cards = st.builds(card, hourly=st.integers(0, 10_000_000), rounding=st.integers(1, 120),
                  minimum=st.integers(0, 600), setup=st.integers(0, 1_000_000))


@given(cards, st.integers(0, 100_000), st.integers(0, 100_000))
def test_fee_never_negative_and_monotonic(c, a, b):
    low, high = sorted((a, b))
    assert 0 <= usage_fee_fen(low, c) <= usage_fee_fen(high, c)


@given(cards, st.integers(1, 100_000))
def test_rounding_never_charges_less_than_used_or_minimum(c, used):
    minutes = billable_minutes(used, c.rounding_minutes, c.minimum_minutes)
    assert minutes >= used and minutes >= c.minimum_minutes
    assert minutes - used < c.rounding_minutes or minutes == c.minimum_minutes


@given(cards, st.integers(0, 100_000), st.integers(0, 10_000_000))
def test_quote_parts_add_up(c, used, voucher):
    q = quote(c, used, voucher)
    assert q.fee_fen == q.voucher_fen + q.payable_fen and q.payable_fen >= 0


# --- samples of staff-operated (送样) bookings ----------------------------------------------------
def test_samples_fee_is_count_times_fee_per_sample():
    assert samples_fee_fen(3, 5_000) == 15_000
    assert samples_fee_fen(0, 5_000) == samples_fee_fen(3, 0) == 0
    assert samples_fee_fen(-2, 5_000) == samples_fee_fen(2, -5_000) == 0  # never negative


def test_quote_adds_the_samples_and_the_voucher_applies_to_the_total():
    q = quote(card(hourly=20_000), 60, voucher_fen=30_000, samples=3, per_sample_fee_fen=5_000)
    assert (q.fee_fen, q.samples, q.samples_fee_fen, q.voucher_fen, q.payable_fen) == (
        35_000, 3, 15_000, 30_000, 5_000)
    assert quote(card(), 60, voucher_fen=99_999, samples=2, per_sample_fee_fen=100).payable_fen == 0


fees = st.integers(-1_000_000, 10_000_000)


@given(st.integers(-1_000, 100_000), fees)
def test_samples_fee_never_negative(count, fee):
    assert samples_fee_fen(count, fee) >= 0


@given(st.integers(0, 1_000), st.integers(0, 1_000), fees)
def test_samples_fee_monotonic_in_count(a, b, fee):
    low, high = sorted((a, b))
    assert samples_fee_fen(low, fee) <= samples_fee_fen(high, fee)
    assert samples_fee_fen(high, fee) - samples_fee_fen(low, fee) == (high - low) * max(fee, 0)


@given(cards, st.integers(0, 100_000), st.integers(0, 10_000_000), st.integers(0, 1_000),
       st.integers(0, 1_000_000))
def test_quote_with_samples_parts_add_up(c, used, voucher, samples, fee):
    q = quote(c, used, voucher, samples=samples, per_sample_fee_fen=fee)
    assert q.fee_fen == usage_fee_fen(used, c) + samples_fee_fen(samples, fee)
    assert q.fee_fen == q.voucher_fen + q.payable_fen and q.payable_fen >= 0


@given(st.integers(-10**12, 10**12), st.integers(1, 10**6))
def test_integer_half_up_division_equals_the_decimal_rounding_rule(numerator, denominator):
    from booking.core.money import divide_half_up, round_fen

    assert divide_half_up(numerator, denominator) == round_fen(Decimal(numerator) / denominator)


def test_time_fee_rounds_half_a_fen_up():
    assert time_fee_fen(1, 30) == 1 and time_fee_fen(1, 29) == 0 and time_fee_fen(3, 10) == 1
