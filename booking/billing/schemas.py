"""The invoices' JSON shapes: what the API and the invoice page's JSON endpoints answer (and
the OpenAPI document)."""
import marshmallow as ma

from booking.api.paging import PageArgs, page_schema


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
    outstanding_fen = ma.fields.Integer(metadata={
        "description": "what is still to pay: the amount due less payments and the credit "
                       "notes deducted from it (0 on credit notes)"})
    issued_at = ma.fields.DateTime(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True, metadata={"description": "none on credit notes"})
    paid_at = ma.fields.DateTime(allow_none=True)
    payment_error = ma.fields.String()
    lines = ma.fields.List(ma.fields.Nested(LineSchema))


InvoiceListSchema = page_schema(InvoiceSchema, "InvoiceListSchema")


class InvoiceListArgs(PageArgs):
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, 200))


class InvoiceStateSchema(ma.Schema):
    """What the invoice page polls while a card payment is confirmed."""

    state = ma.fields.String()
    payment_error = ma.fields.String()
    outstanding_fen = ma.fields.Integer()  # the page asks again when it changed


class PaymentIntentSchema(ma.Schema):
    client_secret = ma.fields.String()
    publishable_key = ma.fields.String()
    amount_fen = ma.fields.Integer(metadata={"description": "what the intent asks, in fen"})


class WebhookResultSchema(ma.Schema):
    received = ma.fields.Boolean()
    outcome = ma.fields.String()
