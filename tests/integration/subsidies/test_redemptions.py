"""Voucher shares on quotes and invoices: reserved at issue, redeemed on payment, released on
void or refund, once per invoice (billing's real flow: check-out issues the invoice)."""
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.billing.close import close_month
from booking.billing.invoicing import credit_note, void_invoice
from booking.billing.models import Invoice, InvoiceLine
from booking.billing.payments import Settlement, record_bank_transfer, settle_in_full
from booking.core.audit import AuditEvent
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.metering import services as metering
from booking.subsidies import redemptions
from booking.subsidies.models import OrganisationLink, Redemption
from tests.moments import MONDAY_11_MAY_9AM, SUNDAY_10_MAY_10AM


@pytest.fixture(autouse=True)
def may_2026():
    with freeze_time(SUNDAY_10_MAY_10AM):
        yield


@pytest.fixture
def lab(make):
    owner = make.organisation(short_code="DLUTV")
    sme = make.user(organisation=make.enterprise())
    return {"owner": owner, "instrument": make.instrument(organisation=owner),
            "finance": make.user(role="finance", organisation=owner), "sme": sme,
            "voucher": make.voucher(user=sme, amount_fen=5_000_000)}


def _use(make, instrument, user, minutes=60, mode="self_operated", start=MONDAY_11_MAY_9AM):
    """Book, check in and out: billing issues the invoice at check-out."""
    booking = make.placed_booking(instrument, user, start, minutes=minutes, mode=mode)
    with freeze_time(start):
        session = metering.check_in(booking, actor=user, source="kiosk")
    with freeze_time(start + timedelta(minutes=minutes)):
        metering.check_out(session, actor=user)
    return db.session.scalar(select(Invoice).join(InvoiceLine).where(
        InvoiceLine.booking_id == booking.id))


def test_quote_share_is_fee_times_rate(lab):
    # 1 h at 400 元/h = 40,000 fen; 40% = 16,000 fen.
    assert redemptions.voucher_share(lab["sme"], lab["instrument"], 40_000) == 16_000


def test_no_share_without_voucher_or_for_excluded_services(make, lab):
    assert redemptions.voucher_share(make.user(organisation=make.enterprise()), lab["instrument"],
                                     40_000) == 0
    assert redemptions.voucher_share(lab["sme"], lab["instrument"], 40_000,
                                     service="certification") == 0
    hidden = make.instrument(organisation=lab["owner"], is_public=False)
    assert redemptions.voucher_share(lab["sme"], hidden, 40_000) == 0


def test_an_unconfirmed_member_uses_none_of_the_enterprises_vouchers(make, lab):
    """Reported: a person a lab registered in a firm (or who asked to join it) was quoted, and
    invoiced, the firm's voucher share before the firm confirmed them."""
    stranger = make.user(organisation=lab["sme"].organisation, confirmed=False)
    assert redemptions.voucher_share(stranger, lab["instrument"], 40_000) == 0
    invoice = _use(make, lab["instrument"], stranger)
    assert (invoice.subtotal_fen, invoice.voucher_fen) == (40_000, 0)
    assert db.session.scalar(select(Redemption)) is None
    stranger.membership_confirmed = True  # the firm confirms: its voucher pays from now on
    assert redemptions.voucher_share(stranger, lab["instrument"], 40_000) == 16_000


def test_invoice_deducts_the_share_and_payment_redeems_it(make, lab):
    invoice = _use(make, lab["instrument"], lab["sme"])
    assert (invoice.subtotal_fen, invoice.voucher_fen, invoice.amount_due_fen) == (
        40_000, 16_000, 24_000)
    told = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.recipient == lab["sme"].email, OutboxMessage.kind == "invoice.issued"))
    assert "由科技创新券抵扣 ¥160.00" in told and "您需支付 ¥240.00" in told  # not a bare ¥240
    claim = db.session.scalar(select(Redemption))
    assert (claim.state, claim.amount_fen, claim.policy_id) == (
        "reserved", 16_000, lab["voucher"].policy_id)
    assert lab["voucher"].remaining_fen == 5_000_000 - 16_000
    record_bank_transfer(invoice, lab["finance"], "BANK-1")
    db.session.flush()
    assert claim.state == "redeemed" and claim.redeemed_at is not None
    assert redemptions.reserve_for_invoice(invoice) == 0  # an invoice is used once


def test_a_bulk_settlement_pays_the_invoice_and_redeems_the_share(make, lab):
    invoice = _use(make, lab["instrument"], lab["sme"])
    claim = db.session.scalar(select(Redemption))
    settled = settle_in_full([Settlement(invoice.id, invoice.outstanding_fen, "bank_transfer",
                                         "BANK-BULK", lab["finance"].id)])
    db.session.expire_all()
    assert settled == 1 and invoice.state == "paid" and invoice.outstanding_fen == 0
    assert [(p.method, p.amount_fen, p.reference) for p in invoice.payments] == [
        ("bank_transfer", 24_000, "BANK-BULK")]
    assert claim.state == "redeemed" and claim.redeemed_at is not None
    paid = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "invoice.paid"))
    assert (paid.object_type, paid.object_id, paid.actor_id, paid.data["amount_fen"]) == (
        "Invoice", invoice.id, lab["finance"].id, 24_000)
    # settling again changes nothing: the invoice is no longer issued
    assert settle_in_full([Settlement(invoice.id, 1, "bank_transfer", "AGAIN", None)]) == 0
    assert len(invoice.payments) == 1


def test_voiding_releases_the_share(make, lab):
    invoice = _use(make, lab["instrument"], lab["sme"])
    void_invoice(invoice, lab["finance"], "wrong customer")
    db.session.flush()
    claim = db.session.scalar(select(Redemption))
    assert claim.state == "released" and lab["voucher"].remaining_fen == 5_000_000


def test_full_refund_releases_the_share(make, lab):
    invoice = _use(make, lab["instrument"], lab["sme"])
    record_bank_transfer(invoice, lab["finance"], "BANK-2")
    credit_note(invoice, invoice.amount_due_fen, "refund", lab["finance"], settled=True)
    db.session.flush()
    assert db.session.scalar(select(Redemption)).state == "released"
    assert lab["voucher"].remaining_fen == 5_000_000


def test_a_partial_credit_note_gives_back_its_share_in_proportion(make, lab):
    """DESIGN §6: the share is rate x the fee actually charged. 400 CNY, share 160, the
    customer pays 240; 60 CNY credited (a quarter) -> the share is 120, 40 back to the
    voucher; the rest credited later -> all of it back."""
    invoice = _use(make, lab["instrument"], lab["sme"])
    record_bank_transfer(invoice, lab["finance"], "BANK-3")
    credit_note(invoice, 6_000, "one sample failed", lab["finance"], settled=True)
    db.session.flush()
    claim = db.session.scalar(select(Redemption).where(Redemption.entry == "claim"))
    entries = db.session.scalars(select(Redemption).where(Redemption.entry == "reversal")).all()
    assert [(e.amount_fen, e.state, e.reverses_id) for e in entries] == [
        (-4_000, "redeemed", claim.id)]
    assert claim.state == "redeemed" and claim.amount_fen == 16_000  # history kept
    assert lab["voucher"].remaining_fen == 5_000_000 - 12_000
    credit_note(invoice, 18_000, "refund the rest", lab["finance"], settled=True)
    db.session.flush()
    assert lab["voucher"].remaining_fen == 5_000_000
    assert sum(e.amount_fen for e in db.session.scalars(select(Redemption))) == 0


def test_a_credit_before_payment_waits_with_its_claim(make, lab):
    invoice = _use(make, lab["instrument"], lab["sme"])  # issued, not paid: share reserved
    credit_note(invoice, 12_000, "half the time", lab["finance"])
    db.session.flush()
    reversal = db.session.scalar(select(Redemption).where(Redemption.entry == "reversal"))
    assert (reversal.amount_fen, reversal.state) == (-8_000, "reserved")
    assert lab["voucher"].remaining_fen == 5_000_000 - 8_000
    record_bank_transfer(invoice, lab["finance"], "BANK-4")
    db.session.flush()
    assert reversal.state == "redeemed"  # the provider is owed 80 CNY, not 160


def test_staff_operated_testing_and_non_local_rate(make, lab):
    anshan = make.organisation(region_code="2103", short_code="USTLV")
    invoice = _use(make, make.instrument(organisation=anshan), lab["sme"], mode="staff_operated")
    # 40% × 0.8 = 32% of 40,000 fen
    assert invoice.voucher_fen == 12_800


def test_related_party_gets_no_share(make, lab):
    db.session.add(OrganisationLink(enterprise_id=lab["sme"].organisation_id,
                                    institution_id=lab["owner"].id, kind="co_construction"))
    invoice = _use(make, lab["instrument"], lab["sme"])
    assert invoice.voucher_fen == 0 and db.session.scalar(select(Redemption)) is None


def test_share_is_capped_by_what_is_left_and_exhausts_the_voucher(make):
    owner = make.organisation(short_code="DLUTW")
    sme = make.user(organisation=make.enterprise())
    voucher = make.voucher(user=sme, amount_fen=10_000)
    invoice = _use(make, make.instrument(organisation=owner), sme)
    assert invoice.voucher_fen == 10_000 and invoice.amount_due_fen == 30_000
    assert voucher.state == "exhausted" and voucher.remaining_fen == 0
    void_invoice(invoice, make.user(role="finance", organisation=owner), "test")
    db.session.flush()
    assert voucher.state == "issued" and voucher.remaining_fen == 10_000


def test_per_application_cap(make, lab):
    # 8 h at 400 元/h = 320,000 fen → 128,000 fen at 40%: under the 2,000,000 fen cap.
    eight_hours = _use(make, lab["instrument"], lab["sme"], minutes=480)
    assert eight_hours.voucher_fen == 128_000
    pricey = make.instrument(organisation=lab["owner"], rates={"enterprise": 1_000_000})
    day = _use(make, pricey, lab["sme"], minutes=480, start=MONDAY_11_MAY_9AM + timedelta(days=1))
    assert day.voucher_fen == 2_000_000  # 8 h at 10,000 元/h × 40% = 32,000 元 → 20,000 元 cap


def test_month_close_deducts_for_voucher_holders_in_a_few_queries(make, lab):
    """The close asks the subsidies area once per batch: enterprises without a voucher cost no
    query of their own, so the number of statements does not grow with their invoices."""
    from sqlalchemy import event

    others = [make.user(organisation=make.enterprise()) for _ in range(20)]
    for n, user in enumerate([lab["sme"], *others]):
        make.usage_session(lab["instrument"], user, MONDAY_11_MAY_9AM + timedelta(hours=2 * n))
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with freeze_time("2026-06-01 02:00:00"):
            result = close_month("2026-05")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    invoices = db.session.scalars(select(Invoice).order_by(Invoice.id)).all()
    assert result.invoices == 21 and len(invoices) == 21
    deducted = [(i.customer_org_id, i.voucher_fen) for i in invoices if i.voucher_fen]
    assert deducted == [(lab["sme"].organisation_id, 16_000)]  # 40% of 400 元
    # what the close reports due is what its invoices ask, voucher shares deducted
    assert result.amount_fen == sum(i.amount_due_fen for i in invoices) \
        == sum(i.subtotal_fen for i in invoices) - 16_000
    assert db.session.scalar(select(Redemption.invoice_id)) == invoices[0].id
    # a constant number (31 with the inbox copy of the notices), not a query per invoice
    assert len(statements) < len(invoices) + 12


def test_voucher_pays_its_share_of_the_samples_as_testing(make, lab):
    """Samples lines (送样) are testing: the share covers the time and the samples."""
    instrument = make.instrument(organisation=lab["owner"], per_sample_fee_fen=10_000)
    booking = make.placed_booking(instrument, lab["sme"], MONDAY_11_MAY_9AM, mode="staff_operated",
                                  sample_count=5)
    with freeze_time(MONDAY_11_MAY_9AM):
        session = metering.check_in(booking, actor=lab["sme"], source="kiosk")
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(minutes=60)):
        metering.check_out(session, actor=lab["sme"])
    invoice = db.session.scalar(select(Invoice).join(InvoiceLine).where(
        InvoiceLine.booking_id == booking.id, InvoiceLine.kind == "samples"))
    # 1 h at 400 元/h + 5 samples at 100 元 = 90,000 fen; 40% = 36,000 fen
    assert (invoice.subtotal_fen, invoice.voucher_fen, invoice.amount_due_fen) == (
        90_000, 36_000, 54_000)



def test_december_use_closed_on_new_years_day_is_paid_by_the_lapsed_voucher(make, lab):
    """Reported: use made in December under a 2026 voucher, invoiced at the month close on
    1 January (after the daily job has expired the voucher), got no share, although the
    booking's quote had shown one. A voucher pays for service done while it held."""
    from booking.subsidies.services import expire_vouchers

    voucher = lab["voucher"]
    december = datetime(2026, 12, 30, 1, tzinfo=UTC)  # 09:00 on 30 December, Beijing time
    make.usage_session(lab["instrument"], lab["sme"], december)
    make.usage_session(lab["instrument"], lab["sme"], datetime(2027, 1, 4, 1, tzinfo=UTC))
    with freeze_time("2027-01-01 00:05:00"):
        assert expire_vouchers() == 1 and voucher.state == "expired"
    with freeze_time("2027-01-01 02:00:00"):
        close_month("2026-12")
    invoice = db.session.scalar(select(Invoice).where(Invoice.period == "2026-12"))
    assert (invoice.subtotal_fen, invoice.voucher_fen, invoice.amount_due_fen) == (
        40_000, 16_000, 24_000)
    db.session.expire_all()
    assert (voucher.state, voucher.used_fen) == ("expired", 16_000)  # lapsed: stays expired
    # January's use is not December's: the 2026 voucher pays nothing of it
    with freeze_time("2027-02-01 02:00:00"):
        close_month("2027-01")
    january = db.session.scalar(select(Invoice).where(Invoice.period == "2027-01"))
    assert (january.subtotal_fen, january.voucher_fen) == (40_000, 0)


def test_use_made_before_the_voucher_was_approved_gets_no_share(make):
    """The policy: a voucher is approved before the service is used."""
    owner = make.organisation(short_code="DLUTB")
    instrument, sme = make.instrument(organisation=owner), make.user(organisation=make.enterprise())
    make.usage_session(instrument, sme, MONDAY_11_MAY_9AM - timedelta(days=7))  # 4 May
    make.voucher(user=sme, amount_fen=5_000_000)  # approved on Sunday 10 May
    make.usage_session(instrument, sme, MONDAY_11_MAY_9AM)
    with freeze_time("2026-06-01 02:00:00"):
        close_month("2026-05")
    invoice = db.session.scalar(select(Invoice).where(Invoice.period == "2026-05"))
    assert (invoice.subtotal_fen, invoice.voucher_fen) == (80_000, 16_000)  # 11 May's hour only
