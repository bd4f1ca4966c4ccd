"""Invoice pages (view, print, pay), payments recorded by finance, and the finance views."""
from collections.abc import Callable
from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from booking.accounts.models import Organisation, User
from booking.api.paging import paged
from booking.billing import (
    dunning,
    invoicing,
    lists,
    office_routes,
    payments,
    pdf,
    reports,
    stripe_gateway,
)
from booking.billing.forms import (
    BankTransferForm,
    CreditForm,
    InternalSettlementForm,
    RefundForm,
    VoidForm,
)
from booking.billing.models import Invoice
from booking.billing.refusals import BillingRefused
from booking.billing.schemas import InvoiceStateSchema, PaymentIntentSchema
from booking.core import tables
from booking.core.clock import local_today, now_utc
from booking.core.money import format_cny, yuan_to_fen
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import current_locale, query_args, query_int
from booking.extensions import db
from booking.groups import services as groups
from booking.instruments.rules import CUSTOMER_CLASSES

bp = Blueprint("billing", __name__)
bp.register_blueprint(office_routes.bp)  # the finance office: billing.office.*


def _invoice(invoice_id: int) -> Invoice:
    invoice = reports.issued_invoice(invoice_id) or abort(404)
    require(invoice.can_view(current_user))
    return invoice


@bp.route("/invoices")
@login_required
def my_invoices():
    args = query_args(lists.MY_INVOICES_ARGS)
    listing = paged(lists.customer_invoices(current_user, args, now_utc(), current_user.timezone),
                    args["page"], args["per_page"], clamp=True)
    return render_template("billing/my_invoices.html", listing=listing, args=args,
                           states=lists.CUSTOMER_STATES, balance=dunning.balance_of(current_user),
                           providers=lists.invoice_providers(current_user))


@bp.route("/invoices/<int:invoice_id>")
@login_required
def invoice(invoice_id):
    return _invoice_page(_invoice(invoice_id))


# the invoice page's forms, by the template name each goes by
_PAGE_FORMS = {BankTransferForm: "bank_form", InternalSettlementForm: "settle_form",
               VoidForm: "void_form", CreditForm: "credit_form", RefundForm: "refund_form"}


def _invoice_page(inv: Invoice, submitted=None, status: int = 200):
    """The invoice with its payment and finance forms; `submitted`: the form just refused,
    shown again with what was typed and what is wrong with it (the others start blank)."""
    forms = {"settle_form": _settlement_form(inv, formdata=None) if inv.can_settle(current_user)
             else _no_settlement_form(),
             "bank_form": _bank_form(inv), "void_form": VoidForm(formdata=None),
             "credit_form": CreditForm(formdata=None), "refund_form": _refund_form()}
    if submitted is not None:
        forms[_PAGE_FORMS[type(submitted)]] = submitted
    notes = reports.credit_notes_of(inv)
    returned = {n.id: reports.voucher_returned_fen(n) for n in [inv, *notes]}
    given_back = sum(returned[n.id] for n in notes)
    return render_template(
        "billing/invoice.html", invoice=inv, stripe_enabled=stripe_gateway.enabled(),
        stripe_js_url=current_app.config["STRIPE_JS_URL"],
        publishable_key=stripe_gateway.publishable_key(),
        payment_methods=current_app.config["STRIPE_PAYMENT_METHODS"].split(","),
        provider_settings=dunning.settings_of(inv.provider_id),
        credit_notes=notes, voucher_returned=returned, voucher_given_back_fen=given_back,
        voucher_back_per_hundred=reports.voucher_back_per_hundred(inv, given_back), now=now_utc(),
        **forms), status


def _bank_form(inv: Invoice) -> BankTransferForm:
    """Proposes what is outstanding, received today."""
    form = BankTransferForm(formdata=None)
    form.amount.data = Decimal(inv.outstanding_fen) / 100
    form.received_on.data = local_today()
    return form


def _refund_form() -> RefundForm:
    form = RefundForm(formdata=None)
    form.refunded_on.data = local_today()
    return form


def _no_settlement_form() -> InternalSettlementForm:
    """For a reader who may not settle the invoice (its lab): no projects are looked up."""
    form = InternalSettlementForm(formdata=None)
    form.refusals, form.project.choices = [], []
    return form


def _settlement_form(inv: Invoice, **form_args) -> InternalSettlementForm:
    """The customer's project accounts (经费卡); the invoice's own project when it names one.
    The customer is offered only those they may settle from now; `form.refusals` says why
    not the others (the PI approves first, the budget is short)."""
    form = InternalSettlementForm(**form_args)
    projects, refused = payments.projects_to_settle_from(inv, current_user)
    form.refusals = [(project.label, " ".join(problem.text() for problem in problems))
                     for project, problems in refused]
    form.project.choices = [SelectChoice(p.id, p.label) for p in projects]
    return form


@bp.route("/invoices/<int:invoice_id>.pdf")
@login_required
def invoice_pdf(invoice_id):
    inv = _invoice(invoice_id)
    response = make_response(pdf.invoice_pdf(inv))
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = tables.content_disposition(f"{inv.number}.pdf")
    return response


@bp.route("/invoices/<int:invoice_id>/state.json")
@login_required
def invoice_state(invoice_id):
    return jsonify(InvoiceStateSchema().dump(_invoice(invoice_id)))


@bp.route("/invoices/<int:invoice_id>/payment-intent", methods=["POST"])
@login_required
def payment_intent(invoice_id):
    """JSON for Stripe.js on the invoice page (session + CSRF header)."""
    inv = reports.issued_invoice(invoice_id) or abort(404)  # a draft is nobody's to see
    if not inv.can_pay(current_user):
        return jsonify({"error": {"code": "forbidden",
                                  "message": _("Only the invoice's customer can pay it.")}}), 403
    try:
        secret, key = payments.payment_intent_for(inv, current_user)
    except BillingRefused as exc:  # the page's script shows the message: JSON, not a page
        return jsonify({"error": {"code": exc.code, "message": exc.text()}}), 409
    commit()
    return jsonify(PaymentIntentSchema().dump({"client_secret": secret, "publishable_key": key,
                                               "amount_fen": inv.outstanding_fen}))


def _finance_action(invoice_id: int, allowed: Callable[[Invoice, User], bool], form_class,
                    action):
    """Check `allowed`, validate the form, apply `action` (which returns the message saying
    what happened) and go back to the invoice with that message; a form refused comes back on
    the invoice page with what was typed and why (422)."""
    inv = _invoice(invoice_id)
    require(allowed(inv, current_user))
    form = form_class()
    if form_class is InternalSettlementForm:
        form.project.choices = _settlement_form(inv).project.choices
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "danger")
        return _invoice_page(inv, form, 422)
    try:
        message = action(inv, form)
    except BillingRefused as exc:
        db.session.rollback()
        flash(exc.text(), "danger")
        return _invoice_page(inv, form, 422)
    commit()
    payments.retire_stale_intent(inv)
    flash(message, "success")
    return redirect(url_for("billing.invoice", invoice_id=inv.id))


def _link(text: str, invoice: Invoice) -> Markup:
    """A flash message with a link to the document it made (escaped)."""
    return Markup('{} <a href="{}" class="alert-link">{}</a>').format(
        text, url_for("billing.invoice", invoice_id=invoice.id), invoice.number)


def _payment_message(inv: Invoice, amount_fen: int) -> str:
    if inv.overpaid_fen:
        return _("%(amount)s recorded for %(number)s: paid, with %(over)s overpaid carried as "
                 "a balance.", amount=format_cny(amount_fen), number=inv.number,
                 over=format_cny(inv.overpaid_fen))
    if inv.state == "paid":
        return _("%(amount)s recorded: invoice %(number)s is paid.",
                 amount=format_cny(amount_fen), number=inv.number)
    return _("%(amount)s recorded for %(number)s: %(left)s still outstanding.",
             amount=format_cny(amount_fen), number=inv.number,
             left=format_cny(inv.outstanding_fen))


def _record_transfer(inv: Invoice, form: BankTransferForm) -> str:
    amount = yuan_to_fen(Decimal(form.amount.data))
    try:
        payments.record_bank_transfer(inv, current_user, form.reference.data.strip(), amount,
                                      form.received_on.data, overpay=form.overpay.data)
    except BillingRefused as refused:
        if refused.code == "overpayment_unconfirmed":  # the box to tick, shown with why
            form.overpay.errors = [refused.text()]
        raise
    return _payment_message(inv, amount)


def _settle(inv: Invoice, form: InternalSettlementForm) -> str:
    project = groups.get_project(form.project.data)
    payment = payments.settle_internal(inv, current_user, project)
    return _("Invoice %(number)s settled by internal transfer from project %(project)s.",
             number=inv.number, project=payment.project.label)


def _credit(inv: Invoice, form: CreditForm) -> Markup:
    note = invoicing.credit_note(inv, yuan_to_fen(Decimal(form.amount.data)), form.reason.data,
                                 current_user)
    if note.deducted_fen:
        return _link(_("Credit note of %(amount)s issued for %(number)s, %(deducted)s deducted "
                       "from what is left to pay (%(left)s now):",
                       amount=format_cny(note.amount_due_fen), number=inv.number,
                       deducted=format_cny(note.deducted_fen),
                       left=format_cny(inv.outstanding_fen)), note)
    return _link(_("Credit note of %(amount)s issued for %(number)s:",
                   amount=format_cny(note.amount_due_fen), number=inv.number), note)


def _refund(note: Invoice, form: RefundForm) -> str:
    payments.record_refund(note, current_user, form.reference.data.strip(), form.refunded_on.data)
    return _("Credit note %(number)s is refunded.", number=note.number)


def _refund_overpayment(inv: Invoice, form: RefundForm) -> str:
    refunded = payments.refund_overpayment(inv, current_user, form.reference.data.strip(),
                                           form.refunded_on.data)
    return _("%(amount)s paid beyond invoice %(number)s is refunded.",
             amount=format_cny(-refunded.amount_fen), number=inv.number)


def _void(inv: Invoice, form: VoidForm) -> str:
    invoicing.void_invoice(inv, current_user, form.reason.data)
    return _("Invoice %(number)s is void.", number=inv.number)


@bp.route("/invoices/<int:invoice_id>/bank-transfer", methods=["POST"])
@login_required
def bank_transfer(invoice_id):
    return _finance_action(invoice_id, Invoice.can_manage, BankTransferForm, _record_transfer)


@bp.route("/invoices/<int:invoice_id>/settle-internal", methods=["POST"])
@login_required
def settle_internal(invoice_id):
    return _finance_action(invoice_id, Invoice.can_settle, InternalSettlementForm, _settle)


@bp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@login_required
def void(invoice_id):
    return _finance_action(invoice_id, Invoice.can_manage, VoidForm, _void)


@bp.route("/invoices/<int:invoice_id>/refund", methods=["POST"])
@login_required
def refund(invoice_id):
    return _finance_action(invoice_id, Invoice.can_manage, RefundForm, _refund)


@bp.route("/invoices/<int:invoice_id>/refund-overpayment", methods=["POST"])
@login_required
def refund_overpayment(invoice_id):
    return _finance_action(invoice_id, Invoice.can_manage, RefundForm, _refund_overpayment)


@bp.route("/invoices/<int:invoice_id>/credit", methods=["POST"])
@login_required
def credit(invoice_id):
    return _finance_action(invoice_id, Invoice.can_manage, CreditForm, _credit)


# --- finance views -------------------------------------------------------------------------------
def _year() -> int:
    return query_int("year", local_today().year, 2000, 2100)


@bp.route("/finance")
@login_required
def finance():
    org, organisations = office_routes.finance_org()
    args = query_args(lists.FINANCE_ARGS)
    now = now_utc()
    listing = paged(lists.provider_invoices(org.id, args, now, current_user.timezone),
                    args["page"], args["per_page"], clamp=True)
    return render_template("billing/finance.html", org=org, organisations=organisations,
                           year=_year(), listing=listing, args=args, states=lists.STATES,
                           carried_fen=reports.overpaid_fen(org.id),
                           instruments=lists.provider_instruments(org.id), now=now,
                           customer=args.get("customer") and db.session.get(Organisation,
                                                                            args["customer"]))


@bp.route("/finance/revenue")
@login_required
def finance_revenue():
    org, organisations = office_routes.finance_org()
    args, year = query_args(lists.REVENUE_ARGS), _year()
    month = args.get("month")
    if args.get("instrument") is not None and \
            not lists.is_provider_instrument(org.id, args["instrument"]):
        abort(404)  # unknown, or another provider's
    narrowed = {"instrument_id": args.get("instrument"),
                "customer_class": args.get("customer_class")}
    months = reports.revenue_by_month(org.id, year, **narrowed)
    listing = paged(reports.revenue_rows(org.id, year, month=month, locale=current_locale(),
                                         **narrowed), args["page"], args["per_page"], clamp=True)
    return render_template(
        "billing/revenue.html", org=org, organisations=organisations, year=year, args=args,
        months=months, total_fen=sum(m.amount_fen for m in months if month in (None, m.month)),
        listing=listing, instruments=lists.provider_instruments(org.id),
        listed=lists.instruments_by_id({row.instrument_id for row in listing["items"]}),
        classes=CUSTOMER_CLASSES, credited_fen=reports.credited_in(org.id, year))


EXPORTS = {**reports.TABLES, "overdue": dunning.overdue_table}


@bp.route("/finance/<int:org_id>/<any(revenue, usage, open, overdue):report>.<any(csv, xlsx):fmt>")
@login_required
def export(org_id, report, fmt):
    org, _organisations = office_routes.finance_org(org_id)
    year = _year()
    header, rows = EXPORTS[report](org.id, year)
    return tables.download(fmt, f"{org.short_code or org.id}-{report}-{year}",
                           reports.header_labels(header), rows, sheet=report, freeze="A2")
