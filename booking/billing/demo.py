"""Demo invoices: every past month closed (issued on the 1st of the next month) and most
invoices older than a month settled (internal account or bank transfer). Idempotent: months
already closed create nothing, paid invoices stay paid."""
import random
from datetime import timedelta

from sqlalchemy import select

from booking.accounts.models import Role, User
from booking.billing.close import close_month
from booking.billing.models import Invoice
from booking.billing.payments import record_bank_transfer, settle_internal
from booking.core.clock import now_utc, parse_period, to_local
from booking.extensions import db
from booking.metering.models import UsageSession


def seed(scale: str) -> None:
    first = db.session.scalar(select(UsageSession.started_at).order_by(UsageSession.started_at)
                              .limit(1))
    if first is None:
        return
    for month in _past_months(first):
        issued = parse_period(month, "month").end + timedelta(hours=2)
        close_month(month, now=issued, notify=False)  # history: no e-mails
    _settle_older_invoices()
    db.session.flush()


def _past_months(first) -> list[str]:
    start, current = to_local(first), to_local(now_utc())
    months, year, month = [], start.year, start.month
    while (year, month) < (current.year, current.month):
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _settle_older_invoices() -> None:
    cutoff = now_utc() - timedelta(days=30)
    finance = {org_id: db.session.get(User, user_id) for org_id, user_id in db.session.execute(
        select(Role.organisation_id, Role.user_id).where(Role.name == "finance"))}
    for invoice in db.session.scalars(select(Invoice).where(
            Invoice.state == "issued", Invoice.kind == "invoice", Invoice.issued_at < cutoff)
            .order_by(Invoice.id)):
        if not invoice.is_payable or random.Random(invoice.id).random() > 0.85:
            continue  # the same ones stay unpaid on every run: overdue in the finance view
        actor = finance.get(invoice.provider_id) or invoice.customer_user
        if invoice.customer_class == "internal" and invoice.project_id is not None:
            settle_internal(invoice, actor, invoice.project, notify=False)
        else:
            record_bank_transfer(invoice, actor, f"DEMO-BANK-{invoice.number}", notify=False)
