import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.billing import rules


@pytest.mark.parametrize("current,target,error", [
    ("paid", "void", rules.CannotVoid), ("void", "paid", rules.CannotPay),
    ("paid", "issued", rules.CannotIssue), ("draft", "paid", rules.CannotPay),
])
def test_illegal_invoice_transitions_are_named(current, target, error):
    with pytest.raises(error):
        rules.INVOICE_MOVES.check(current, target)


def test_legal_invoice_transitions():
    for current, target in [("draft", "issued"), ("issued", "paid"), ("issued", "void"),
                            ("draft", "void")]:
        rules.INVOICE_MOVES.check(current, target)


def test_invoice_number():
    assert rules.invoice_number("DLUT", 2026, 123) == "DLUT-2026-000123"


@given(st.lists(st.integers(0, 10**8), max_size=30), st.lists(st.integers(-10**8, 10**9),
                                                             max_size=3))
def test_totals_never_negative_and_add_up(lines, offers):
    subtotal, voucher, due = rules.totals(lines, offers)
    assert subtotal == sum(lines)
    assert 0 <= voucher <= subtotal and due == subtotal - voucher >= 0


def test_payment_matches_exact_amount_in_cny():
    assert rules.payment_matches(40_000, 40_000, "CNY")
    assert not rules.payment_matches(40_000, 39_999, "cny")
    assert not rules.payment_matches(40_000, 40_000, "usd")


@pytest.mark.parametrize(("quantity", "unit", "amount", "percent"), [
    ("0.50", 12_000, 3_000, 50),     # a no-show of 30 minutes at ¥120/h, half charged
    ("2.50", 15_000, 18_750, 50),    # a late cancellation of 2.5 h at ¥150/h
    ("1.00", 10_001, 3_334, 33),     # rounded to a whole percent
    ("1.00", 10_000, 0, None),       # waived: nothing to show
    ("0.00", 10_000, 100, None),     # nothing to divide by
])
def test_a_penalty_lines_share_makes_its_line_add_up(quantity, unit, amount, percent):
    from decimal import Decimal

    assert rules.charged_percent(Decimal(quantity), unit, amount) == percent
