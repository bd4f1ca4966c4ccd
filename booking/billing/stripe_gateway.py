"""The only module that imports stripe. Everything else speaks plain dicts through it.

Configured from the app: STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET and
STRIPE_API_BASE (localstripe in tests). Without a secret key card payment is disabled and the
app works with bank transfers and internal accounts only.
"""
import stripe
from flask import current_app

CURRENCY = "cny"


class WebhookRejected(Exception):
    """The payload is not a correctly signed Stripe event."""


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
    return event.to_dict()


def amount_received(intent: dict) -> int:
    """Fen received on a PaymentIntent: `amount_received`; emulators that lack the field
    (localstripe) are read from the intent's succeeded, captured charges instead."""
    if intent.get("amount_received") is not None:
        return int(intent["amount_received"])
    charges = (intent.get("charges") or {}).get("data") or []
    return sum(int(c.get("amount") or 0) for c in charges
               if c.get("status") == "succeeded" and c.get("captured", True))
