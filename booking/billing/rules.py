"""Pricing as pure functions on plain values. All money is integer fen.

The one rounding rule: billable minutes round UP to the rate's increment (不足一个计费单位按一个
单位计) and are never below the minimum charge; the fee is hourly price × billable minutes / 60,
rounded half-up to the fen once, plus the set-up fee.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from booking.core.money import divide_half_up, round_fen
from booking.core.problems import _l
from booking.core.states import IllegalTransition, StateTable


@dataclass(frozen=True)
class RateCard:
    customer_class: str
    hourly_fen: int
    rounding_minutes: int
    minimum_minutes: int
    setup_fee_fen: int
    valid_from: datetime


def billable_minutes(used_minutes: int, rounding_minutes: int, minimum_minutes: int) -> int:
    """Minutes to charge for `used_minutes` of use; zero use costs nothing."""
    if used_minutes <= 0:
        return 0
    increments = -(-used_minutes // rounding_minutes)  # ceiling division
    return max(increments * rounding_minutes, minimum_minutes)


def time_fee_fen(hourly_fen: int, minutes: int) -> int:
    return divide_half_up(hourly_fen * minutes, 60)


def usage_fee_fen(used_minutes: int, card: RateCard) -> int:
    minutes = billable_minutes(used_minutes, card.rounding_minutes, card.minimum_minutes)
    if minutes == 0:
        return 0
    return time_fee_fen(card.hourly_fen, minutes) + card.setup_fee_fen


def penalty_fee_fen(booked_minutes: int, card: RateCard, fraction: Decimal, waived: bool) -> int:
    """No-show or late-cancellation charge: a fraction of the booked time's fee (no set-up fee).
    Waived when the instrument was down or someone else used the freed slot."""
    if waived or booked_minutes <= 0 or fraction <= 0:
        return 0
    return round_fen(Decimal(card.hourly_fen) * booked_minutes / 60 * Decimal(fraction))


def charged_percent(quantity: Decimal, unit_price_fen: int, amount_fen: int) -> int | None:
    """What share of quantity × unit price a penalty line charges, in whole percent (50 for a
    no-show at half the booked time's fee), so that its line reads "¥120.00/h × 50%" and adds
    up; None when there is nothing to divide."""
    full = Decimal(quantity) * unit_price_fen
    if full <= 0 or amount_fen <= 0:
        return None
    return int((Decimal(amount_fen) * 100 / full).quantize(Decimal(1), ROUND_HALF_UP))


QUANTITY_IN_HOURS = ("usage", "no_show", "late_cancel")  # the others count samples or items


def samples_fee_fen(count: int, per_sample_fee_fen: int) -> int:
    """The per-sample fee of a staff-operated (送样) booking: count × fee, never negative
    (no samples, or no fee, cost nothing)."""
    if count <= 0 or per_sample_fee_fen <= 0:
        return 0
    return count * per_sample_fee_fen


def rate_at(cards: Iterable[RateCard], customer_class: str, at: datetime) -> RateCard | None:
    """The card of that class in force at `at`: the latest valid_from not after it."""
    found = None
    for card in cards:  # a plain loop: exports call this once per session
        if (card.customer_class == customer_class and card.valid_from <= at
                and (found is None or card.valid_from > found.valid_from)):
            found = card
    return found


@dataclass(frozen=True)
class Quote:
    customer_class: str
    billable_minutes: int
    fee_fen: int
    voucher_fen: int
    payable_fen: int
    samples: int = 0
    samples_fee_fen: int = 0  # included in fee_fen


def quote(card: RateCard, used_minutes: int, voucher_fen: int = 0, samples: int = 0,
          per_sample_fee_fen: int = 0) -> Quote:
    """The fee of the time (and of the samples of a staff-operated booking), and the voucher's
    share of that total, never more than the fee."""
    samples_fee = samples_fee_fen(samples, per_sample_fee_fen)
    fee = usage_fee_fen(used_minutes, card) + samples_fee
    voucher = min(max(voucher_fen, 0), fee)
    return Quote(card.customer_class,
                 billable_minutes(used_minutes, card.rounding_minutes, card.minimum_minutes),
                 fee, voucher, fee - voucher, max(samples, 0), samples_fee)


# --- invoices ----------------------------------------------------------------------------------
INVOICE_STATES = ("draft", "issued", "paid", "void")
INVOICE_KINDS = ("invoice", "credit_note")
# credit_note: a credit note deducted from its invoice while still open (both documents carry
# the same amount as a payment of this kind: no money moves)
PAYMENT_METHODS = ("stripe", "bank_transfer", "internal", "credit_note", "refund")
LINE_KINDS = ("usage", "no_show", "late_cancel", "credit", "samples", "fee")  # fee: an order's
PAYMENT_DAYS = 30  # an issued invoice is due this many days later
#: ends the description of a booking's time or samples an order's price covers: written at 0
#: so that it is never charged again (one document for both languages: both words)
INCLUDED_IN_ORDER = "含在委托费用中 / included in the order's price"


INVOICE_STATE_WORDS = {"draft": _l("draft"), "issued": _l("unpaid"), "paid": _l("paid"),
                       "void": _l("void")}


class IllegalInvoiceTransition(IllegalTransition):
    """An invoice cannot move from its state to the target one."""

    noun = _l("invoice")
    words = INVOICE_STATE_WORDS


class CannotIssue(IllegalInvoiceTransition):
    target = "issued"


class CannotPay(IllegalInvoiceTransition):
    target = "paid"


class CannotVoid(IllegalInvoiceTransition):
    target = "void"


INVOICE_MOVES = StateTable({"draft": {"issued", "void"}, "issued": {"paid", "void"},
                            "paid": set(), "void": set()}, [CannotIssue, CannotPay, CannotVoid])



def invoice_number(prefix: str, year: int, sequence: int) -> str:
    """DLUT-2026-000123: unique per provider, counted per year."""
    return f"{prefix}-{year}-{sequence:06d}"


def totals(line_amounts: Iterable[int], voucher_offers: Iterable[int]) -> tuple[int, int, int]:
    """(subtotal, voucher, amount due): the voucher never exceeds the subtotal nor goes
    below zero, so the amount due is never negative."""
    subtotal = sum(line_amounts)
    voucher = min(max(sum(voucher_offers), 0), subtotal)
    return subtotal, voucher, subtotal - voucher


def payment_matches(invoice_amount_fen: int, paid_amount_fen: int, paid_currency: str) -> bool:
    """A card payment settles an invoice only for the exact amount, in yuan."""
    return paid_amount_fen == invoice_amount_fen and paid_currency.lower() == "cny"


# --- dunning and the overdue block ---------------------------------------------------------------
#: Reminders of an unpaid invoice: at its due date, then 14 and 30 days after it.
DUNNING_STEPS = (("due", 0), ("d14", 14), ("d30", 30))


def dunning_stage(due_at: datetime, now: datetime) -> str | None:
    """The latest reminder an invoice due at `due_at` has reached by `now` (None: not due).
    A job that missed days sends only the latest, never a burst of old ones."""
    reached = [stage for stage, days in DUNNING_STEPS if now >= due_at + timedelta(days=days)]
    return reached[-1] if reached else None


def days_overdue(due_at: datetime, now: datetime) -> int:
    return max((now - due_at).days, 0)


#: The overdue list's ages (days overdue, both ends included; None: no end).
AGING_BUCKETS = ((0, 30), (31, 60), (61, 90), (91, None))
#: A reminder (the daily job's or the finance office's) at most once a day per invoice.
REMIND_AGAIN_AFTER = timedelta(hours=24)


def aging(overdue: Iterable[tuple[int, int]]) -> list[dict]:
    """Overdue invoices, as (days overdue, outstanding fen), counted and summed per age."""
    buckets = [{"from": low, "to": high, "count": 0, "fen": 0} for low, high in AGING_BUCKETS]
    for days, fen in overdue:
        bucket = next(b for b in reversed(buckets) if days >= b["from"])
        bucket["count"] += 1
        bucket["fen"] += fen
    return buckets


def is_blocked(overdue_due_dates: Iterable[datetime], block_days: int | None,
               now: datetime) -> bool:
    """A customer with an invoice overdue by more than `block_days` may not book (None: the
    provider blocks nobody)."""
    return block_days is not None and any(
        now - due_at > timedelta(days=block_days) for due_at in overdue_due_dates)


def credit_deduction(credit_fen: int, outstanding_fen: int) -> int:
    """What of a credit note is taken off its invoice while that is open: all of it, up to
    what is left to pay; the rest is refunded."""
    return max(min(credit_fen, outstanding_fen), 0)


def customer_balance(open_fen: Iterable[int], credit_fen: Iterable[int],
                     overpaid_fen: Iterable[int]) -> int:
    """What a customer owes net (negative: what is owed to them): open amounts less credit
    notes not yet refunded and overpayments carried."""
    return sum(open_fen) - sum(credit_fen) - sum(overpaid_fen)
