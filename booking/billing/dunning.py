"""Chasing unpaid invoices: reminders at the due date, +14 and +30 days (a daily `flask
billing dunning`), the overdue list finance works from, the provider's optional block on
customers with invoices overdue beyond N days, and a customer's balance with credits netted."""
from datetime import datetime
from typing import NamedTuple

from flask_babel import lazy_gettext
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from booking.accounts.models import Organisation, User
from booking.api.paging import paged
from booking.billing import notifications, rules
from booking.billing.models import DunningNotice, Invoice, Payment, ProviderSettings
from booking.billing.refusals import BillingRefused
from booking.core import audit
from booking.core.clock import now_utc, to_local
from booking.core.problems import Problem, _l
from booking.core.tables import yuan
from booking.extensions import db


def _unpaid(now: datetime):
    return select(Invoice).where(Invoice.state == "issued", Invoice.kind == "invoice",
                                 Invoice.amount_due_fen > 0, Invoice.due_at <= now)


def send_reminders(now: datetime | None = None) -> int:
    """Send each unpaid invoice the latest reminder it reached, once; returns how many."""
    now = now or now_utc()
    sent = {(i, s) for i, s in db.session.execute(select(DunningNotice.invoice_id,
                                                         DunningNotice.stage))}
    # one the finance office sent by hand today is enough for today
    sent_lately = set(db.session.scalars(select(DunningNotice.invoice_id).where(
        DunningNotice.sent_at > now - rules.REMIND_AGAIN_AFTER)))
    count = 0
    for invoice in db.session.scalars(_unpaid(now).options(
            joinedload(Invoice.customer_user), joinedload(Invoice.provider),
            selectinload(Invoice.payments)).order_by(Invoice.id)):
        stage = rules.dunning_stage(invoice.due_at, now)
        if stage is None or (invoice.id, stage) in sent or invoice.id in sent_lately \
                or invoice.outstanding_fen <= 0:
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
    listing = paged(_overdue_of(provider_id, now), page, per_page, clamp=True)
    return {**listing, "items": _with_reminders(listing["items"], now)}


def _overdue_of(provider_id: int, now: datetime):
    return _unpaid(now).where(Invoice.provider_id == provider_id).options(
        joinedload(Invoice.customer_user), joinedload(Invoice.customer_org),
        selectinload(Invoice.payments)).order_by(Invoice.due_at, Invoice.id)


def _with_reminders(invoices: list[Invoice], now: datetime
                    ) -> list[tuple[Invoice, int, DunningNotice | None]]:
    latest: dict[int, DunningNotice] = {}
    for notice in db.session.scalars(select(DunningNotice).where(
            DunningNotice.invoice_id.in_([i.id for i in invoices])).options(
            joinedload(DunningNotice.sent_by)).order_by(DunningNotice.sent_at,
                                                        DunningNotice.id)) if invoices else ():
        latest[notice.invoice_id] = notice
    return [(i, rules.days_overdue(i.due_at, now), latest.get(i.id)) for i in invoices]


#: The reminders as the overdue list and its export name them.
REMINDER_LABELS = {"due": lazy_gettext("at the due date"), "d14": lazy_gettext("after 14 days"),
                   "d30": lazy_gettext("after 30 days"), "manual": lazy_gettext("by hand")}


def overdue_table(provider_id: int, year: int) -> tuple[tuple, list]:
    """The overdue list as an export (every row, as of now: the year does not narrow it),
    with whom to call."""
    now = now_utc()
    header = ("number", "customer", "user", "email", "phone", "due_at", "days_overdue",
              "outstanding_cny", "last_reminder")
    invoices = list(db.session.scalars(_overdue_of(provider_id, now)).unique())
    rows = []
    for invoice, days, notice in _with_reminders(invoices, now):
        person = invoice.customer_user
        rows.append((invoice.number, invoice.customer_org.name_zh, person.name if person else "",
                     person.email if person else "", person.phone if person else "",
                     to_local(invoice.due_at).date(), days, yuan(invoice.outstanding_fen),
                     f"{REMINDER_LABELS[notice.stage]} {to_local(notice.sent_at):%Y-%m-%d}"
                     if notice else ""))
    return header, rows


def overdue_summary(provider_id: int, now: datetime) -> list[dict]:
    """All the provider's overdue invoices counted and summed by age (rules.aging)."""
    paid = select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
        Payment.invoice_id == Invoice.id).scalar_subquery()
    rows = db.session.execute(_unpaid(now).with_only_columns(
        Invoice.due_at, Invoice.amount_due_fen - paid).where(Invoice.provider_id == provider_id))
    return rules.aging((rules.days_overdue(due_at, now), int(left))
                       for due_at, left in rows if left > 0)


def remind_now(invoice: Invoice, actor: User, now: datetime | None = None) -> DunningNotice:
    """The finance office reminds the customer of an overdue invoice at once (after a call,
    say): refused for an invoice not overdue, with no one named to remind, or reminded in
    the last 24 hours (by the daily job or by hand)."""
    now = now or now_utc()
    if not (invoice.is_payable and invoice.due_at <= now and invoice.outstanding_fen > 0):
        raise BillingRefused.one("not_overdue", _l("Only an unpaid invoice past its due date "
                                                   "can be reminded."))
    if invoice.customer_user is None:
        raise BillingRefused.one("no_one_to_remind", _l(
            "The invoice names no person to remind: contact the customer organisation."))
    last = db.session.scalar(select(func.max(DunningNotice.sent_at)).where(
        DunningNotice.invoice_id == invoice.id))
    if last is not None and now - last < rules.REMIND_AGAIN_AFTER:
        raise BillingRefused.one("reminded_recently", _l(
            "A reminder went out at %(time)s: the next one can go 24 hours later."),
            time=to_local(last).strftime("%Y-%m-%d %H:%M"))
    notice = DunningNotice(invoice_id=invoice.id, stage="manual", sent_at=now,
                           sent_by_id=actor.id)
    db.session.add(notice)
    notifications.notify_dunning(invoice, "manual", rules.days_overdue(invoice.due_at, now))
    audit.record("invoice.reminded", actor=actor, obj=invoice, stage="manual")
    return notice


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
    """A customer's money position: open (outstanding), credit notes not yet refunded and
    overpayments carried, in all and by provider. Money one provider owes a customer never
    settles another's invoices, so the net balance is a provider's (`by_provider`: provider,
    its open, credit, overpaid and net amounts, the providers with money of the customer's
    first); `balance_fen` is it where one provider is concerned, None where several are."""
    invoices = db.session.scalars(select(Invoice).where(
        _customer_clause(user), Invoice.state.in_(("issued", "paid"))).options(
        selectinload(Invoice.payments), joinedload(Invoice.provider))).all()
    sums: dict = {}
    for invoice in invoices:
        open_, credit, overpaid = sums.setdefault(invoice.provider, ([], [], []))
        if invoice.kind == "invoice":
            open_.append(invoice.outstanding_fen if invoice.state == "issued" else 0)
            overpaid.append(invoice.overpaid_fen)
        credit.append(invoice.to_refund_fen)
    by_provider = sorted(
        (ProviderBalance(provider, sum(o), sum(c), sum(p), rules.customer_balance(o, c, p))
         for provider, (o, c, p) in sums.items() if any(o) or any(c) or any(p)),
        key=lambda b: (b.credit_fen + b.overpaid_fen == 0, b.provider.name_zh))
    return {"open_fen": sum(b.open_fen for b in by_provider),
            "credit_fen": sum(b.credit_fen for b in by_provider),
            "overpaid_fen": sum(b.overpaid_fen for b in by_provider),
            "balance_fen": by_provider[0].balance_fen if len(by_provider) == 1 else
            (0 if not by_provider else None), "by_provider": by_provider}


class ProviderBalance(NamedTuple):
    provider: Organisation
    open_fen: int
    credit_fen: int
    overpaid_fen: int
    balance_fen: int  # negative: the provider owes the customer
