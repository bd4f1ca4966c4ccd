"""The quote (form and API) shows the voucher share an SME's voucher would pay."""
from datetime import timedelta

from freezegun import freeze_time

from booking.billing.pricing import quote_booking
from booking.core.db import utc
from tests.moments import MONDAY_2_MAR_9AM


@freeze_time(MONDAY_2_MAR_9AM)
def test_sme_quote_includes_voucher_share_and_large_firm_does_not(make, client, api_token):
    from booking.accounts.models import User
    from booking.extensions import db

    voucher = make.voucher(amount_fen=5_000_000)
    sme_user = db.session.get(User, voucher.applicant_id)
    university = make.organisation(kind="university")
    instrument = make.instrument(organisation=university)
    start = utc(2026, 3, 3, 1)  # Tuesday 09:00 in Shanghai
    end = start + timedelta(hours=2)

    quote = quote_booking(instrument, sme_user, start, end)
    assert quote.customer_class == "enterprise" and quote.fee_fen == 80_000
    assert quote.voucher_fen == 32_000  # science-based SME class: 40 %
    assert quote.payable_fen == 48_000

    response = client.get(f"/api/v1/instruments/{instrument.id}/quote",
                          query_string={"start": start.isoformat(), "end": end.isoformat()},
                          headers=api_token(sme_user))
    assert response.get_json()["voucher_fen"] == 32_000

    big = make.user(organisation=make.enterprise(sme_certified=False, staff_count=6800,
                                                 annual_revenue_fen=10**12))
    assert quote_booking(instrument, big, start, end).voucher_fen == 0


@freeze_time(MONDAY_2_MAR_9AM)
def test_staff_operated_quote_shares_the_samples_too(make):
    from booking.accounts.models import User
    from booking.extensions import db

    voucher = make.voucher(amount_fen=5_000_000)
    sme_user = db.session.get(User, voucher.applicant_id)
    anshan = make.organisation(kind="university", region_code="2103")  # outside Dalian
    instrument = make.instrument(organisation=anshan, per_sample_fee_fen=10_000)
    start = utc(2026, 3, 3, 1)
    quote = quote_booking(instrument, sme_user, start, start + timedelta(hours=1),
                          mode="staff_operated", samples=5)
    # 1 h at 400 元/h + 5 samples at 100 元 = 90,000 fen; the voucher pays 40 % × 0.8 of all
    assert (quote.fee_fen, quote.samples_fee_fen, quote.voucher_fen, quote.payable_fen) == (
        90_000, 50_000, 28_800, 61_200)


@freeze_time(MONDAY_2_MAR_9AM)
def test_the_form_shows_the_time_fee_and_the_vouchers_lower_share_and_why(make, client,
                                                                          login):
    """Reported: a staff-operated quote gave the samples' fee and a total, never the time's
    (¥1,200 of ¥1,800); the voucher paid 32 % at an Anshan provider, 40 % said the voucher
    page, and nothing said why."""
    from booking.accounts.models import User
    from booking.extensions import db

    voucher = make.voucher(amount_fen=5_000_000)
    sme_user = db.session.get(User, voucher.applicant_id)
    anshan = make.organisation(kind="university", region_code="2103")
    instrument = make.instrument(organisation=anshan, per_sample_fee_fen=10_000)
    db.session.commit()
    login(sme_user)
    quote = client.get(f"/instruments/{instrument.id}/quote.json?start=2026-03-03T09:00"
                       "&end=2026-03-03T10:00&mode=staff_operated&samples=5").get_json()
    assert (quote["time_fee"], quote["samples_fee"], quote["fee"]) == (
        "¥400.00", "¥500.00", "¥900.00")
    assert quote["voucher_percent"] == 32
    page = client.get("/vouchers/").get_data(as_text=True)
    assert 'id="non-local-rate"' in page and "在大连以外的服务机构使用时" in page and "80%" in page


@freeze_time("2026-12-06 08:00:00")
def test_a_voucher_does_not_promise_a_share_of_a_service_after_it_lapses(make):
    """Reported: a booking on 12 January showed a voucher share from a voucher valid to the
    end of December, which the invoice could never apply."""
    from booking.accounts.models import User
    from booking.extensions import db

    voucher = make.voucher(amount_fen=5_000_000)
    sme_user = db.session.get(User, voucher.applicant_id)
    instrument = make.instrument(organisation=make.organisation(kind="university"))
    december = utc(2026, 12, 29, 1)
    assert voucher.last_valid_day.isoformat() == "2026-12-31"
    assert quote_booking(instrument, sme_user, december,
                         december + timedelta(hours=2)).voucher_fen == 32_000
    january = utc(2027, 1, 12, 1)
    quote = quote_booking(instrument, sme_user, january, january + timedelta(hours=2))
    assert quote.voucher_fen == 0 and quote.payable_fen == quote.fee_fen


def test_the_voucher_page_says_when_outside_providers_are_not_paid_at_all(app):
    from booking.subsidies.routes import _non_local_rate

    with app.test_request_context():
        none = _non_local_rate({"services": {"non_local_provider_factor": "0"},
                                "region_code": "2102"})
        assert none["none"] and none["region"] == "大连"
        assert _non_local_rate({"services": {"non_local_provider_factor": "0.8"},
                                "region_code": ""}) is None  # every provider is local
        assert _non_local_rate({"services": {"non_local_provider_factor": "1"},
                                "region_code": "2102"}) is None
