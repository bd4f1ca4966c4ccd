"""The demo's money cycle: two SMEs' vouchers redeemed against paid invoices, the quarter's
reimbursement statements paid with their rewards, and a partial refund netted out afterwards."""
from freezegun import freeze_time
from sqlalchemy import select

from booking.accounts import demo as accounts_demo
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
    statements = db.session.scalars(select(Reimbursement).order_by(Reimbursement.id)).all()
    # one statement per provider; its reward is 5 % of its net amount (each provider's first
    # of the year)
    assert len(statements) == len(demo.CYCLES)
    for statement in statements:
        assert statement.state == "paid" and statement.period == "2026Q4"
        assert statement.amount_fen == sum(c.amount_fen for c in claims
                                           if c.reimbursement_id == statement.id)
        assert statement.reward_fen * 20 == statement.amount_fen
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
