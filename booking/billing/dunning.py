"""Chasing unpaid invoices: reminders at the due date, +14 and +30 days (a daily `flask
billing dunning`), the overdue list finance works from, the provider's optional block on
customers with invoices overdue beyond N days, and a customer's balance with credits netted."""
from datetime import datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload, selectinload

from booking.accounts.models import User
from booking.api.paging import paged
from booking.billing import notifications, rules
from booking.billing.models import DunningNotice, Invoice, ProviderSettings
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.problems import Problem, _l
from booking.extensions import db


def _unpaid(now: datetime):
    return select(Invoice).where(Invoice.state == "issued", Invoice.kind == "invoice",
                                 Invoice.amount_due_fen > 0, Invoice.due_at <= now)


def send_reminders(now: datetime | None = None) -> int:
    """Send each unpaid invoice the latest reminder it reached, once; returns how many."""
    now = now or now_utc()
    sent = {(i, s) for i, s in db.session.execute(select(DunningNotice.invoice_id,
                                                         DunningNotice.stage))}
    count = 0
    for invoice in db.session.scalars(_unpaid(now).options(
            joinedload(Invoice.customer_user), joinedload(Invoice.provider),
            selectinload(Invoice.payments)).order_by(Invoice.id)):
        stage = rules.dunning_stage(invoice.due_at, now)
        if stage is None or (invoice.id, stage) in sent or invoice.outstanding_fen <= 0:
            continue
        db.session.add(DunningNotice(invoice_id=invoice.id, stage=stage, sent_at=now))
        notifications.notify_dunning(invoice, stage, rules.days_overdue(invoice.due_at, now))
        audit.record("invoice.reminded", obj=invoice, stage=stage)
        count += 1
    db.session.flush()
    return count


def overdue_invoices(provider_id: int, now: datetime, page: int, per_page: int) -> dict:
    """One page (api.paging.paged) of the provider's unpaid invoices past their due date,
    longest overdue first; its items are (invoice, days overdue, latest reminder sent)."""
    listing = paged(_unpaid(now).where(Invoice.provider_id == provider_id).options(
        joinedload(Invoice.customer_user), joinedload(Invoice.customer_org),
        selectinload(Invoice.payments)).order_by(Invoice.due_at, Invoice.id),
        page, per_page, clamp=True)
    return {**listing, "items": _with_stages(listing["items"], now)}


def _with_stages(invoices: list[Invoice], now: datetime) -> list[tuple[Invoice, int, str | None]]:
    order = [stage for stage, _days in rules.DUNNING_STEPS]
    stages: dict[int, str] = {}
    for invoice_id, stage in db.session.execute(select(
            DunningNotice.invoice_id, DunningNotice.stage).where(
            DunningNotice.invoice_id.in_([i.id for i in invoices]))) if invoices else ():
        if order.index(stage) >= order.index(stages.get(invoice_id, "due")):
            stages[invoice_id] = stage
    return [(i, rules.days_overdue(i.due_at, now), stages.get(i.id)) for i in invoices]


# --- the provider's settings and the block -------------------------------------------------------
def settings_of(provider_id: int) -> ProviderSettings:
    """The provider's finance settings (unsaved defaults when it has none)."""
    return db.session.get(ProviderSettings, provider_id) or ProviderSettings(
        provider_id=provider_id, bank_name="", bank_account="", tax_number="",
        block_overdue_days=None)


def save_settings(provider_id: int, actor: User, **values) -> ProviderSettings:
    settings = db.session.get(ProviderSettings, provider_id)
    if settings is None:
        settings = ProviderSettings(provider_id=provider_id)
        db.session.add(settings)
    for key, value in values.items():
        setattr(settings, key, value)
    audit.record("billing.settings_saved", actor=actor, provider=provider_id, **values)
    return settings


def _customer_clause(user: User):
    return or_(Invoice.customer_user_id == user.id,
               (Invoice.customer_user_id.is_(None)) &
               (Invoice.customer_org_id == user.organisation_id))


def overdue_problems(provider_id: int, user: User, now: datetime | None = None
                     ) -> list[Problem]:
    """Why `user` may not book with this provider: invoices overdue beyond its limit."""
    block_days = db.session.connection().execute(
        _BLOCK_DAYS, {"provider_id": provider_id}).scalar()
    if block_days is None:
        return []
    now = now or now_utc()
    dues = db.session.scalars(select(Invoice.due_at).where(
        _customer_clause(user), Invoice.provider_id == provider_id, Invoice.state == "issued",
        Invoice.kind == "invoice", Invoice.due_at < now)).all()
    if not rules.is_blocked(dues, block_days, now):
        return []
    return [Problem("overdue_invoices", _l(
        "You have invoices of this provider overdue by more than %(days)s days: please pay "
        "them under My invoices before booking again."), {"days": block_days})]


# every booking asks: one column by primary key, no ORM object (a third of the time)
_BLOCK_DAYS = select(ProviderSettings.__table__.c.block_overdue_days).where(
    ProviderSettings.__table__.c.provider_id == bindparam("provider_id"))


def answer_booking_checking(instrument, user=None, **_extra) -> list[Problem]:
    """Receiver of bookings' `booking_checking` (billing's say on a new booking)."""
    if user is None or not user.is_authenticated:
        return []
    return overdue_problems(instrument.organisation_id, user)


def balance_of(user: User) -> dict:
    """A customer's money position across providers: open (outstanding), credit notes not yet
    refunded, overpayments carried, and the net balance."""
    invoices = db.session.scalars(select(Invoice).where(
        _customer_clause(user), Invoice.state.in_(("issued", "paid"))).options(
        selectinload(Invoice.payments))).all()
    open_ = [i.outstanding_fen for i in invoices if i.kind == "invoice" and i.state == "issued"]
    credits = [i.to_refund_fen for i in invoices if i.is_credit_note]
    overpaid = [i.overpaid_fen for i in invoices if i.kind == "invoice"]
    return {"open_fen": sum(open_), "credit_fen": sum(credits), "overpaid_fen": sum(overpaid),
            "balance_fen": rules.customer_balance(open_, credits, overpaid)}


