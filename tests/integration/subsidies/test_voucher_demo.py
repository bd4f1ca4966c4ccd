"""The demo's money cycle: an SME's voucher redeemed against paid invoices, the quarter's
reimbursement statement paid with its reward, and a partial refund netted out afterwards."""
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
    claims = db.session.scalars(select(Redemption).where(Redemption.entry == "claim")).all()
    assert len(claims) == demo.USES and {c.state for c in claims} == {"redeemed"}
    [statement] = db.session.scalars(select(Reimbursement)).all()
    # the statement's reward is 5 % of its net amount (the provider's first of the year)
    assert statement.state == "paid" and statement.period == "2026Q4"
    assert statement.amount_fen == sum(c.amount_fen for c in claims)
    assert statement.reward_fen * 20 == statement.amount_fen
    # a quarter of one invoice paid back: a quarter of its share back to the voucher
    [reversal] = db.session.scalars(select(Redemption).where(
        Redemption.entry == "reversal")).all()
    assert reversal.amount_fen * -4 == claims[0].amount_fen and reversal.reimbursement_id is None
    voucher = db.session.scalar(select(Voucher))
    assert voucher.used_fen == sum(c.amount_fen for c in claims) + reversal.amount_fen
    demo.seed("small")  # idempotent
    assert db.session.query(Redemption).count() == demo.USES + 1
