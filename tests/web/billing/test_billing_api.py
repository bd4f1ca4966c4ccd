"""Invoice API, PaymentIntents against localstripe, and the Stripe webhook."""
from datetime import timedelta

import pytest
import stripe
from freezegun import freeze_time
from sqlalchemy import func, select

from booking.billing.models import Invoice, Payment, ProcessedStripeEvent
from booking.extensions import db
from booking.metering import services as metering
from tests.moments import MONDAY_2_MAR_9AM
from tests.web.billing.stripe_helpers import (  # noqa: F401 - fixture
    intent_event,
    localstripe,
    signed,
    stripe_config,
)

WEBHOOK = "/api/v1/stripe/webhook"


@pytest.fixture
def stripe_on(app, monkeypatch, localstripe):  # noqa: F811
    for key, value in stripe_config(localstripe).items():
        monkeypatch.setitem(app.config, key, value)
    return localstripe


@pytest.fixture
def webhooks_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", "whsec_test_secret")


@pytest.fixture
def sold(make):
    """An SME user's completed booking, invoiced at check-out: 40,000 fen due."""
    owner = make.organisation(short_code="DLUTA")
    instrument = make.instrument(organisation=owner)
    customer = make.user(organisation=make.organisation(kind="enterprise"))
    booking = make.placed_booking(instrument, customer, MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM):
        session = metering.check_in(booking, actor=customer, source="kiosk")
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=50)):
        metering.check_out(session, actor=customer)
    db.session.commit()
    invoice = db.session.scalar(select(Invoice).where(Invoice.customer_user_id == customer.id))
    return {"invoice": invoice, "customer": customer, "owner": owner,
            "finance": make.user(role="finance", organisation=owner)}


def test_list_and_get_invoice_shapes(client, api_token, sold):
    headers = api_token(sold["customer"])
    listing = client.get("/api/v1/invoices", headers=headers).get_json()
    assert listing["total"] == 1 and listing["page"] == 1 and "per_page" in listing
    body = client.get(f"/api/v1/invoices/{sold['invoice'].id}", headers=headers).get_json()
    assert {"id", "number", "state", "subtotal_fen", "voucher_fen", "amount_due_fen",
            "lines"} <= set(body)
    assert body["amount_due_fen"] == 40_000 and body["state"] == "issued"
    assert set(body["lines"][0]) >= {"description", "quantity", "unit_price_fen", "amount_fen"}


def test_other_users_do_not_see_the_invoice(client, api_token, make, sold):
    stranger = api_token(make.user())
    hidden = client.get(f"/api/v1/invoices/{sold['invoice'].id}", headers=stranger)
    assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "not_found"
    assert sold["invoice"].number not in hidden.get_data(as_text=True)
    assert client.get("/api/v1/invoices", headers=stranger).get_json()["total"] == 0
    assert client.get("/api/v1/invoices").status_code == 401


def test_paying_an_invoice_that_is_not_yours_is_refused(client, api_token, make, sold,
                                                          stripe_on):
    response = client.post(f"/api/v1/invoices/{sold['invoice'].id}/payment-intent",
                           headers=api_token(make.user()))
    assert response.status_code == 404  # a stranger is not told the invoice exists
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.post(f"/api/v1/invoices/{sold['invoice'].id}/payment-intent",
                           headers=api_token(sold["finance"]))
    assert response.status_code == 403
    db.session.expire_all()  # no PaymentIntent was opened for either
    assert (sold["invoice"].state, sold["invoice"].stripe_payment_intent_id) == ("issued", None)


def test_payment_intent_without_stripe_keys_is_a_clear_error(client, api_token, sold):
    response = client.post(f"/api/v1/invoices/{sold['invoice'].id}/payment-intent",
                           headers=api_token(sold["customer"]))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "stripe_disabled"


def test_payment_intent_on_localstripe_is_reused(client, api_token, sold, stripe_on):
    headers = api_token(sold["customer"])
    url = f"/api/v1/invoices/{sold['invoice'].id}/payment-intent"
    first = client.post(url, headers=headers).get_json()
    assert first["publishable_key"] == "pk_test_local" and first["amount_fen"] == 40_000
    assert client.post(url, headers=headers).get_json()["client_secret"] == \
        first["client_secret"]
    intent = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": stripe_on}
                                 ).v1.payment_intents.retrieve(
        sold["invoice"].stripe_payment_intent_id)
    assert (intent.amount, intent.currency, intent.metadata["invoice_id"]) == \
        (40_000, "cny", str(sold["invoice"].id))


def test_paid_invoice_takes_no_new_intent(client, api_token, sold, stripe_on):
    from booking.billing import payments

    payments.record_bank_transfer(sold["invoice"], sold["finance"], "BOC-1")
    db.session.commit()
    response = client.post(f"/api/v1/invoices/{sold['invoice'].id}/payment-intent",
                           headers=api_token(sold["customer"]))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_payable"


def _post(client, event, **kwargs):
    body, headers = signed(event, **kwargs)
    return client.post(WEBHOOK, data=body, headers=headers)


def test_webhook_marks_paid_exactly_once(client, sold, webhooks_on):
    event = intent_event("evt_1", sold["invoice"].id, 40_000)
    first = _post(client, event)
    assert first.status_code == 200 and first.get_json()["outcome"] == "paid"
    replay = _post(client, event)
    assert replay.status_code == 200 and replay.get_json()["outcome"] == "duplicate"
    again = _post(client, {**event, "id": "evt_2"})  # same intent, new event id
    assert again.get_json()["outcome"] == "already_paid"
    assert sold["invoice"].state == "paid"
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_webhook_with_forged_signature_changes_nothing(client, sold, webhooks_on):
    response = _post(client, intent_event("evt_f", sold["invoice"].id, 40_000),
                     secret="whsec_forged")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_signature"
    body, headers = signed(intent_event("evt_o", sold["invoice"].id, 40_000), at=1_000_000)
    assert client.post(WEBHOOK, data=body, headers=headers).status_code == 400  # too old
    assert client.post(WEBHOOK, data=b"{}").status_code == 400  # unsigned
    assert sold["invoice"].state == "issued"


@pytest.mark.parametrize("amount,currency", [(39_999, "cny"), (40_000, "usd")])
def test_webhook_amount_or_currency_mismatch_is_refused(client, sold, webhooks_on, amount,
                                                        currency):
    response = _post(client, intent_event("evt_m", sold["invoice"].id, amount, currency))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "amount_mismatch"
    db.session.expire_all()
    assert sold["invoice"].state == "issued"
    assert db.session.get(ProcessedStripeEvent, "evt_m") is None


def test_webhook_for_unknown_invoice_is_refused(client, sold, webhooks_on):
    response = _post(client, intent_event("evt_u", 987_654, 40_000))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "unknown_invoice"


def test_webhook_payment_failed_is_shown(client, sold, webhooks_on, login):
    response = _post(client, intent_event("evt_x", sold["invoice"].id, 40_000,
                                          kind="payment_intent.payment_failed"))
    assert response.get_json()["outcome"] == "failed"
    assert sold["invoice"].payment_error == "Your card was declined."
    login(sold["customer"])
    page = client.get(f"/invoices/{sold['invoice'].id}").get_data(as_text=True)
    assert "Your card was declined." in page


def test_refund_webhook_creates_a_credit_note(client, sold, webhooks_on):
    _post(client, intent_event("evt_p", sold["invoice"].id, 40_000))
    refund = {"id": "evt_r", "object": "event", "type": "charge.refunded",
              "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": "pi_test_1",
                                  "amount": 40_000, "amount_refunded": 15_000,
                                  "currency": "cny"}}}
    assert _post(client, refund).get_json()["outcome"] == "credited"
    assert _post(client, {**refund, "id": "evt_r2"}).get_json()["outcome"] == "already_credited"
    note = db.session.scalar(select(Invoice).where(Invoice.credits_id == sold["invoice"].id))
    assert note.kind == "credit_note" and note.amount_due_fen == 15_000 and note.state == "paid"


def test_a_card_pays_what_a_credit_note_left_and_its_refund_is_all_it_paid(client, sold,
                                                                          webhooks_on, api_token):
    """A credit note deducted while the invoice was open lowers what the card pays; a refund
    of that card payment is then credited in full (the deduction gave no card money back)."""
    from booking.billing.invoicing import credit_note

    credit_note(sold["invoice"], 10_000, "discount", sold["finance"])
    db.session.commit()
    assert _post(client, intent_event("evt_full", sold["invoice"].id, 40_000)).status_code == 400
    body = client.get(f"/api/v1/invoices/{sold['invoice'].id}",
                      headers=api_token(sold["customer"])).get_json()
    assert body["outstanding_fen"] == 30_000
    assert _post(client, intent_event("evt_p", sold["invoice"].id, 30_000)).get_json()[
        "outcome"] == "paid"
    refund = {"id": "evt_r", "object": "event", "type": "charge.refunded",
              "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": "pi_test_1",
                                  "amount": 30_000, "amount_refunded": 30_000,
                                  "currency": "cny"}}}
    assert _post(client, refund).get_json()["outcome"] == "credited"
    notes = db.session.scalars(select(Invoice.amount_due_fen).where(
        Invoice.credits_id == sold["invoice"].id).order_by(Invoice.id)).all()
    assert notes == [10_000, 30_000]


def test_openapi_documents_billing_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/invoices", "/api/v1/invoices/{invoice_id}",
                 "/api/v1/invoices/{invoice_id}/payment-intent", "/api/v1/stripe/webhook",
                 "/api/v1/usage", "/api/v1/bookings/{booking_id}/check-in",
                 "/api/v1/bookings/{booking_id}/check-out"):
        assert path in paths, path


def test_webhook_reads_charges_when_amount_received_is_missing(client, sold, webhooks_on):
    event = intent_event("evt_c", sold["invoice"].id, 40_000)
    intent = event["data"]["object"]
    del intent["amount_received"]
    intent["charges"] = {"data": [{"amount": 40_000, "status": "succeeded", "captured": True}]}
    assert _post(client, event).get_json()["outcome"] == "paid"


def test_an_intent_for_the_old_amount_is_cancelled_when_a_credit_note_lowers_it(
        client, login, api_token, sold, stripe_on):
    """Reported: a payment page left open kept a PaymentIntent for the whole amount after a
    credit note was deducted; paying it charged the card, and the webhook refused the
    mismatch. Now finance's change cancels it; the page asks a new one for what is left."""
    url = f"/api/v1/invoices/{sold['invoice'].id}/payment-intent"
    client.post(url, headers=api_token(sold["customer"]))
    old_id = sold["invoice"].stripe_payment_intent_id
    login(sold["finance"])
    assert client.post(f"/invoices/{sold['invoice'].id}/credit",
                       data={"amount": "100", "reason": "一个样品未测"}).status_code == 302
    stripe_api = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": stripe_on})
    assert stripe_api.v1.payment_intents.retrieve(old_id).status == "canceled"
    db.session.refresh(sold["invoice"])
    assert sold["invoice"].stripe_payment_intent_id is None
    client.post(url, headers=api_token(sold["customer"]))
    new = stripe_api.v1.payment_intents.retrieve(sold["invoice"].stripe_payment_intent_id)
    assert new.id != old_id and new.amount == 30_000  # what is left to pay


def test_a_stripe_outage_leaves_the_change_made(client, login, api_token, sold, stripe_on,
                                                monkeypatch):
    from booking.billing import stripe_gateway

    client.post(f"/api/v1/invoices/{sold['invoice'].id}/payment-intent",
                headers=api_token(sold["customer"]))

    def unreachable(*_args):
        raise stripe_gateway.StripeError("no route to host")

    monkeypatch.setattr(stripe_gateway, "cancel_if_stale", unreachable)
    login(sold["finance"])
    response = client.post(f"/invoices/{sold['invoice'].id}/credit",
                           data={"amount": "100", "reason": "一个样品未测"})
    assert response.status_code == 302  # the credit note stands; the webhook still guards
    db.session.refresh(sold["invoice"])
    assert sold["invoice"].outstanding_fen == 30_000
    assert sold["invoice"].stripe_payment_intent_id is not None


def test_stripe_unreachable_asks_to_pay_later_or_by_transfer(client, login, api_token, sold,
                                                             stripe_on, monkeypatch):
    """Stripe down made the pay button's request a 500."""
    from booking.billing import stripe_gateway

    def unreachable(*_args):
        raise stripe_gateway.StripeError("no route to host")

    monkeypatch.setattr(stripe_gateway, "create_intent", unreachable)
    response = client.post(f"/api/v1/invoices/{sold['invoice'].id}/payment-intent",
                           headers=api_token(sold["customer"]))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "stripe_failed"
    login(sold["customer"])
    page = client.post(f"/invoices/{sold['invoice'].id}/payment-intent",
                       headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 409 and "银行转账" in page.get_json()["error"]["message"]
    assert sold["invoice"].stripe_payment_intent_id is None
