"""Dunning stages, the overdue block and the customer's balance: pure rules."""
from datetime import UTC, datetime, timedelta

import pytest

from booking.billing import rules

DUE = datetime(2026, 4, 1, 16, tzinfo=UTC)


@pytest.mark.parametrize("after, stage", [
    (timedelta(seconds=-1), None), (timedelta(0), "due"), (timedelta(days=13), "due"),
    (timedelta(days=14), "d14"), (timedelta(days=29, hours=23), "d14"),
    (timedelta(days=30), "d30"), (timedelta(days=400), "d30"),
])
def test_the_latest_reminder_reached(after, stage):
    assert rules.dunning_stage(DUE, DUE + after) == stage


def test_the_block_needs_a_policy_and_an_invoice_overdue_beyond_it():
    now = DUE + timedelta(days=10)
    assert not rules.is_blocked([DUE], None, now)
    assert not rules.is_blocked([DUE], 10, now)  # exactly 10 days: not beyond
    assert rules.is_blocked([DUE], 9, now)
    assert not rules.is_blocked([], 1, now)


def test_the_balance_nets_credit_notes_and_overpayments():
    assert rules.customer_balance([10_000, 5_000], [3_000], [500]) == 11_500
    assert rules.customer_balance([], [3_000], []) == -3_000


def test_a_credit_note_is_taken_off_what_is_open_and_the_rest_refunded():
    assert rules.credit_deduction(3_000, 10_000) == 3_000
    assert rules.credit_deduction(3_000, 1_000) == 1_000  # 2,000 to refund
    assert rules.credit_deduction(3_000, 0) == 0  # paid: all refunded


def test_overdue_invoices_are_counted_and_summed_by_age():
    buckets = rules.aging([(0, 100), (30, 200), (31, 400), (90, 800), (91, 1_600), (400, 1)])
    assert [(b["from"], b["to"], b["count"], b["fen"]) for b in buckets] == [
        (0, 30, 2, 300), (31, 60, 1, 400), (61, 90, 1, 800), (91, None, 2, 1_601)]
    assert [b["count"] for b in rules.aging([])] == [0, 0, 0, 0]
