"""The only module that imports stripe. Everything else speaks plain dicts through it.

Configured from the app: STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET and
STRIPE_API_BASE (localstripe in tests). Without a secret key card payment is disabled and the
app works with bank transfers and internal accounts only.
"""
import marshmallow as ma
import stripe
from flask import current_app

from booking.core.db import MAX_BIGINT

CURRENCY = "cny"


class WebhookRejected(Exception):
    """The payload is not a correctly signed Stripe event."""


class MalformedEvent(Exception):
    """A correctly signed event without the fields we read, or with values out of range."""


def _text(**kwargs):
    return ma.fields.String(validate=ma.validate.Length(max=255), **kwargs)


def _fen(**kwargs):
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(0, MAX_BIGINT), **kwargs)


class _ObjectShape(ma.Schema):
    """The fields we read of an event's PaymentIntent or Charge (others pass through)."""

    class Meta:
        unknown = ma.INCLUDE

    id = _text(required=True)
    amount_received = _fen(allow_none=True)
    amount_refunded = _fen(allow_none=True)
    currency = _text(allow_none=True)
    payment_intent = _text(allow_none=True)
    metadata = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(allow_none=True))
    last_payment_error = ma.fields.Dict(allow_none=True)
    charges = ma.fields.Dict(allow_none=True)


class _DataShape(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    object = ma.fields.Nested(_ObjectShape, required=True)


class _EventShape(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    id = _text(required=True)
    type = _text(required=True)
    data = ma.fields.Nested(_DataShape, required=True)


_EVENT = _EventShape()


#: what a call to Stripe raises when it fails (network, refusal): callers name it from here
StripeError = stripe.StripeError


def enabled() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def publishable_key() -> str:
    return current_app.config.get("STRIPE_PUBLISHABLE_KEY", "")


def _client() -> stripe.StripeClient:
    config = current_app.config
    base = config.get("STRIPE_API_BASE") or stripe.DEFAULT_API_BASE
    return stripe.StripeClient(config["STRIPE_SECRET_KEY"], base_addresses={"api": base},
                               max_network_retries=1)


def create_intent(invoice_id: int, number: str, amount_fen: int) -> dict:
    intent = _client().v1.payment_intents.create(params={
        "amount": amount_fen, "currency": CURRENCY,
        "metadata": {"invoice_id": str(invoice_id), "invoice_number": number},
        "payment_method_types": _payment_method_types()})
    return {"id": intent.id, "client_secret": intent.client_secret}


def open_intent(intent_id: str | None, amount_fen: int) -> dict | None:
    """The existing PaymentIntent when it can still take this amount, else None."""
    if not intent_id:
        return None
    intent = _client().v1.payment_intents.retrieve(intent_id)
    if intent.status in ("succeeded", "canceled", "processing") or intent.amount != amount_fen:
        return None
    return {"id": intent.id, "client_secret": intent.client_secret}


def cancel_if_stale(intent_id: str, amount_fen: int) -> bool:
    """Cancel the PaymentIntent if it could still be paid and asks other than `amount_fen`
    (what the invoice now wants; 0 when nothing). True when it was cancelled."""
    client = _client()
    intent = client.v1.payment_intents.retrieve(intent_id)
    if intent.status in ("succeeded", "canceled", "processing") or intent.amount == amount_fen:
        return False
    client.v1.payment_intents.cancel(intent_id)
    return True


def _payment_method_types() -> list[str]:
    methods = current_app.config.get("STRIPE_PAYMENT_METHODS") or "card"
    return [m.strip() for m in methods.split(",") if m.strip()]


def construct_event(payload: bytes, signature: str) -> dict:
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET", "")
    if not secret:
        raise WebhookRejected("webhooks are not configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise WebhookRejected(str(exc)) from exc
    try:
        return _EVENT.load(event.to_dict())
    except ma.ValidationError as exc:
        raise MalformedEvent(str(exc.messages)[:300]) from exc


def amount_received(intent: dict) -> int:
    """Fen received on a PaymentIntent: `amount_received`; emulators that lack the field
    (localstripe) are read from the intent's succeeded, captured charges instead."""
    if intent.get("amount_received") is not None:
        return int(intent["amount_received"])
    charges = (intent.get("charges") or {}).get("data") or []
    return sum(int(c.get("amount") or 0) for c in charges
               if c.get("status") == "succeeded" and c.get("captured", True))
