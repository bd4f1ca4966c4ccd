"""Payments: an internal transfer from a project account (经费卡), bank transfers finance staff
saw arrive (in part, in full, or more: the excess is a balance carried), and cards through
Stripe (a PaymentIntent per invoice; signed webhook events, each applied once)."""
from datetime import date, datetime
from typing import NamedTuple

from flask import current_app
from sqlalchemy import Column, Integer, MetaData, Table, select, update

from booking.accounts.models import User
from booking.billing import notifications, rules, stripe_gateway
from booking.billing.invoicing import charged_on, credit_note, credited_fen, settle_if_covered
from booking.billing.models import Invoice, Payment, ProcessedStripeEvent
from booking.billing.refusals import BillingRefused, PaymentUnavailable
from booking.billing.signals import invoices_settled
from booking.core import audit
from booking.core.clock import local_today, now_utc, to_local
from booking.core.db import UTCDateTime, bulk_insert, id_in
from booking.core.money import format_cny
from booking.core.problems import Problem, _l
from booking.extensions import db
from booking.groups import services as groups
from booking.groups.models import Project


def _mark_paid(invoice: Invoice, method: str, amount_fen: int, *, actor: User | None,
               external_id: str | None = None, reference: str = "", notify: bool = True,
               received_on: date | None = None, project_id: int | None = None) -> Payment:
    """Record a payment; the invoice turns paid once its payments cover the amount due."""
    rules.INVOICE_MOVES.check(invoice.state, "paid")
    payment = Payment(invoice=invoice, method=method, amount_fen=amount_fen,
                      external_id=external_id, reference=reference[:200],
                      recorded_by_id=actor.id if actor else None,
                      received_on=received_on or local_today(), project_id=project_id)
    db.session.add(payment)
    invoice.payment_error = ""
    db.session.flush()
    settle_if_covered(invoice)
    audit.record("invoice.paid" if invoice.state == "paid" else "invoice.part_paid",
                 actor=actor, obj=invoice, method=method, amount_fen=amount_fen,
                 external_id=external_id, outstanding_fen=invoice.outstanding_fen)
    if notify:  # the demo's history tells nobody
        notifications.notify_payment_recorded(payment)
    return payment


def _refuse_unless_payable(invoice: Invoice) -> None:
    if not invoice.is_payable:
        raise BillingRefused.one("not_payable", _l("This invoice is not open for payment."))


def _refuse_unless_dated_within(document: Invoice, day: date | None) -> None:
    """Money moves between the day a document was issued and today (1999-01-01 was taken)."""
    if day is None:
        return
    if day > local_today():
        raise BillingRefused.one("future_date", _l("The payment date cannot be in the future."))
    issued = to_local(document.issued_at).date()
    if day < issued:
        raise BillingRefused.one("before_issue", _l(
            "The payment date cannot be before %(number)s was issued (%(date)s)."),
            number=document.number, date=issued.isoformat())


def record_bank_transfer(invoice: Invoice, actor: User, reference: str,
                         amount_fen: int | None = None, received_on: date | None = None,
                         notify: bool = True, overpay: bool = False) -> Payment:
    """Finance staff saw `amount_fen` (default: what is outstanding) arrive on the provider's
    account on `received_on`. Less than outstanding leaves the rest open; more is a balance
    carried in the customer's favour, once finance confirms it (`overpay`: a zero typed too
    many is not a balance)."""
    _refuse_unless_payable(invoice)
    amount = invoice.outstanding_fen if amount_fen is None else amount_fen
    if amount <= 0:
        raise BillingRefused.one("amount_required", _l("Enter the amount received."))
    _refuse_unless_dated_within(invoice, received_on)
    if amount > invoice.outstanding_fen and not overpay:
        raise BillingRefused.one(
            "overpayment_unconfirmed", _l("%(amount)s is more than the %(due)s outstanding: "
                                          "confirm it below, or correct the amount."),
            amount=format_cny(amount), due=format_cny(invoice.outstanding_fen))
    if reference.strip() and any(p.reference == reference[:200] for p in invoice.payments):
        raise BillingRefused.one("reference_recorded", _l(
            "A payment with the bank reference %(reference)s is already recorded on this "
            "invoice."), reference=reference)
    return _mark_paid(invoice, "bank_transfer", amount, actor=actor, reference=reference,
                      notify=notify, received_on=received_on)


def record_refund(note: Invoice, actor: User, reference: str, refunded_on: date) -> Payment:
    """Finance paid a credit note's amount back to the customer (by bank transfer) on
    `refunded_on` (what was not deducted from its invoice): the note is settled and no longer
    counts as owed to the customer."""
    if not (note.is_credit_note and note.state == "issued"):
        raise BillingRefused.one("not_refundable",
                                 _l("Only a credit note still to refund can be refunded."))
    _refuse_unless_dated_within(note, refunded_on)
    return _mark_paid(note, "bank_transfer", note.to_refund_fen, actor=actor,
                      reference=reference, notify=False, received_on=refunded_on)


def refund_overpayment(invoice: Invoice, actor: User, reference: str, refunded_on: date
                       ) -> Payment:
    """Finance paid back (by bank transfer, on `refunded_on`) what a customer paid beyond an
    invoice: a negative payment of it, so the invoice is paid exactly and the customer's
    balance carried with the provider is gone."""
    overpaid = invoice.overpaid_fen
    if overpaid <= 0:
        raise BillingRefused.one("not_overpaid",
                                 _l("Nothing was paid beyond this invoice: there is nothing "
                                    "to refund."))
    _refuse_unless_dated_within(invoice, refunded_on)
    received = max(p.received_on for p in invoice.payments if p.received_on)
    if refunded_on < received:
        raise BillingRefused.one("before_payment", _l(
            "The refund cannot be dated before the payment it refunds (%(date)s)."),
            date=received.isoformat())
    payment = Payment(invoice=invoice, method="refund", amount_fen=-overpaid,
                      reference=reference[:200], recorded_by_id=actor.id,
                      received_on=refunded_on)
    db.session.add(payment)
    db.session.flush()
    audit.record("invoice.overpayment_refunded", actor=actor, obj=invoice, amount_fen=overpaid,
                 reference=reference[:200])
    return payment


def settle_internal(invoice: Invoice, actor: User, project: Project | None,
                    notify: bool = True) -> Payment:
    """An internal customer's invoice settled by internal transfer from a project account
    (经费卡): the invoice's own project, or one its customer may charge."""
    if invoice.customer_class != "internal":
        raise BillingRefused.one(
            "not_internal", _l("Only invoices of internal users settle by internal transfer."))
    _refuse_unless_payable(invoice)
    project = invoice.project or project
    customer = invoice.customer_user
    if project is None or customer is None or not project.can_charge(customer):
        raise BillingRefused.one("project_required", _l(
            "Choose a project account of the customer to charge."))
    if invoice.project_id is None:  # charged now (an invoice to a project was at issue)
        _check_project_charge(invoice, project, customer, actor)
        groups.charge(project.id, invoice_id=invoice.id, amount_fen=invoice.outstanding_fen,
                      booking_ids=[], description=invoice.number or "", **charged_on(invoice))
    return _mark_paid(invoice, "internal", invoice.outstanding_fen, actor=actor,
                      reference=project.number, notify=notify, project_id=project.id)


def _check_project_charge(invoice: Invoice, project: Project, customer: User, actor: User
                          ) -> None:
    problems = settlement_problems(invoice, project, customer, actor, lock=True)
    if problems:
        raise BillingRefused(problems)


def projects_to_settle_from(invoice: Invoice, actor: User
                            ) -> tuple[list[Project], list[tuple[Project, list[Problem]]]]:
    """The project accounts (经费卡) `actor` may settle the invoice from, and those they may
    not, with why: the invoice's own project when it names one; else the customer's, which
    the customer is offered only when the project's rules let them settle alone (the
    provider's finance office is offered them all and told why at settling)."""
    if invoice.project is not None:
        return [invoice.project], []
    if invoice.customer_user is None:
        return [], []
    projects = groups.chargeable_projects(invoice.customer_user)
    if invoice.can_manage(actor):
        return projects, []
    problems = {p.id: settlement_problems(invoice, p, invoice.customer_user, actor)
                for p in projects}
    return ([p for p in projects if not problems[p.id]],
            [(p, problems[p.id]) for p in projects if problems[p.id]])


def settlement_problems(invoice: Invoice, project: Project, customer: User, actor: User, *,
                        lock: bool = False) -> list[Problem]:
    """Why `actor` may not settle the invoice from `project` (none: they may). The project's
    rules hold as when booking: its budget, limits and validity for anyone; where the group
    wants its PI to approve the fee, the customer cannot settle it alone (the provider's
    finance office does, on the PI's word, as for a paper transfer form). `lock`: with the
    project's row locked until commit, to charge it."""
    line = invoice.lines[0] if invoice.lines else None
    check = groups.check_charge if lock else groups.assess_charge
    charge = check(project, customer, instrument_id=line.instrument_id if line else None,
                   category=line.instrument.category or "" if line and line.instrument else "",
                   fee_fen=invoice.outstanding_fen, day=local_today())
    problems = list(charge.problems)
    if not problems and charge.to_pi and not invoice.can_manage(actor):
        problems.append(Problem("pi_approval_required", _l(
            "This charge needs the approval of the project's PI: the finance office settles "
            "it once the PI agrees.")))
    return problems


class Settlement(NamedTuple):
    """An issued invoice paid in full by a bulk settlement."""

    invoice_id: int
    amount_fen: int  # what was outstanding
    method: str  # bank_transfer or internal
    reference: str
    recorded_by_id: int | None
    project_id: int | None = None  # internal: the project account (经费卡) charged
    paid_at: datetime | None = None  # when the money came (the demo's history); None: now


def settle_in_full(settlements: list[Settlement]) -> int:
    """Many issued invoices paid in full at once, set-based (the demo's year of history): a
    payment each, the invoices paid when their money came, an audit event each, and
    `invoices_settled` sent so that vouchers' shares are redeemed. Project accounts are not
    charged here: an internal settlement in bulk is of invoices already charged to their
    project at issue. Returns how many invoices turned paid (those no longer issued are left
    alone)."""
    now = now_utc()
    payable = _paid_in_bulk(settlements, now) if settlements else set()
    settled = [s for s in settlements if s.invoice_id in payable]
    received_on = {t: local_today(t) for t in {s.paid_at or now for s in settled}}
    bulk_insert(db.session, Payment.__table__, (
        {"invoice_id": s.invoice_id, "method": s.method, "amount_fen": s.amount_fen,
         "reference": s.reference[:200], "recorded_by_id": s.recorded_by_id,
         "project_id": s.project_id, "received_on": received_on[s.paid_at or now],
         "created_at": s.paid_at or now}
        for s in settled))
    audit.record_bulk("invoice.paid", "Invoice", (
        (s.invoice_id, s.recorded_by_id,
         {"method": s.method, "amount_fen": s.amount_fen, "outstanding_fen": 0})
        for s in settled))
    if settled:
        invoices_settled.send([s.invoice_id for s in settled])
    return len(settled)


def _paid_in_bulk(settlements: list[Settlement], now: datetime) -> set[int]:
    """The issued invoices among them paid, each at its own time, in one UPDATE joined to a
    temporary table of (invoice, time) loaded in bulk (COPY on PostgreSQL): each page of the
    invoices is written once. (Grouped by payment day, a province's year of pages was written
    again for every day someone paid: 40 % slower.) Returns the ids of those it paid."""
    paid = Table("paid_invoices", MetaData(), Column("id", Integer, primary_key=True),
                 Column("paid_at", UTCDateTime, nullable=False), prefixes=["TEMPORARY"])
    connection = db.session.connection()
    paid.create(connection)
    try:
        bulk_insert(db.session, paid, ({"id": s.invoice_id, "paid_at": s.paid_at or now}
                                       for s in settlements))
        return set(db.session.scalars(update(Invoice).where(
            Invoice.id == paid.c.id, Invoice.state == "issued", Invoice.kind == "invoice")
            .values(state="paid", paid_at=paid.c.paid_at, payment_error="")
            .returning(Invoice.id), execution_options={"synchronize_session": False}))
    finally:
        paid.drop(connection)


def payment_intent_for(invoice: Invoice, actor: User) -> tuple[str, str]:
    """(client_secret, publishable_key) of the invoice's PaymentIntent, reused while open; it
    asks invoice.outstanding_fen."""
    _refuse_unless_payable(invoice)  # a paid invoice is paid, whether or not cards are on
    if not stripe_gateway.enabled():
        raise PaymentUnavailable.one("stripe_disabled", _l("Card payment is not available."))
    try:
        intent = stripe_gateway.open_intent(invoice.stripe_payment_intent_id,
                                            invoice.outstanding_fen) or \
            stripe_gateway.create_intent(invoice.id, invoice.number, invoice.outstanding_fen)
    except stripe_gateway.StripeError as error:  # unreachable, or refused: not our 500
        current_app.logger.warning("Stripe failed for invoice %s: %s", invoice.id, error)
        raise PaymentUnavailable.one("stripe_failed", _l(
            "Card payment is not available right now: try again later, or pay by bank "
            "transfer.")) from error
    if intent["id"] != invoice.stripe_payment_intent_id:
        invoice.stripe_payment_intent_id = intent["id"]
        audit.record("invoice.payment_intent", actor=actor, obj=invoice,
                     payment_intent=intent["id"])
    return intent["client_secret"], stripe_gateway.publishable_key()


def retire_stale_intent(invoice: Invoice) -> None:
    """After a change to what is left to pay has been committed (a part payment, a credit note
    deducted, paid otherwise, voided): the PaymentIntent opened for the old amount is cancelled,
    so that a payment page left open cannot charge the card for it (the webhook refuses the
    mismatch, but the card would be charged). Best effort, outside the transaction: with Stripe
    unreachable, the webhook's refusal stays the safeguard, and the intent is retried on the
    next change."""
    intent_id = invoice.stripe_payment_intent_id
    if not intent_id or not stripe_gateway.enabled():
        return
    wanted = invoice.outstanding_fen if invoice.state == "issued" else 0
    try:
        cancelled = stripe_gateway.cancel_if_stale(intent_id, wanted)
    except stripe_gateway.StripeError:
        current_app.logger.warning("could not cancel %s of invoice %s", intent_id, invoice.id,
                                   exc_info=True)
        return
    if cancelled:
        invoice.stripe_payment_intent_id = None
        audit.record("invoice.payment_intent_cancelled", obj=invoice, payment_intent=intent_id)
        db.session.commit()


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
    if not rules.payment_matches(invoice.outstanding_fen, received,
                                 str(intent.get("currency", ""))):
        raise BillingRefused.one(
            "amount_mismatch",
            _l("%(intent)s paid %(received)s %(currency)s for invoice %(number)s of %(due)s cny."),
            intent=intent["id"], received=received, currency=intent.get("currency"),
            number=invoice.number, due=invoice.outstanding_fen)
    if invoice.state != "issued":
        raise BillingRefused.one("not_payable", _l("Invoice %(number)s is %(state)s."),
                                 number=invoice.number, state=invoice.state)
    _mark_paid(invoice, "stripe", received, actor=None, external_id=intent["id"])
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
    # what credit notes already gave back of the card's money (those deducted while the invoice
    # was open did not: the card paid the rest)
    delta = int(charge.get("amount_refunded") or 0) - (credited_fen(invoice)
                                                       - invoice.deducted_fen)
    if delta <= 0:
        return "already_credited"
    credit_note(invoice, delta, f"Card refund {charge.get('id')}", actor=None, settled=True)
    return "credited"


_HANDLERS = {"payment_intent.succeeded": _on_succeeded,
             "payment_intent.payment_failed": _on_failed,
             "charge.refunded": _on_refunded}
