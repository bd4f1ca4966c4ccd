"""The demo's money cycle: two SMEs' vouchers approved after their earlier invoices, redeemed
against paid invoices, waiting for the quarter's statements; a partial refund returns part of
a share."""
from freezegun import freeze_time
from sqlalchemy import func, select

from booking.accounts import demo as accounts_demo
from booking.billing.models import Invoice, InvoiceLine
from booking.extensions import db
from booking.instruments import demo as instruments_demo
from booking.subsidies import demo
from booking.subsidies.models import Redemption, Reimbursement, Voucher


@freeze_time("2026-11-23 05:00:00")  # a Monday in 2026Q4
def test_demo_redeems_reimburses_and_refunds(app):
    accounts_demo.seed("small")
    instruments_demo.seed("small")
    demo.seed("small")
    claims = db.session.scalars(select(Redemption).where(Redemption.entry == "claim")
                                .order_by(Redemption.id)).all()  # PostgreSQL keeps no order
    assert len(claims) == demo.USES * len(demo.CYCLES)
    assert {c.state for c in claims} == {"redeemed"}
    # statements wait for the quarter's end (2026Q4 is not over)
    assert db.session.scalars(select(Reimbursement)).all() == []
    assert all(c.reimbursement_id is None for c in claims)
    # each voucher was approved before the uses it pays for, after the SME's earlier invoices
    for claim in claims:
        voucher = db.session.get(Voucher, claim.voucher_id)
        invoice = db.session.get(Invoice, claim.invoice_id)
        assert voucher.decided_at < invoice.lines[0].service_at
        earlier = db.session.scalar(select(func.max(InvoiceLine.service_at)).join(Invoice).where(
            Invoice.customer_org_id == invoice.customer_org_id,
            Invoice.id.not_in([c.invoice_id for c in claims])))
        assert earlier is None or earlier < voucher.decided_at
    # a quarter of one invoice of the first provider paid back: a quarter of its share back
    # to the voucher, waiting for the provider's next statement
    [reversal] = db.session.scalars(select(Redemption).where(
        Redemption.entry == "reversal")).all()
    first = claims[0]
    assert reversal.amount_fen * -4 == first.amount_fen and reversal.reimbursement_id is None
    assert reversal.voucher_id == first.voucher_id
    voucher = db.session.get(Voucher, first.voucher_id)
    assert voucher.used_fen == sum(c.amount_fen for c in claims
                                   if c.voucher_id == voucher.id) + reversal.amount_fen
    demo.seed("small")  # idempotent
    assert db.session.query(Redemption).count() == demo.USES * len(demo.CYCLES) + 1


@freeze_time("2026-11-23 05:00:00")
def test_the_demos_bookings_and_accounts_read_as_real_ones(app):
    """A booking on an instrument that needs approval was approved by one of its lab managers
    and requested before; the demo's people have signed in before (no pending invitation)."""
    from booking.accounts.models import User
    from booking.admin.services import awaits_first_sign_in
    from booking.bookings.models import Booking

    accounts_demo.seed("small")
    instruments_demo.seed("small")
    demo.seed("small")
    used = db.session.scalars(select(Booking).where(
        Booking.purpose == "复合材料断口形貌观察")).all()
    assert used and all(b.created_at < b.decided_at for b in used)
    assert all((b.decided_by_id is not None) == b.instrument.requires_approval for b in used)
    assert all(b.decided_by.has_role("lab_manager", b.instrument.organisation_id)
               for b in used if b.decided_by_id)
    assert not any(awaits_first_sign_in(u) for u in db.session.scalars(select(User)))
