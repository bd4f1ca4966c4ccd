"""Reimbursement (兑付): one statement per provider and quarter from the voucher shares of paid
invoices, with the provider reward; idempotent; exported as XLSX."""
from collections import defaultdict
from datetime import datetime

from flask_babel import lazy_gettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from booking.accounts.models import Organisation, User
from booking.billing.models import Invoice
from booking.core import audit
from booking.core.clock import Period, PeriodError, now_utc, parse_period
from booking.core.problems import Refused, _l
from booking.core.tables import workbook_bytes, yuan
from booking.extensions import db
from booking.subsidies import notifications, rules
from booking.subsidies.models import Redemption, Reimbursement, Voucher
from booking.subsidies.redemptions import (
    CLAWBACK,
    CREDITED,
    VOIDED,
    VOIDED_OR_CREDITED,
    is_clawback,
    release_cancelled_claims,
)
from booking.subsidies.services import stored_policy


class ReimbursementError(Refused):
    conflicts = frozenset({"already_paid"})


def parse_quarter(text: str) -> Period:
    """Statements are per local quarter (YYYYQn)."""
    try:
        return parse_period(text, "quarter")
    except PeriodError:
        raise ReimbursementError.one("bad_quarter", _l(
            "%(text)s is not a quarter like 2026Q2 (from the year 2000 on)."),
            text=repr(text)) from None


#: a claim drawn for re-check and not checked yet: the bureau does not pay it until it is
#: (confirmed, it goes on the next statement built; clawed back, it nets to nothing)
UNDER_CHECK = Redemption.flagged_at.is_not(None) & Redemption.check_outcome.is_(None)


def _unbilled(end: datetime) -> list[Redemption]:
    """Redeemed entries not on any statement yet, up to the end of the quarter (late ones of
    earlier quarters included), but those under re-check."""
    return list(db.session.scalars(select(Redemption).where(
        Redemption.state == "redeemed", Redemption.reimbursement_id.is_(None),
        Redemption.redeemed_at < end, ~UNDER_CHECK).order_by(Redemption.id)))


def _year_so_far(provider_id: int, year: int, statement_id: int) -> tuple[int, int]:
    """(net amount, reward) of the provider's other statements of the year."""
    amount, reward = db.session.execute(select(
        func.coalesce(func.sum(Reimbursement.amount_fen), 0),
        func.coalesce(func.sum(Reimbursement.reward_fen - Reimbursement.clawback_fen), 0)).where(
        Reimbursement.provider_id == provider_id, Reimbursement.period.like(f"{year}Q%"),
        Reimbursement.id != statement_id)).one()
    return int(amount), int(reward)  # PostgreSQL sums BIGINT as NUMERIC


def _statement(provider_id: int, period: str, policy_id: int) -> Reimbursement:
    statement = db.session.scalar(select(Reimbursement).where(
        Reimbursement.provider_id == provider_id, Reimbursement.period == period))
    if statement is None:
        statement = Reimbursement(provider_id=provider_id, period=period, policy_id=policy_id,
                                  amount_fen=0, reward_fen=0, redemption_count=0)
        db.session.add(statement)
        db.session.flush()
    return statement


def reimburse(period: str) -> list[Reimbursement]:
    """Build or complete the quarter's statements; running it again adds nothing twice.
    Entries of a provider whose statement is already paid wait for the next quarter."""
    quarter = parse_quarter(period)
    if quarter.end > now_utc():  # the cycle is quarterly: a statement settles a whole quarter
        raise ReimbursementError.one("quarter_open", _l(
            "%(quarter)s is not over: its statements are built once it has ended, from "
            "%(day)s on."), quarter=quarter.label, day=quarter.end_day.isoformat())
    year, end = quarter.year, quarter.end
    policy = stored_policy(year)
    release_cancelled_claims()
    by_provider: dict[int, list[Redemption]] = {}
    for entry in _unbilled(end):
        by_provider.setdefault(entry.provider_id, []).append(entry)
    touched = []
    for provider_id, entries in sorted(by_provider.items()):
        statement = _statement(provider_id, quarter.label, policy.id)
        if statement.state == "paid":
            continue
        for entry in entries:
            entry.reimbursement_id = statement.id
        statement.amount_fen += sum(e.amount_fen for e in entries)
        statement.redemption_count += len(entries)
        other_amount, other_reward = _year_so_far(provider_id, year, statement.id)
        reward = rules.provider_reward_fen(other_amount + statement.amount_fen, policy.rules,
                                           other_reward)
        statement.reward_fen, statement.clawback_fen = max(reward, 0), max(-reward, 0)
        touched.append(statement)
    db.session.flush()
    if touched:
        audit.record("subsidies.reimbursed", period=period, statements=len(touched),
                     amount_fen=sum(s.amount_fen for s in touched))
    for statement in touched:
        notifications.notify_statement_built(statement)
    return touched


def waiting(period: str) -> list[tuple[int, int, int, int]]:
    """(provider id, entries, amount, of them under re-check) redeemed by the quarter's end
    and on no statement yet: what building the quarter's statements would take in (but the
    entries under re-check), or, for a provider whose statement of the quarter is paid, what
    waits for the next quarter's."""
    rows = db.session.execute(select(Redemption.provider_id, func.count(),
                                     func.sum(Redemption.amount_fen),
                                     func.count().filter(UNDER_CHECK)).where(
        Redemption.state == "redeemed", Redemption.reimbursement_id.is_(None),
        Redemption.redeemed_at < parse_quarter(period).end)
        .group_by(Redemption.provider_id).order_by(Redemption.provider_id))
    return [(provider_id, count, int(amount), checking)
            for provider_id, count, amount, checking in rows]


def to_build(period: str) -> int:
    """Entries that building the quarter's statements would take in: not those under
    re-check, nor those of a provider whose statement of it is paid (they wait for the next)."""
    paid = set(db.session.scalars(select(Reimbursement.provider_id).where(
        Reimbursement.period == period, Reimbursement.state == "paid")))
    return sum(count - checking for provider_id, count, _amount, checking in waiting(period)
               if provider_id not in paid)


def unclaimed_of(provider_id: int) -> tuple[int, int, int]:
    """(entries, amount, of them under re-check) the provider redeemed that are on no
    statement yet: what the bureau owes it beyond its statements (built once each quarter is
    over; an entry under re-check waits until checked). Clawbacks are not among them:
    pending_clawbacks says what its next statement takes back."""
    count, amount, checking = db.session.execute(select(
        func.count(), func.sum(Redemption.amount_fen), func.count().filter(UNDER_CHECK)).where(
        Redemption.provider_id == provider_id, Redemption.state == "redeemed",
        Redemption.reimbursement_id.is_(None), ~is_clawback())).one()
    return count, int(amount or 0), checking


def statements(period: str) -> list[Reimbursement]:
    return list(db.session.scalars(select(Reimbursement).where(Reimbursement.period == period)
                                   .options(selectinload(Reimbursement.provider),
                                            selectinload(Reimbursement.paid_by))
                                   .order_by(Reimbursement.provider_id)))


def statements_of(provider_id: int, year: int) -> list[Reimbursement]:
    """A provider's statements of a year, the latest quarter first (its finance office's
    view of what the bureau owes it and has paid)."""
    return list(db.session.scalars(select(Reimbursement).where(
        Reimbursement.provider_id == provider_id, Reimbursement.period.startswith(str(year)))
        .order_by(Reimbursement.period.desc())))


def mark_paid(statement: Reimbursement, actor: User, reference: str) -> None:
    """`reference`: the transfer that paid it, for the provider to match its receipt to."""
    if statement.state == "paid":
        raise ReimbursementError.one("already_paid", _l("This statement is already paid."))
    statement.state, statement.paid_at, statement.paid_by_id = "paid", now_utc(), actor.id
    statement.payment_reference = reference
    audit.record("reimbursement.paid", actor=actor, obj=statement, total_fen=statement.total_fen,
                 reference=reference)
    notifications.notify_statement_paid(statement)


def entries_of(statement: Reimbursement) -> list[tuple[Redemption, str]]:
    """The statement's entries with their invoice numbers."""
    return entries_by_statement([statement.id]).get(statement.id, [])


def entries_by_statement(statement_ids: list[int]) -> dict[int, list[tuple[Redemption, str]]]:
    """The entries of these statements with their invoice numbers, in one read."""
    entries = defaultdict(list)
    for entry, number in db.session.execute(select(Redemption, Invoice.number).join(
            Invoice, Invoice.id == Redemption.invoice_id).where(
            Redemption.reimbursement_id.in_(statement_ids)).order_by(Redemption.id)):
        entries[entry.reimbursement_id].append((entry, number))
    return entries


def export_xlsx(period: str) -> bytes:
    """The quarter's statements (one row per provider) and their entries, as a workbook."""
    summary, details = [], []
    quarter = statements(period)
    lines = entries_by_statement([statement.id for statement in quarter])
    holders = dict(db.session.execute(select(Voucher.id, Organisation.name_zh).join(
        Organisation, Organisation.id == Voucher.enterprise_id).where(Voucher.id.in_(
            {entry.voucher_id for entries in lines.values() for entry, _number in entries}))).all())
    for statement in quarter:
        provider = statement.provider
        summary.append([provider.name_zh, provider.credit_code, statement.period,
                        statement.redemption_count, yuan(statement.amount_fen),
                        yuan(statement.reward_fen), yuan(statement.clawback_fen),
                        yuan(statement.total_fen), str(STATES[statement.state]),
                        statement.paid_at, statement.paid_by.name if statement.paid_by else "",
                        statement.payment_reference])
        details += [[provider.name_zh, number, f"#{entry.voucher_id}",
                     holders.get(entry.voucher_id, ""), str(ENTRIES[entry.entry]),
                     yuan(entry.amount_fen), entry.redeemed_at]
                    for entry, number in lines.get(statement.id, [])]
    if len(quarter) > 1:  # the bureau's transfer of the quarter, in one figure
        summary.append([str(lazy_gettext("Total")), "", period,
                        sum(s.redemption_count for s in quarter),
                        *(yuan(sum(getattr(s, name) for s in quarter))
                          for name in ("amount_fen", "reward_fen", "clawback_fen", "total_fen")),
                        "", None, "", ""])
    return workbook_bytes([
        (str(lazy_gettext("Reimbursement statements")), [str(label) for label in STATEMENT_HEADERS], summary),
        (str(lazy_gettext("Statement entries")), [str(label) for label in ENTRY_HEADERS], details)])


# The workbook's words in the reader's language (the bureau's staff read Chinese).
STATES = {"pending": lazy_gettext("to pay"), "paid": lazy_gettext("paid")}
ENTRIES = {"claim": lazy_gettext("voucher share"), "reversal": lazy_gettext("given back")}
#: why a share was given back, as redemptions stores it (English, for the log) and as the
#: provider reads it
REASONS = {CREDITED: lazy_gettext("a credit note on the invoice"),
           VOIDED: lazy_gettext("invoice voided"),
           VOIDED_OR_CREDITED: lazy_gettext("invoice voided or credited in full")}


def reason_text(reason: str) -> str:
    """A reversal's stored reason in the reader's language ("clawback: <the bureau's words>"
    keeps the bureau's words)."""
    if reason.startswith(f"{CLAWBACK}:"):
        return str(lazy_gettext("clawed back by the bureau: %(why)s",
                                why=reason.split(":", 1)[1].strip()))
    return str(REASONS.get(reason, reason))
STATEMENT_HEADERS = (
    lazy_gettext("Provider"), lazy_gettext("Credit code"), lazy_gettext("Quarter"),
    lazy_gettext("Entries"), lazy_gettext("Voucher amount (CNY)"),
    lazy_gettext("Provider reward (CNY)"), lazy_gettext("Reward clawed back (CNY)"),
    lazy_gettext("Total (CNY)"), lazy_gettext("Status"), lazy_gettext("Paid at"),
    lazy_gettext("Paid by"), lazy_gettext("Payment reference"))
ENTRY_HEADERS = (lazy_gettext("Provider"), lazy_gettext("Invoice"), lazy_gettext("Voucher"),
                 lazy_gettext("Enterprise"), lazy_gettext("Entry"), lazy_gettext("Amount (CNY)"),
                 lazy_gettext("Redeemed at"))
