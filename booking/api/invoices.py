"""Invoice endpoints, card payment (Stripe PaymentIntents) and the Stripe webhook."""
import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from booking.api import Blueprint, ErrorSchema
from booking.api.auth import SECURITY, api_user, token_required
from booking.api.fields import Page
from booking.billing import services, stripe_gateway
from booking.billing.models import Invoice
from booking.core import audit
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db

blp = Blueprint("api_invoices", __name__, description="Invoices and payments")


class LineSchema(ma.Schema):
    kind = ma.fields.String(metadata={
        "description": "usage, no_show, late_cancel, samples (送样: quantity = samples) or credit"})
    description = ma.fields.String()
    # a number in JSON (a Decimal would be written as a string); 2 decimal places
    quantity = ma.fields.Float(metadata={"description": "hours (usage) or samples (送样)"})
    minutes = ma.fields.Integer()
    unit_price_fen = ma.fields.Integer()
    amount_fen = ma.fields.Integer()
    booking_id = ma.fields.Integer(allow_none=True)
    usage_session_id = ma.fields.Integer(allow_none=True)


class InvoiceSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    state = ma.fields.String()
    provider_id = ma.fields.Integer()
    customer_org_id = ma.fields.Integer()
    customer_class = ma.fields.String()
    period = ma.fields.String(allow_none=True)
    credits_id = ma.fields.Integer(allow_none=True)
    subtotal_fen = ma.fields.Integer()
    voucher_fen = ma.fields.Integer()
    amount_due_fen = ma.fields.Integer()
    issued_at = ma.fields.DateTime(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True, metadata={"description": "none on credit notes"})
    paid_at = ma.fields.DateTime(allow_none=True)
    payment_error = ma.fields.String()
    lines = ma.fields.List(ma.fields.Nested(LineSchema))


class InvoiceListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(InvoiceSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


class PageArgs(ma.Schema):
    page = Page()
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, 200))


class PaymentIntentSchema(ma.Schema):
    client_secret = ma.fields.String()
    publishable_key = ma.fields.String()


class WebhookResultSchema(ma.Schema):
    received = ma.fields.Boolean()
    outcome = ma.fields.String()


def _invoice(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.state == "draft" or not invoice.can_view(api_user()):
        api_abort(404, "not_found", "No such invoice.")
    return invoice


@blp.route("/invoices")
class Invoices(MethodView):
    decorators = [token_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, InvoiceListSchema)
    @blp.doc(security=SECURITY)
    def get(self, args):
        """Your invoices and credit notes, newest first."""
        items, total = services.invoices_of(api_user(), args["page"], args["per_page"])
        return {"items": items, "total": total, **args}


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
    @blp.alt_response(403, description="not your invoice")
    @blp.alt_response(409, description="not open for payment")
    @blp.alt_response(503, schema=ErrorSchema,
                      description="card payment is not configured (stripe_disabled)")
    @blp.doc(security=SECURITY)
    def post(self, invoice_id):
        """A Stripe PaymentIntent (CNY, metadata.invoice_id) for paying with Stripe.js."""
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is None or invoice.state == "draft":
            api_abort(404, "not_found", "No such invoice.")
        if not invoice.can_pay(api_user()):
            api_abort(403, "forbidden", "Only the invoice's customer can pay it.")
        try:
            secret, key = services.payment_intent_for(invoice, api_user())
        except services.BillingRefused as exc:
            api_abort(409 if exc.code == "not_payable" else 503, exc.code, str(exc))
        commit()
        return {"client_secret": secret, "publishable_key": key}


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
            outcome = services.handle_stripe_event(event)
        except services.BillingRefused as exc:
            db.session.rollback()
            current_app.logger.warning("stripe event %s refused: %s", event.get("id"), exc)
            audit.record("stripe.event_refused", event_id=event.get("id"), code=exc.code,
                         message=str(exc)[:300])
            commit()
            api_abort(400, exc.code, str(exc))
        commit()
        return {"received": True, "outcome": outcome}

