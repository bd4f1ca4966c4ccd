"""Payments: an internal account or grant code, a bank transfer finance staff saw arrive, and
cards through Stripe (a PaymentIntent per invoice; signed webhook events, each applied once)."""
from sqlalchemy import select

from booking.accounts.models import User
from booking.billing import notifications, rules, stripe_gateway
from booking.billing.invoicing import credit_note, credited_fen
from booking.billing.models import Invoice, Payment, ProcessedStripeEvent
from booking.billing.refusals import BillingRefused, PaymentUnavailable
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.db import id_in
from booking.core.problems import _l
from booking.extensions import db


def _mark_paid(invoice: Invoice, method: str, amount_fen: int, *, actor: User | None,
               external_id: str | None = None, reference: str = "", notify: bool = True
               ) -> Payment:
    rules.INVOICE_MOVES.check(invoice.state, "paid")
    payment = Payment(invoice=invoice, method=method, amount_fen=amount_fen,
                      external_id=external_id, reference=reference[:200],
                      recorded_by_id=actor.id if actor else None)
    db.session.add(payment)
    invoice.state, invoice.paid_at, invoice.payment_error = "paid", now_utc(), ""
    db.session.flush()
    audit.record("invoice.paid", actor=actor, obj=invoice, method=method, amount_fen=amount_fen,
                 external_id=external_id)
    if notify:  # the demo's history tells nobody
        notifications.notify_payment_recorded(payment)
    return payment


def _refuse_unless_payable(invoice: Invoice) -> None:
    if not invoice.is_payable:
        raise BillingRefused.one("not_payable", _l("This invoice is not open for payment."))


def record_bank_transfer(invoice: Invoice, actor: User, reference: str, notify: bool = True
                         ) -> Payment:
    """Finance staff saw the full amount arrive on the provider's account."""
    _refuse_unless_payable(invoice)
    return _mark_paid(invoice, "bank_transfer", invoice.amount_due_fen, actor=actor,
                      reference=reference, notify=notify)


def settle_internal(invoice: Invoice, actor: User, grant_code: str, notify: bool = True
                    ) -> Payment:
    """Internal customers settle against an internal account or grant code."""
    if invoice.customer_class != "internal":
        raise BillingRefused.one(
            "not_internal", _l("Only invoices of internal users settle against a grant code."))
    _refuse_unless_payable(invoice)
    if not grant_code.strip():
        raise BillingRefused.one("grant_required",
                                 _l("Enter the account or grant code to charge."))
    return _mark_paid(invoice, "internal", invoice.amount_due_fen, actor=actor,
                      reference=grant_code.strip(), notify=notify)


def payment_intent_for(invoice: Invoice, actor: User) -> tuple[str, str]:
    """(client_secret, publishable_key) of the invoice's PaymentIntent, reused while open."""
    if not stripe_gateway.enabled():
        raise PaymentUnavailable.one("stripe_disabled", _l("Card payment is not available."))
    _refuse_unless_payable(invoice)
    intent = stripe_gateway.open_intent(invoice.stripe_payment_intent_id, invoice.amount_due_fen)
    if intent is None:
        intent = stripe_gateway.create_intent(invoice.id, invoice.number, invoice.amount_due_fen)
        invoice.stripe_payment_intent_id = intent["id"]
        audit.record("invoice.payment_intent", actor=actor, obj=invoice,
                     payment_intent=intent["id"])
    return intent["client_secret"], stripe_gateway.publishable_key()


# --- Stripe webhooks -----------------------------------------------------------------------------
def already_processed(event_id: str) -> bool:
    return db.session.get(ProcessedStripeEvent, event_id) is not None


def handle_stripe_event(event: dict) -> str:
    """Apply a verified event exactly once; returns what happened. Raises BillingRefused
    (nothing changed) for an unknown invoice or an amount/currency mismatch."""
    if already_processed(event["id"]):
        return "duplicate"
    handler = _HANDLERS.get(event["type"])
    outcome = handler(event["data"]["object"]) if handler else "ignored"
    db.session.add(ProcessedStripeEvent(event_id=event["id"], type=event["type"][:64]))
    db.session.flush()
    return outcome


def _invoice_of_intent(intent: dict) -> Invoice:
    raw = str((intent.get("metadata") or {}).get("invoice_id", ""))
    number = id_in(raw)
    invoice = db.session.get(Invoice, number) if number is not None else None
    if invoice is None:
        raise BillingRefused.one("unknown_invoice", _l("No invoice %(invoice)s for %(intent)s."),
                                 invoice=repr(raw), intent=intent.get("id"))
    return invoice


def _on_succeeded(intent: dict) -> str:
    invoice = _invoice_of_intent(intent)
    if invoice.state == "paid" and any(p.external_id == intent["id"] for p in invoice.payments):
        return "already_paid"
    received = stripe_gateway.amount_received(intent)
    if not rules.payment_matches(invoice.amount_due_fen, received,
                                 str(intent.get("currency", ""))):
        raise BillingRefused.one(
            "amount_mismatch",
            _l("%(intent)s paid %(received)s %(currency)s for invoice %(number)s of %(due)s cny."),
            intent=intent["id"], received=received, currency=intent.get("currency"),
            number=invoice.number, due=invoice.amount_due_fen)
    if invoice.state != "issued":
        raise BillingRefused.one("not_payable", _l("Invoice %(number)s is %(state)s."),
                                 number=invoice.number, state=invoice.state)
    _mark_paid(invoice, "stripe", invoice.amount_due_fen, actor=None, external_id=intent["id"])
    return "paid"


def _on_failed(intent: dict) -> str:
    invoice = _invoice_of_intent(intent)
    error = intent.get("last_payment_error") or {}
    if invoice.state == "issued":
        invoice.payment_error = str(error.get("message") or "The payment failed.")[:500]
    audit.record("invoice.payment_failed", obj=invoice, payment_intent=intent["id"])
    return "failed"


def _on_refunded(charge: dict) -> str:
    invoice = db.session.scalar(select(Invoice).join(Payment).where(
        Payment.external_id == charge.get("payment_intent")))
    if invoice is None:
        raise BillingRefused.one("unknown_invoice", _l("No invoice paid by %(charge)s."),
                                 charge=charge.get("id"))
    delta = int(charge.get("amount_refunded") or 0) - credited_fen(invoice)
    if delta <= 0:
        return "already_credited"
    credit_note(invoice, delta, f"Card refund {charge.get('id')}", actor=None, settled=True)
    return "credited"


_HANDLERS = {"payment_intent.succeeded": _on_succeeded,
             "payment_intent.payment_failed": _on_failed,
             "charge.refunded": _on_refunded}
