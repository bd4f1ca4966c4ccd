"""The demo's money cycle: two SMEs' vouchers approved at the start of the last quarter, before
billing writes its history, so that the month closes reserve their shares and the payments
redeem them when they were paid; the last quarter's claims wait for their statements; a
credit note gives part of a share back."""
from datetime import date, datetime

from freezegun import freeze_time
from sqlalchemy import func, select

from booking import AREAS, DEMO_AREAS, area_modules
from booking.billing.models import Invoice, InvoiceLine, Payment
from booking.core.clock import local_today
from booking.extensions import db
from booking.subsidies import demo, reimbursements
from booking.subsidies.models import Redemption, Reimbursement, Voucher


def test_the_demo_seeds_every_area_and_vouchers_before_billing():
    assert sorted(DEMO_AREAS) == sorted(AREAS)
    assert DEMO_AREAS.index("subsidies") < DEMO_AREAS.index("billing")


def test_a_voucher_is_approved_on_the_last_quarters_first_weekday_within_its_year():
    assert demo.approval_time(date(2026, 11, 23), 2026) == datetime.fromisoformat(
        "2026-07-01 01:00:00+00:00")  # Wednesday 1 July, 9:00 in Dalian
    assert demo.approval_time(date(2026, 2, 10), 2026) == datetime.fromisoformat(
        "2026-01-01 01:00:00+00:00")  # not in the year before
    assert demo.approval_time(date(2026, 1, 20), 2026) == datetime.fromisoformat(
        "2026-01-01 01:00:00+00:00")  # before today
    assert demo.approval_time(date(2026, 1, 1), 2026) == datetime.fromisoformat(
        "2026-01-01 01:00:00+00:00")  # never in the year before


@freeze_time("2026-11-23 05:00:00")  # a Monday in 2026Q4
def test_demo_reserves_redeems_and_gives_back_as_in_life(app):
    from booking.accounts.models import User
    from booking.admin.services import awaits_first_sign_in

    for module in area_modules("demo", DEMO_AREAS[:DEMO_AREAS.index("billing") + 1]):
        module.seed("small")
    vouchers = db.session.scalars(select(Voucher).order_by(Voucher.id)).all()
    assert len(vouchers) == len(demo.VOUCHERS)
    for voucher in vouchers:
        assert local_today(voucher.decided_at) == date(2026, 7, 1) and voucher.quarter == 3
        # none of the SME's invoices of use since lacks a share while the voucher has money
        # left (its use before the approval has none)
        shares = db.session.execute(select(Invoice.issued_at, Invoice.voucher_fen).where(
            Invoice.customer_org_id == voucher.enterprise_id, Invoice.kind == "invoice",
            Invoice.issued_at > voucher.decided_at).order_by(Invoice.issued_at)).all()
        assert shares and shares[0].voucher_fen > 0
        exhausted = next((at for at, fen in shares if fen == 0), None)
        assert exhausted is None or voucher.used_fen > voucher.face_value_fen * 0.9
        assert db.session.scalar(select(func.sum(Invoice.voucher_fen)).where(
            Invoice.customer_org_id == voucher.enterprise_id,
            Invoice.issued_at < voucher.decided_at)) == 0
    assert vouchers[0].state == "exhausted" and vouchers[1].state == "issued"
    # each claim is redeemed when its invoice was paid, not on the day the demo ran
    claims = db.session.execute(select(Redemption.redeemed_at, Invoice.paid_at, Payment.received_on)
                                .join(Invoice, Invoice.id == Redemption.invoice_id)
                                .join(Payment, Payment.invoice_id == Invoice.id)
                                .where(Redemption.entry == "claim",
                                       Redemption.state == "redeemed")).all()
    assert claims and all(r == paid and local_today(paid) == received
                          for r, paid, received in claims)
    assert db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.received_on == local_today())) == 0
    # the last quarter's claims wait for its statements: the bureau builds them
    assert db.session.scalars(select(Reimbursement)).all() == []
    built = reimbursements.reimburse("2026Q3")
    assert built and all(s.amount_fen > 0 and s.redemption_count for s in built)
    # a quarter of one paid invoice with a share credited back: a quarter of its share back
    [reversal] = db.session.scalars(select(Redemption).where(
        Redemption.entry == "reversal")).all()
    claim = db.session.get(Redemption, reversal.reverses_id)
    assert abs(reversal.amount_fen * 4 + claim.amount_fen) <= 4
    assert db.session.scalar(select(func.count()).select_from(InvoiceLine)) > 0
    assert not any(awaits_first_sign_in(u) for u in db.session.scalars(select(User)))
    for module in area_modules("demo", ("subsidies", "billing")):
        module.seed("small")  # idempotent
    assert len(db.session.scalars(select(Voucher)).all()) == len(demo.VOUCHERS)
    assert len(db.session.scalars(select(Redemption).where(
        Redemption.entry == "reversal")).all()) == 1
