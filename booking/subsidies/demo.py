"""Demo vouchers: the published policy of the year, approved vouchers for two SMEs and their
money cycle (runs after the bookings, usage and invoices are seeded).

Each voucher is approved the day after the SME's last service invoiced so far (a voucher pays
for use made after its approval: the SME's earlier invoices rightly carry no share). Then
sme@demo.cn used an instrument of 大连理工大学, sme.xinghai@demo.cn one of 大连海事大学, up to
three times each since; each booking was invoiced with the voucher's share deducted and paid,
so the shares are redeemed and wait for the quarter's reimbursement statements (built once
the quarter is over); one invoice of 大连理工大学 was then partly refunded, which returns part
of its share to the voucher. Idempotent: a voucher that has redemptions is left alone.
"""
from datetime import datetime, time, timedelta

from sqlalchemy import exists, func, or_, select

from booking.accounts.models import Role, User
from booking.billing.invoicing import credit_note, invoice_booking
from booking.billing.models import Invoice, InvoiceLine
from booking.billing.payments import record_bank_transfer
from booking.bookings.models import Booking
from booking.core.clock import current_quarter, from_local, local_today, to_local
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.metering.models import UsageSession
from booking.subsidies import services
from booking.subsidies.models import Redemption, Voucher

DEMO_VOUCHER_FEN = 5_000_000  # 50,000 CNY
USES = 3
USE_HOURS = 2
# (SME user, a provider's finance staff, the project applied for, partly refunded)
CYCLES = (
    ("sme@demo.cn", "finance.dlut@demo.cn", "新型复合材料微观结构表征（扫描电镜、XRD）", True),
    ("sme.xinghai@demo.cn", "manager.dlmu@demo.cn", "精密零件形貌观察与物相分析", False),
)


def seed(scale: str) -> None:
    bureau = _user("bureau@demo.cn")
    if bureau is None:
        return
    policy = services.stored_policy()
    for sme_email, provider_email, project, refund in CYCLES:
        sme, provider_staff = _user(sme_email), _user(provider_email)
        if sme is None or provider_staff is None:
            continue
        voucher = db.session.scalar(select(Voucher).where(
            Voucher.enterprise_id == sme.organisation_id, Voucher.year == policy.year))
        if voucher is None:
            voucher = services.apply_for_voucher(
                sme, amount_fen=DEMO_VOUCHER_FEN, project=project,
                declared_class="sme_science_based", declaration={})
            services.approve_voucher(voucher, bureau)
            _backdate(voucher, sme)
        if voucher.state == "issued" and not db.session.scalar(
                select(exists().where(Redemption.voucher_id == voucher.id))):
            _money_cycle(sme, voucher, provider_staff, refund)


def _backdate(voucher: Voucher, sme: User) -> None:
    """Applied for and approved at 9:00 the day after the SME's last service invoiced so far
    (its invoices were issued before the voucher existed, so it must not have covered them),
    within this quarter, so that the demo's uses come after it."""
    invoiced = db.session.scalar(select(func.max(InvoiceLine.service_at)).join(Invoice).where(
        Invoice.customer_org_id == sme.organisation_id))
    today = local_today()
    first = current_quarter(today).first_day
    day = (to_local(invoiced).date() + timedelta(days=1)) if invoiced else first
    day = max(first, min(day, today - timedelta(days=1)))
    start = from_local(datetime.combine(day, time(9)))
    voucher.created_at, voucher.decided_at = start - timedelta(hours=1), start


def _approver(instrument: Instrument) -> int | None:
    """Who approved a booking of the instrument: one of its lab managers, where it needs
    approval (None: confirmed without one)."""
    if not instrument.requires_approval:
        return None
    return db.session.scalar(select(Role.user_id).where(
        Role.organisation_id == instrument.organisation_id, Role.name == "lab_manager")
        .order_by(Role.user_id).limit(1))


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _money_cycle(sme: User, voucher: Voucher, provider_staff: User, refund: bool) -> None:
    instrument = db.session.scalar(select(Instrument).where(
        Instrument.organisation_id == provider_staff.organisation_id,
        Instrument.is_public.is_(True)).order_by(Instrument.id).limit(1))
    if instrument is None:
        return
    invoices = []
    for start in _free_slots(instrument, USES, after=voucher.decided_at):
        booking = _used_booking(instrument, sme, start)
        invoice = invoice_booking(booking)
        if invoice is not None:
            record_bank_transfer(invoice, provider_staff, f"DEMO-VOUCHER-{invoice.number}")
            invoices.append(invoice)
    db.session.flush()
    if refund and invoices:  # a quarter of one invoice paid back: the share shrinks in proportion
        credit_note(invoices[0], invoices[0].amount_due_fen // 4, "一个样品测试失败，退还部分费用",
                    provider_staff, settled=True)


def _free_slots(instrument: Instrument, count: int, after: datetime) -> list[datetime]:
    """The latest weekday mornings before today and `after`, when the instrument was neither
    booked nor in use (demo history is written directly: it must not overlap)."""
    slots, day = [], local_today() - timedelta(days=1)
    while len(slots) < count:
        start = from_local(datetime.combine(day, time(9)), instrument.timezone)
        if start < after:
            break
        if day.weekday() < 5 and _is_free(instrument.id, start, start + timedelta(
                hours=USE_HOURS)):
            slots.append(start)
        day -= timedelta(days=1)
    return slots


def _is_free(instrument_id: int, start: datetime, end: datetime) -> bool:
    booked = exists().where(Booking.instrument_id == instrument_id, Booking.start_at < end,
                            Booking.end_at > start,
                            Booking.state.not_in(("cancelled", "rejected", "expired")))
    used = exists().where(UsageSession.instrument_id == instrument_id,
                          UsageSession.started_at < end,
                          or_(UsageSession.ended_at.is_(None), UsageSession.ended_at > start))
    return not db.session.scalar(select(booked | used))


def _used_booking(instrument: Instrument, user: User, start: datetime) -> Booking:
    end = start + timedelta(hours=USE_HOURS)
    booking = Booking(instrument_id=instrument.id, user_id=user.id,
                      organisation_id=user.organisation_id, start_at=start, end_at=end,
                      mode="self_operated", purpose="复合材料断口形貌观察", state="completed",
                      created_at=start - timedelta(days=3), updated_at=end,
                      decided_at=start - timedelta(days=2),
                      decided_by_id=_approver(instrument))
    db.session.add(booking)
    db.session.flush()
    db.session.add(UsageSession(instrument_id=instrument.id, booking_id=booking.id,
                                user_id=user.id, customer_org_id=booking.organisation_id,
                                started_at=start, ended_at=end,
                                source="kiosk", recorded_by_id=user.id))
    db.session.flush()
    return booking
