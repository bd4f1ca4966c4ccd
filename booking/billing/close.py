"""The month close: every uncharged fact of a local month invoiced at once, one invoice per
provider, customer and user, in one transaction (the caller commits)."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking.accounts.models import User
from booking.billing import notifications
from booking.billing.facts import Fact, period_facts
from booking.billing.invoicing import issue, make_drafts
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
    issued = issue(make_drafts(facts, period=month, progress=progress), now)
    if notify:
        _notify_customers(issued.ids)
    if issued.ids:
        audit.record("billing.month_closed", month=month, invoices=len(issued.ids),
                     facts=len(facts), amount_due_fen=issued.amount_due_fen)
    return CloseResult(len(issued.ids), len(facts), issued.amount_due_fen)


def _notify_customers(invoice_ids: list[int]) -> None:
    """Queue each customer's e-mail. Per 1,000 invoices one query, with their customer and
    provider (the customers' roles, not needed, stay lazy)."""
    for chunk in chunks(invoice_ids):
        invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(chunk)).options(
            joinedload(Invoice.customer_user).lazyload(User.roles),
            joinedload(Invoice.provider)).order_by(Invoice.id)).all()
        notifications.notify_invoices_issued(invoices)
