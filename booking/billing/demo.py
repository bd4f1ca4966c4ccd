"""Demo invoices: every past month closed (issued on the 1st of the next month) and most
invoices older than a month settled (internal account or bank transfer) within four weeks of
their issue; a quarter of one that an innovation voucher helped pay credited back. Idempotent:
months already closed create nothing, paid invoices stay paid."""
import random
from datetime import timedelta
from functools import cache

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from booking.accounts.models import Role, User
from booking.billing import rules
from booking.billing.close import close_month
from booking.billing.dunning import send_reminders
from booking.billing.invoicing import credit_note
from booking.billing.models import (
    DunningNotice,
    Invoice,
    InvoiceLine,
    Payment,
    ProviderSettings,
)
from booking.billing.payments import Settlement, settle_in_full
from booking.bookings.models import Booking
from booking.core.clock import local_midnight, local_today, now_utc, parse_period, to_local
from booking.core.db import analyze
from booking.extensions import db
from booking.groups.models import GroupMember, Project
from booking.instruments.models import Instrument
from booking.metering.models import UsageSession


def seed(scale: str) -> None:
    first = db.session.scalar(select(UsageSession.started_at).order_by(UsageSession.started_at)
                              .limit(1))
    if first is None:
        return
    _charge_recent_use_to_projects()
    for month in _past_months(first):
        issued = parse_period(month, "month").end + timedelta(hours=2)
        close_month(month, now=issued, notify=False)  # history: no e-mails
        analyze(db.session, Invoice.__table__, InvoiceLine.__table__)
    _settle_older_invoices()
    _credit_part_of_a_voucher_invoice()
    _bank_details()
    if scale == "small":  # the demo people click through: reminded, as the finance page says
        send_reminders()  # (at the benchmarks' scales they would only slow the seed)
        _date_reminders()
    db.session.flush()


PROJECT_BOOKINGS = 8  # recent sessions a member charged to their project: within its budget


def _charge_recent_use_to_projects() -> None:
    """Members charge their recent use of their own institution's instruments to their
    default project account (the groups' seed makes one), so that the month close charges
    the project: its page, statement and the PI's digest have money to show."""
    members = db.session.execute(select(GroupMember.user_id, GroupMember.default_project_id,
                                        User.organisation_id).join(User).where(
        GroupMember.default_project_id.is_not(None), GroupMember.state == "active")).all()
    this_month = local_midnight(local_today().replace(day=1))  # months closed by the seed
    for user_id, project_id, organisation_id in members:
        recent = select(Booking.id).join(Instrument).where(
            Booking.user_id == user_id, Booking.state == "completed",
            Booking.project_id.is_(None), Instrument.organisation_id == organisation_id,
            Booking.start_at >= this_month - timedelta(days=90), Booking.start_at < this_month
        ).order_by(Booking.start_at.desc()).limit(PROJECT_BOOKINGS)
        db.session.execute(update(Booking).where(Booking.id.in_(recent.scalar_subquery()))
                           .values(project_id=project_id),
                           execution_options={"synchronize_session": False})


def _date_reminders() -> None:
    """As if the daily job had run all along: each reminder dated the day its stage came (not
    all today, which would also hold back the finance office's own for a day)."""
    days = dict(rules.DUNNING_STEPS)
    for notice in db.session.scalars(select(DunningNotice).options(
            joinedload(DunningNotice.invoice))):
        notice.sent_at = notice.invoice.due_at + timedelta(days=days[notice.stage], hours=1)


def _bank_details() -> None:
    """Every provider that invoiced publishes where a bank transfer goes (made-up accounts)."""
    known = set(db.session.scalars(select(ProviderSettings.provider_id)))
    providers = db.session.scalars(select(Invoice.provider_id).distinct()).all()
    db.session.add_all(ProviderSettings(
        provider_id=provider_id, bank_name="中国银行大连分行营业部",
        bank_account=f"3012 0100 {provider_id:04d} 0008 8",
        tax_number=f"12210200{provider_id:010d}")
        for provider_id in providers if provider_id not in known)


def _past_months(first) -> list[str]:
    start, current = to_local(first), to_local(now_utc())
    months, year, month = [], start.year, start.month
    while (year, month) < (current.year, current.month):
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _settle_older_invoices() -> None:
    """Most invoices issued over a month ago paid in full, in bulk: internal ones from the
    project account they were charged to (by their customer, as internal settlement is),
    the others by bank transfer, recorded by the provider's finance staff, or by nobody where
    it has none (an import: only finance records a transfer, never the customer)."""
    finance = dict(db.session.execute(
        select(Role.organisation_id, Role.user_id).where(Role.name == "finance")).all())
    paid = select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
        Payment.invoice_id == Invoice.id).scalar_subquery()
    rows = db.session.execute(
        select(Invoice.id, Invoice.number, Invoice.amount_due_fen - paid, Invoice.provider_id,
               Invoice.customer_user_id, Invoice.customer_class, Invoice.project_id,
               Project.number, Invoice.issued_at)
        .outerjoin(Project, Project.id == Invoice.project_id)
        .where(Invoice.state == "issued", Invoice.kind == "invoice", Invoice.amount_due_fen > 0,
               Invoice.issued_at < now_utc() - timedelta(days=30)).order_by(Invoice.id))
    settlements = []
    for invoice_id, number, outstanding, provider_id, customer_id, klass, project_id, \
            project_number, issued_at in rows:
        chance = random.Random(invoice_id)
        if chance.random() > 0.85 or outstanding <= 0:
            continue  # the same ones stay unpaid on every run: overdue in the finance view
        internal = klass == "internal" and project_id is not None
        settlements.append(Settlement(
            invoice_id, int(outstanding), "internal" if internal else "bank_transfer",
            project_number if internal else f"DEMO-BANK-{number}",
            customer_id if internal else finance.get(provider_id),  # see the docstring
            project_id if internal else None, _paid_at(issued_at, chance.randint(3, 27))))
    settle_in_full(settlements)


@cache  # a province's year: ~900,000 invoices, a dozen issue times, 25 delays
def _paid_at(issued_at, days: int):
    """Ten in the morning `days` after the invoice's issue (a day of few distinct times: the
    settlement updates the invoices paid at one time together)."""
    day = to_local(issued_at).date() + timedelta(days=days)
    return local_midnight(day) + timedelta(hours=10)


def _credit_part_of_a_voucher_invoice() -> None:
    """A sample test failed: a quarter of the latest paid invoice that an innovation voucher
    helped pay is credited back by the provider's finance office (the voucher's part of that
    quarter goes back to the voucher). Once: not where a credit note exists already."""
    if db.session.scalar(select(Invoice.id).where(Invoice.kind == "credit_note").limit(1)):
        return
    row = db.session.execute(
        select(Invoice, User).join(Role, Role.organisation_id == Invoice.provider_id)
        .join(User, User.id == Role.user_id)
        .where(Role.name == "finance", Invoice.kind == "invoice", Invoice.state == "paid",
               Invoice.voucher_fen > 0)
        .order_by(Invoice.issued_at.desc(), Invoice.id).limit(1)).first()
    if row is not None:
        invoice, finance = row
        credit_note(invoice, invoice.amount_due_fen // 4, "一个样品测试失败，退还部分费用",
                    finance, settled=True)
