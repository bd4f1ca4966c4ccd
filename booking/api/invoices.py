"""Invoice endpoints, card payment (Stripe PaymentIntents) and the Stripe webhook."""
from flask import current_app, request
from flask.views import MethodView

from booking.api import Blueprint, ErrorSchema
from booking.api.auth import SECURITY, api_user, token_required
from booking.api.paging import paged
from booking.billing import payments, reports, stripe_gateway
from booking.billing.models import Invoice
from booking.billing.refusals import BillingRefused
from booking.billing.schemas import (
    InvoiceListArgs,
    InvoiceListSchema,
    InvoiceSchema,
    PaymentIntentSchema,
    WebhookResultSchema,
)
from booking.core import audit
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db

blp = Blueprint("api_invoices", __name__, description="Invoices and payments")


def _invoice(invoice_id: int) -> Invoice:
    invoice = reports.issued_invoice(invoice_id)
    if invoice is None or not invoice.can_view(api_user()):
        api_abort(404, "not_found", "No such invoice.")
    return invoice


@blp.route("/invoices")
class Invoices(MethodView):
    decorators = [token_required]

    @blp.arguments(InvoiceListArgs, location="query")
    @blp.response(200, InvoiceListSchema)
    @blp.doc(security=SECURITY)
    def get(self, args):
        """Your invoices and credit notes, newest first."""
        return paged(reports.invoices_of(api_user()), args["page"], args["per_page"])


@blp.route("/invoices/<int:invoice_id>")
class InvoiceView(MethodView):
    decorators = [token_required]

    @blp.response(200, InvoiceSchema)
    @blp.doc(security=SECURITY)
    def get(self, invoice_id):
        return _invoice(invoice_id)


@blp.route("/invoices/<int:invoice_id>/payment-intent")
class InvoicePaymentIntent(MethodView):
    decorators = [token_required]

    @blp.response(200, PaymentIntentSchema)
    @blp.alt_response(403, description="an invoice you may see but not pay (the provider's)")
    @blp.alt_response(404, description="no such invoice, or not yours")
    @blp.alt_response(409, description="not open for payment")
    @blp.alt_response(503, schema=ErrorSchema,
                      description="card payment is not configured (stripe_disabled)")
    @blp.doc(security=SECURITY)
    def post(self, invoice_id):
        """A Stripe PaymentIntent (CNY, metadata.invoice_id) for paying with Stripe.js."""
        invoice = _invoice(invoice_id)  # 404 for what the caller may not see
        if not invoice.can_pay(api_user()):
            api_abort(403, "forbidden", "Only the invoice's customer can pay it.")
        secret, key = payments.payment_intent_for(invoice, api_user())
        commit()
        return {"client_secret": secret, "publishable_key": key,
                "amount_fen": invoice.outstanding_fen}


@blp.route("/stripe/webhook")
class StripeWebhook(MethodView):
    @blp.response(200, WebhookResultSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="bad signature (bad_signature), "
                      "an event without the fields we read (malformed_event), unknown invoice "
                      "or amount mismatch")
    def post(self):
        """Stripe events (signature-verified, each event id applied once)."""
        try:
            event = stripe_gateway.construct_event(request.get_data(),
                                                   request.headers.get("Stripe-Signature", ""))
        except stripe_gateway.WebhookRejected as exc:
            current_app.logger.warning("stripe webhook rejected: %s", exc)
            api_abort(400, "bad_signature", "The Stripe signature does not verify.")
        except stripe_gateway.MalformedEvent as exc:
            current_app.logger.warning("stripe event malformed: %s", exc)
            api_abort(400, "malformed_event", f"The event lacks fields we need: {exc}")
        try:
            outcome = payments.handle_stripe_event(event)
        except BillingRefused as exc:  # Stripe gets a 400, and the refusal is kept on record
            db.session.rollback()
            current_app.logger.warning("stripe event %s refused: %s", event.get("id"), exc)
            audit.record("stripe.event_refused", event_id=event.get("id"), code=exc.code,
                         message=str(exc)[:300])
            commit()
            api_abort(400, exc.code, str(exc))
        commit()
        return {"received": True, "outcome": outcome}
