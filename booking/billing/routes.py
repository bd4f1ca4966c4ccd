"""Invoice pages (view, print, pay), payments recorded by finance, and the finance views."""
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
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

from booking.accounts.models import Organisation
from booking.billing import pdf, services, stripe_gateway
from booking.billing.forms import BankTransferForm, CreditForm, GrantCodeForm, VoidForm
from booking.billing.models import Invoice
from booking.core import tables
from booking.core.clock import now_utc
from booking.core.money import yuan_to_fen
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import query_int
from booking.extensions import db

bp = Blueprint("billing", __name__)


def _invoice(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.state == "draft":
        abort(404)
    require(invoice.can_view(current_user))
    return invoice


@bp.route("/invoices")
@login_required
def my_invoices():
    page = query_int("page", 1, 1, 10_000)
    items, total = services.invoices_of(current_user, page)
    return render_template("billing/my_invoices.html", invoices=items, total=total,
                           page=page, per_page=20)


@bp.route("/invoices/<int:invoice_id>")
@login_required
def invoice(invoice_id):
    inv = _invoice(invoice_id)
    return render_template(
        "billing/invoice.html", invoice=inv, stripe_enabled=stripe_gateway.enabled(),
        stripe_js_url=current_app.config["STRIPE_JS_URL"],
        publishable_key=stripe_gateway.publishable_key(),
        payment_methods=current_app.config["STRIPE_PAYMENT_METHODS"].split(","),
        grant_form=GrantCodeForm(), bank_form=BankTransferForm(), void_form=VoidForm(),
        credit_form=CreditForm(), credit_notes=_credit_notes(inv))


@bp.route("/invoices/<int:invoice_id>.pdf")
@login_required
def invoice_pdf(invoice_id):
    inv = _invoice(invoice_id)
    response = make_response(pdf.invoice_pdf(inv))
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{inv.number}.pdf"'
    return response


def _credit_notes(inv: Invoice) -> list[Invoice]:
    return [] if inv.is_credit_note else list(db.session.scalars(
        db.select(Invoice).where(Invoice.credits_id == inv.id).order_by(Invoice.id)))


@bp.route("/invoices/<int:invoice_id>/state.json")
@login_required
def invoice_state(invoice_id):
    inv = _invoice(invoice_id)
    return jsonify({"state": inv.state, "payment_error": inv.payment_error})


@bp.route("/invoices/<int:invoice_id>/payment-intent", methods=["POST"])
@login_required
def payment_intent(invoice_id):
    """JSON for Stripe.js on the invoice page (session + CSRF header)."""
    inv = db.session.get(Invoice, invoice_id) or abort(404)
    if not inv.can_pay(current_user):
        return jsonify({"error": {"code": "forbidden",
                                  "message": _("Only the invoice's customer can pay it.")}}), 403
    try:
        secret, key = services.payment_intent_for(inv, current_user)
    except services.BillingRefused as exc:
        return jsonify({"error": {"code": exc.code, "message": _(str(exc))}}), 409
    commit()
    return jsonify({"client_secret": secret, "publishable_key": key})


def _finance_action(invoice_id: int, form_class, action):
    inv = _invoice(invoice_id)
    form = form_class()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "danger")
    else:
        try:
            action(inv, form)
        except services.BillingRefused as exc:
            flash(_(str(exc)), "danger")
        else:
            commit()
            flash(_("Saved."), "success")
    return redirect(url_for("billing.invoice", invoice_id=inv.id))


@bp.route("/invoices/<int:invoice_id>/bank-transfer", methods=["POST"])
@login_required
def bank_transfer(invoice_id):
    require(_invoice(invoice_id).can_manage(current_user))
    return _finance_action(invoice_id, BankTransferForm, lambda inv, form:
                           services.record_bank_transfer(inv, current_user, form.reference.data))


@bp.route("/invoices/<int:invoice_id>/settle-internal", methods=["POST"])
@login_required
def settle_internal(invoice_id):
    inv = _invoice(invoice_id)
    require(inv.can_pay(current_user) or inv.can_manage(current_user))
    return _finance_action(invoice_id, GrantCodeForm, lambda inv, form:
                           services.settle_internal(inv, current_user, form.grant_code.data))


@bp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@login_required
def void(invoice_id):
    require(_invoice(invoice_id).can_manage(current_user))
    return _finance_action(invoice_id, VoidForm, lambda inv, form:
                           services.void_invoice(inv, current_user, form.reason.data))


@bp.route("/invoices/<int:invoice_id>/credit", methods=["POST"])
@login_required
def credit(invoice_id):
    require(_invoice(invoice_id).can_manage(current_user))
    return _finance_action(invoice_id, CreditForm, lambda inv, form: services.credit_note(
        inv, yuan_to_fen(Decimal(form.amount.data)), form.reason.data, current_user))


# --- finance views -------------------------------------------------------------------------------
def _finance_org(org_id: int | None) -> tuple[Organisation, list[Organisation]]:
    organisations = services.finance_organisations(current_user)
    require(bool(organisations))
    chosen = next((o for o in organisations if o.id == org_id), None) if org_id else \
        organisations[0]
    require(chosen is not None)
    return chosen, organisations


def _year() -> int:
    local_year = now_utc().astimezone(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).year
    return query_int("year", local_year, 2000, 2100)


@bp.route("/finance")
@login_required
def finance():
    org, organisations = _finance_org(query_int("org", None, 1))
    return render_template("billing/finance.html", org=org, organisations=organisations,
                           year=_year(), invoices=services.open_invoices(org.id),
                           revenue=services.revenue(org.id, _year()), now=now_utc())


EXPORTS = {
    "revenue": (("month", "instrument_id", "instrument", "customer_class", "lines", "minutes",
                 "amount_fen", "amount_cny"),
                lambda org, year: [(r["month"], r["instrument_id"], r["instrument"],
                                    r["customer_class"], r["lines"], r["minutes"],
                                    r["amount_fen"], tables.yuan(r["amount_fen"]))
                                   for r in services.revenue(org.id, year)]),
    "usage": (services.PRICED_USAGE_COLUMNS + ("amount_cny",),
              lambda org, year: [(*r[:6], r[6].isoformat(), r[7].isoformat(), *r[8:],
                                  tables.yuan(r[11]))
                                 for r in services.priced_usage(org.id, year)]),
    "open": (("number", "customer", "customer_class", "issued_at", "due_at", "amount_due_fen",
              "amount_due_cny"),
             lambda org, year: [(i.number, i.customer_org.name_zh, i.customer_class,
                                 i.issued_at.isoformat(), i.due_at.isoformat(),
                                 i.amount_due_fen, tables.yuan(i.amount_due_fen))
                                for i in services.open_invoices(org.id)]),
}


@bp.route("/finance/<int:org_id>/<any(revenue, usage, open):report>.<any(csv, xlsx):fmt>")
@login_required
def export(org_id, report, fmt):
    org, _organisations = _finance_org(org_id)
    year = _year()
    header, build = EXPORTS[report]
    rows = build(org, year)
    name = f"{org.short_code or org.id}-{report}-{year}.{fmt}"
    if fmt == "csv":
        body, mimetype = tables.csv_bytes(header, rows), "text/csv; charset=utf-8"
    else:
        body = tables.xlsx_bytes(report, header, rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
