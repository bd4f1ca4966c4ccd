"""The month close: every uncharged fact of a local month invoiced at once, one invoice per
provider, customer and user, in one transaction (the caller commits)."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from booking.accounts.models import User
from booking.billing import notifications
from booking.billing.facts import Fact, period_facts
from booking.billing.invoicing import create_invoices, make_drafts
from booking.billing.models import Invoice
from booking.core import audit
from booking.core.clock import parse_period
from booking.core.db import chunks
from booking.extensions import db


@dataclass
class CloseResult:
    invoices: int
    lines: int
    amount_fen: int


def month_facts(month: str) -> list[Fact]:
    """Every uncharged fact of YYYY-MM (local time); a malformed month raises PeriodError."""
    period = parse_period(month, "month")
    return period_facts(period.start, period.end)


def close_month(month: str, facts: list[Fact] | None = None,
                progress: Callable[[int], None] | None = None,
                now: datetime | None = None, notify: bool = True) -> CloseResult:
    """Invoice the month's facts, one invoice per provider, customer and user, and queue an
    e-mail to each customer (`notify`; the demo's history sends none). Idempotent (charged
    facts are skipped, and unique indexes guard it); the caller commits once, so a crash
    leaves nothing half-done."""
    facts = month_facts(month) if facts is None else facts
    ids = create_invoices(make_drafts(facts, period=month, progress=progress), now)
    total = _notify_customers(ids) if notify else _amount_due(ids)
    if ids:
        audit.record("billing.month_closed", month=month, invoices=len(ids), facts=len(facts),
                     amount_due_fen=total)
    return CloseResult(len(ids), len(facts), total)


def _amount_due(invoice_ids: list[int]) -> int:
    return sum(int(db.session.scalar(select(func.coalesce(func.sum(Invoice.amount_due_fen), 0))
                                     .where(Invoice.id.in_(chunk))))
               for chunk in chunks(invoice_ids))


def _notify_customers(invoice_ids: list[int]) -> int:
    """Queue each customer's e-mail; returns the invoices' total amount due, read on the way
    (a query fewer). Per 1,000 invoices one query, with their customer and provider (the
    customers' roles, not needed, stay lazy)."""
    total = 0
    for chunk in chunks(invoice_ids):
        invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(chunk)).options(
            joinedload(Invoice.customer_user).lazyload(User.roles),
            joinedload(Invoice.provider)).order_by(Invoice.id)).all()
        total += sum(invoice.amount_due_fen for invoice in invoices)
        notifications.notify_invoices_issued(invoices)
    return total
