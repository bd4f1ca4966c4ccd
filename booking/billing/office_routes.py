"""The finance office's own pages (billing.office.*): the month close with a preview, the
overdue list with its reminders, and the provider's settings (bank details, tax number, the
overdue block)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from booking.accounts.models import Organisation, User
from booking.billing import close, dunning, lists, reports, rules
from booking.billing.facts import Fact
from booking.billing.forms import ProviderSettingsForm
from booking.billing.invoicing import make_drafts
from booking.billing.models import Invoice
from booking.billing.refusals import BillingRefused
from booking.core.clock import PeriodError, local_today, now_utc, parse_period
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import PostForm, current_locale, query_args, query_int
from booking.extensions import db
from booking.groups.models import Project

bp = Blueprint("office", __name__, url_prefix="/finance")


def finance_org(org_id: int | None = None) -> tuple[Organisation, list[Organisation]]:
    """The organisation asked for (`org_id`, else the query's `org`, else the first) among
    those whose finance the user keeps, and all of those; 403 for any other."""
    organisations = reports.finance_organisations(current_user)
    require(bool(organisations))
    org_id = org_id or query_int("org", None, 1)
    chosen = next((o for o in organisations if o.id == org_id), None) if org_id else \
        organisations[0]
    require(chosen is not None)
    return chosen, organisations


def _last_month() -> str:
    today = local_today()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year}-{month:02d}"


def _month() -> str | None:
    """The month asked for, if it is a well-formed month that has ended."""
    month = (request.values.get("month") or _last_month()).strip()[:7]
    try:
        period = parse_period(month, "month")
    except PeriodError:
        return None
    return month if period.end <= now_utc() else None


def _provider_facts(month: str, provider_id: int) -> list[Fact]:
    return [f for f in close.month_facts(month) if f.provider_id == provider_id]


def _preview(facts: list[Fact]) -> list[dict]:
    """The invoices the close would issue: customer, user, project, lines, subtotal."""
    drafts = make_drafts(facts, period=None)
    orgs = {o.id: o for o in db.session.scalars(db.select(Organisation).where(
        Organisation.id.in_({d.values["customer_org_id"] for d in drafts})))}
    users = {u.id: u for u in db.session.scalars(db.select(User).where(
        User.id.in_({d.values["customer_user_id"] for d in drafts})))}
    projects = {p.id: p for p in db.session.scalars(db.select(Project).where(
        Project.id.in_({d.values["project_id"] for d in drafts if d.values["project_id"]})))}
    rows = [{"customer": orgs[d.values["customer_org_id"]], "user": users.get(
        d.values["customer_user_id"]), "project": projects.get(d.values["project_id"]),
        "customer_class": d.values["customer_class"], "lines": len(d.lines),
        "subtotal_fen": sum(line["amount_fen"] for line in d.lines)} for d in drafts]
    return sorted(rows, key=lambda r: (r["customer"].name_zh, r["user"].name if r["user"]
                                       else ""))


@bp.route("/close", methods=["GET", "POST"])
@login_required
def close_month():
    org, organisations = finance_org()
    month = _month()
    if month is None:
        flash(_("Choose a month from 2000-01 to %(last)s, as YYYY-MM.", last=_last_month()),
              "danger")
        return redirect(url_for("billing.office.close_month", org=org.id))
    facts = _provider_facts(month, org.id)
    if request.method == "POST" and PostForm().validate_on_submit():
        result = close.close_month(month, facts)
        commit()
        flash(Markup("{} <a class=\"alert-link\" href=\"{}\">{}</a>").format(
            _("Month %(month)s closed: %(count)s invoices issued, %(amount)s due.",
              month=month, count=result.invoices, amount=f"¥{result.amount_fen / 100:,.2f}"),
            url_for("billing.finance", org=org.id), _("See the invoices")), "success")
        return redirect(url_for("billing.office.close_month", org=org.id, month=month))
    rows = _preview(facts)
    return render_template("billing/close.html", org=org, organisations=organisations,
                           month=month, rows=rows, year=local_today().year,
                           invoiced=reports.month_invoiced(org.id, month),
                           total_fen=sum(r["subtotal_fen"] for r in rows))


@bp.route("/overdue")
@login_required
def overdue():
    org, organisations = finance_org()
    args = query_args(lists.OVERDUE_ARGS)
    now = now_utc()
    listing = dunning.overdue_invoices(org.id, now, args["page"], args["per_page"])
    return render_template("billing/overdue.html", org=org, organisations=organisations,
                           listing=listing, year=local_today().year,
                           aging=dunning.overdue_summary(org.id, now),
                           settings=dunning.settings_of(org.id), remind_form=PostForm(),
                           reminder_labels=dunning.REMINDER_LABELS,
                           remind_again_after=rules.REMIND_AGAIN_AFTER)


@bp.route("/overdue/<int:invoice_id>/remind", methods=["POST"])
@login_required
def remind(invoice_id):
    """Remind the customer of one overdue invoice now, back to the same page of the list."""
    invoice = db.get_or_404(Invoice, invoice_id)
    require(invoice.can_manage(current_user))
    if PostForm().validate_on_submit():
        try:
            dunning.remind_now(invoice, current_user)
        except BillingRefused as refused:
            db.session.rollback()
            flash(refused.text(), "danger")
        else:
            commit()
            flash(_("Reminder for invoice %(number)s sent to %(name)s.", number=invoice.number,
                    name=invoice.customer_user.name), "success")
    return redirect(url_for("billing.office.overdue", org=invoice.provider_id,
                            page=query_int("page", 1, 1)))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    org, organisations = finance_org()
    current = dunning.settings_of(org.id)
    form = ProviderSettingsForm(obj=current)
    if form.validate_on_submit():
        dunning.save_settings(org.id, current_user, bank_name=form.bank_name.data.strip(),
                              bank_account=form.bank_account.data.strip(),
                              tax_number=form.tax_number.data.strip(),
                              block_overdue_days=form.block_overdue_days.data)
        commit()
        flash(_("Finance settings of %(org)s saved.", org=org.display_name(current_locale())), "success")
        return redirect(url_for("billing.office.settings", org=org.id))
    return render_template("billing/settings.html", org=org, organisations=organisations,
                           form=form, year=local_today().year)
