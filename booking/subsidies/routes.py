"""Voucher pages: an enterprise's vouchers and application, the bureau's review queue and
policy editor, oversight dashboard and reimbursement statements."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from booking.accounts.models import Organisation
from booking.api.paging import paged
from booking.billing.models import Invoice
from booking.billing.office_routes import finance_org
from booking.core import tables
from booking.core.clock import current_quarter, last_complete_quarter, local_today, now_utc
from booking.core.money import fen_to_yuan, yuan_to_fen
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import (
    PostForm,
    attempt,
    current_locale,
    flash_form_errors,
    query_args,
    query_int,
    sentences,
)
from booking.extensions import db
from booking.subsidies import history, lists, oversight, reimbursements, services
from booking.subsidies.forms import (
    CLASS_LABELS,
    RELATED_LABELS,
    ApplicationForm,
    ApproveForm,
    ClawbackForm,
    LinkForm,
    PolicyForm,
    QuarterForm,
    RejectForm,
    RemoveLinkForm,
    SampleForm,
    StatementPaidForm,
    fen_or_none,
)
from booking.subsidies.models import (
    VOUCHER_STATES,
    OrganisationLink,
    Redemption,
    Reimbursement,
    SubsidyPolicy,
    Voucher,
)
from booking.subsidies.policy import ENTERPRISE_CLASSES, decimal_at
from booking.subsidies.rules import percent, policy_warnings, region_name

bp = Blueprint("subsidies", __name__, url_prefix="/vouchers")


@bp.app_context_processor
def _labels():
    return {"class_label": lambda code: CLASS_LABELS.get(code, code), "percent": percent,
            "link_label": lambda kind: RELATED_LABELS.get(kind, kind),
            "yuan_text": fen_to_yuan}


# --- enterprise ------------------------------------------------------------------------------
@bp.route("/", methods=["GET", "POST"])
@login_required
def my_vouchers():
    require(Voucher.can_apply(current_user))
    organisation = current_user.organisation
    policy = services.current_policy()
    check = services.check_enterprise(organisation, None, None, policy)
    form = ApplicationForm()
    if not form.is_submitted():
        form.fill_from(organisation)
        form.declared_class.data = getattr(check, "enterprise_class", None)
    if form.validate_on_submit():
        if attempt(lambda: services.apply_for_voucher(
                current_user, amount_fen=fen_or_none(form.amount.data),
                project=form.project.data.strip(), declared_class=form.declared_class.data,
                declaration=form.declaration()),
                _("Application submitted. Bureau staff will review it.")):
            return redirect(url_for("subsidies.my_vouchers"))
    vouchers = services.vouchers_of(organisation)
    return render_template("subsidies/mine.html", form=form, vouchers=vouchers, policy=policy,
                           check=check, classes=services.class_options(organisation, policy),
                           pending_fen=services.group_pending_fen(organisation, policy.year),
                           non_local=_non_local_rate(policy.rules))


def _non_local_rate(rules: dict) -> dict | None:
    """Where a provider outside the policy's region is subsidised at a reduced rate (or not
    at all): the region's name and the share of the rate paid there (the quote is lower: say
    why). None where every provider counts as local, or the rate is the same."""
    factor = decimal_at(rules, "services", "non_local_provider_factor")
    region = rules.get("region_code", "")
    if factor >= 1 or not region:
        return None
    return {"region": _(region_name(region)), "factor": percent(factor), "none": factor == 0}


@bp.route("/<int:voucher_id>")
@login_required
def voucher(voucher_id):
    """A voucher and what it paid: each invoice's share, what credit notes gave back, what
    waits for the customer's payment; for its enterprise's people and the bureau."""
    found = db.get_or_404(Voucher, voucher_id)
    require(found.can_view(current_user))
    uses = history.history_of(found)
    viewable = {invoice.id for invoice in db.session.scalars(select(Invoice).where(
        Invoice.id.in_([use.invoice_id for use in uses]))) if invoice.can_view(current_user)}
    return render_template(
        "subsidies/voucher.html", voucher=found, uses=uses, viewable=viewable, now=now_utc(),
        reserved_fen=sum(u.kept_fen for u in uses if u.claim.state == "reserved"),
        redeemed_fen=sum(u.kept_fen for u in uses if u.claim.state == "redeemed"),
        reason_text=reimbursements.reason_text)


# --- bureau: review --------------------------------------------------------------------------
@bp.route("/review")
@login_required
def queue():
    require(Voucher.can_oversee(current_user))
    args = query_args(lists.REVIEW_ARGS)
    listing = paged(lists.review_queue(args), args["page"], args["per_page"], clamp=True)
    status = services.budget_status(local_today().year)
    return render_template("subsidies/queue.html", listing=listing, args=args,
                           pending=lists.with_checks(listing["items"]), status=status,
                           now=now_utc(), classes=ENTERPRISE_CLASSES,
                           decided=services.recent_decisions(10), approve_form=ApproveForm(),
                           reject_form=RejectForm())


@bp.route("/all")
@login_required
def vouchers():
    """Every voucher and application, for the bureau: filtered and paged."""
    require(Voucher.can_oversee(current_user))
    args = query_args(lists.VOUCHER_LIST_ARGS)
    now = now_utc()
    listing = paged(lists.all_vouchers(args, now), args["page"], args["per_page"], clamp=True)
    return render_template("subsidies/vouchers.html", listing=listing, args=args, now=now,
                           states=VOUCHER_STATES, state_labels=lists.STATE_LABELS,
                           classes=ENTERPRISE_CLASSES)


@bp.route("/all.<any(csv, xlsx):fmt>")
@login_required
def vouchers_export(fmt):
    """The list as filtered on the page, every row of it (up to lists.EXPORT_LIMIT)."""
    require(Voucher.can_oversee(current_user))
    args = query_args(lists.VOUCHER_LIST_ARGS)
    now = now_utc()
    return tables.download(fmt, f"vouchers-{local_today():%Y%m%d}", lists.export_header(),
                           lists.export_rows(lists.all_vouchers(args, now), now), freeze="C2")


@bp.route("/<int:voucher_id>/approve", methods=["POST"])
@login_required
def approve(voucher_id):
    voucher = db.get_or_404(Voucher, voucher_id)
    require(voucher.can_decide(current_user))
    form = ApproveForm()
    if form.validate_on_submit():
        attempt(lambda: services.approve_voucher(voucher, current_user,
                                                 yuan_to_fen(form.amount.data),
                                                 form.reason.data or ""),
                _("Application #%(id)s approved: the voucher is issued.", id=voucher.id))
    else:  # what is wrong: no amount, three decimals, too much; a reason too long
        if form.amount.errors:
            flash(_("Enter a valid amount: %(why)s", why=" ".join(map(str, form.amount.errors))),
                  "danger")
        flash_form_errors(form, fields=("reason",))
    return redirect(url_for("subsidies.queue"))


@bp.route("/<int:voucher_id>/reject", methods=["POST"])
@login_required
def reject(voucher_id):
    voucher = db.get_or_404(Voucher, voucher_id)
    require(voucher.can_decide(current_user))
    form = RejectForm()
    if form.validate_on_submit():
        attempt(lambda: services.reject_voucher(voucher, current_user, form.reason.data),
                _("Application #%(id)s rejected.", id=voucher.id), "info")
    elif form.reason.data and form.reason.data.strip():  # too long, not missing
        flash(" ".join(map(str, form.reason.errors)), "danger")
    else:
        flash(_("Give a reason for the rejection."), "danger")
    return redirect(url_for("subsidies.queue"))


# --- bureau: policy --------------------------------------------------------------------------
def _policy_year() -> int:
    """This year's policy, or next year's (prepared ahead, in force from 1 January)."""
    this_year = local_today().year
    return query_int("year", this_year, this_year, this_year + 1)


@bp.route("/policy", methods=["GET", "POST"])
@login_required
def policy():
    require(SubsidyPolicy.can_edit(current_user))
    form = PolicyForm()
    year = _policy_year()
    draft = services.draft_policy(year, current_user, save=form.is_submitted())
    if not form.is_submitted():
        form.fill_from(draft.rules)
    problems = []
    if form.validate_on_submit():
        try:
            services.save_draft(draft, form.updated_rules(draft.rules), current_user)
        except services.PolicyError as exc:
            problems = exc.texts()
        else:
            commit()
            flash(_("Draft saved. Publish it to make it the policy in force."), "success")
            return redirect(url_for("subsidies.policy", year=year))
    warnings = [w.text() for w in policy_warnings(draft.rules)]
    return render_template("subsidies/policy.html", form=form, draft=draft, problems=problems,
                           changes=form.described(services.policy_changes(draft)),
                           warnings=warnings, publish_confirm=_publish_confirm(draft, warnings),
                           versions=services.policy_versions(draft.year),
                           years=(local_today().year, local_today().year + 1),
                           publish_form=PostForm()), 422 if form.is_submitted() else 200


def _publish_confirm(draft: SubsidyPolicy, warnings: list[str]) -> str:
    """What the publish button asks: the draft's warnings counted, and what publishing binds."""
    return sentences(
        ngettext("The draft has %(num)s warning.", "The draft has %(num)s warnings.",
                 len(warnings)) if warnings else "",
        _("Publish version %(n)s? Applications not yet decided and statements not yet built "
          "follow it from then on; vouchers already issued keep the rates and caps they were "
          "issued under. A published version cannot be changed.", n=draft.version))


@bp.route("/policy/publish", methods=["POST"])
@login_required
def publish():
    require(SubsidyPolicy.can_edit(current_user))
    year = _policy_year()
    draft = services.draft_policy(year, current_user)
    if PostForm().validate_on_submit():
        attempt(lambda: services.publish_policy(draft, current_user),
                _("Policy %(label)s published.", label=draft.label))
    return redirect(url_for("subsidies.policy", year=year))


@bp.route("/links", methods=["GET", "POST"])
@login_required
def links():
    require(SubsidyPolicy.can_edit(current_user))
    form = LinkForm()
    form.enterprise_id.choices = [(o.id, o.display_name(current_locale()))
                                  for o in services.organisations_of_kinds("enterprise")]
    form.institution_id.choices = [(o.id, o.display_name(current_locale()))
                                   for o in services.organisations_of_kinds("university",
                                                                            "institute")]
    if form.validate_on_submit():
        if attempt(lambda: services.declare_link(
                db.session.get(Organisation, form.enterprise_id.data),
                db.session.get(Organisation, form.institution_id.data), form.kind.data,
                current_user), _("Link declared: vouchers no longer pay for services between them.")):
            return redirect(url_for("subsidies.links"))
    return render_template("subsidies/links.html", form=form, links=services.declared_links(),
                           remove_form=RemoveLinkForm(formdata=None))


@bp.route("/links/<int:link_id>/remove", methods=["POST"])
@login_required
def remove_link(link_id):
    require(SubsidyPolicy.can_edit(current_user))
    link = db.get_or_404(OrganisationLink, link_id)
    form = RemoveLinkForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for removing the link."), "danger")
    else:
        services.remove_link(link, current_user, form.reason.data.strip())
        commit()
        flash(_("Link removed: vouchers pay for services between them again."), "success")
    return redirect(url_for("subsidies.links"))


# --- bureau: oversight -----------------------------------------------------------------------
def _year() -> int:
    return query_int("year", local_today().year, 2000, 2100)


@bp.route("/dashboard")
@login_required
def dashboard():
    require(Voucher.can_oversee(current_user))
    year = _year()
    burn_down, by_class = oversight.burn_down(year), oversight.vouchers_by_class(year)
    flagged = oversight.flagged(year)
    last_year, this_year = _dashboard_years()
    return render_template("subsidies/dashboard.html", year=year, burn_down=burn_down,
                           years=(last_year, this_year),
                           open_last_year=oversight.open_checks(last_year)
                           if year == this_year else 0,
                           by_class=by_class, chart=_chart_data(burn_down, by_class),
                           providers=oversight.top_providers(year),
                           flagged=flagged, invoice_numbers=oversight.invoice_numbers(flagged),
                           confirm_form=PostForm(),
                           sample_form=SampleForm().set_windows(
                               oversight.sample_windows(year),
                               local_today().month if year == local_today().year else None),
                           clawback_form=ClawbackForm())


def _dashboard_years() -> tuple[int, int]:
    """Last year (its re-checks are done in January) and this year."""
    this_year = local_today().year
    return this_year - 1, this_year


def _chart_data(burn_down: list[dict], by_class: list[dict]) -> dict:
    series = {key: [row[f"{key}_fen"] for row in burn_down]
              for key in ("released", "committed", "redeemed", "remaining")}
    return {"quarters": [row["quarter"] for row in burn_down], **series,
            "classes": [str(CLASS_LABELS.get(r["enterprise_class"], r["enterprise_class"]))
                        for r in by_class],
            "class_counts": [r["count"] for r in by_class]}


@bp.route("/sample", methods=["POST"])
@login_required
def sample():
    require(Voucher.can_oversee(current_user))
    year = _year()  # in January, the second half of the year just ended is drawn
    if year not in _dashboard_years():
        abort(404)
    form = SampleForm().set_windows(oversight.sample_windows(year))
    if form.validate_on_submit():
        before = {c.id for c in oversight.flagged(year)}
        picked = oversight.draw_sample(year, form.window.data, current_user)
        commit()
        again = sum(c.id in before for c in picked)
        flash(_("No redemption in these months: nothing to re-check.") if not picked
              else _("%(n)s redemption(s) flagged for re-check.", n=len(picked)) if not again
              else _("The period was drawn already: its %(n)s redemption(s) stay flagged.",
                     n=len(picked)), "info")
    return redirect(url_for("subsidies.dashboard", year=year))


@bp.route("/redemptions/<int:redemption_id>/confirm", methods=["POST"])
@login_required
def confirm_check(redemption_id):
    require(Voucher.can_oversee(current_user))
    claim = db.get_or_404(Redemption, redemption_id)
    if PostForm().validate_on_submit():
        attempt(lambda: oversight.confirm_checked(claim, current_user),
                _("Redemption %(id)s checked: confirmed.", id=claim.id))
    return _to_dashboard_of(claim)


def _to_dashboard_of(claim: Redemption):
    """The dashboard of the year the claim was redeemed in (a re-check of last year's is
    done in January)."""
    return redirect(url_for("subsidies.dashboard", year=local_today(claim.redeemed_at).year))


@bp.route("/redemptions/<int:redemption_id>/clawback", methods=["POST"])
@login_required
def clawback(redemption_id):
    require(Voucher.can_oversee(current_user))
    claim = db.get_or_404(Redemption, redemption_id)
    form = ClawbackForm()
    if not form.validate_on_submit():
        if form.reason.data and form.reason.data.strip():  # too long, not missing
            flash_form_errors(form)
        else:
            flash(_("Give a reason for the clawback."), "danger")
        return _to_dashboard_of(claim)
    attempt(lambda: oversight.claw_back(claim, current_user, form.reason.data),
            _("Redemption %(id)s clawed back.", id=claim.id))
    return _to_dashboard_of(claim)


# --- a provider's finance office: its statements ---------------------------------------------
@bp.route("/statements")
@login_required
def provider_statements():
    """What the bureau owes the provider for vouchers, has paid, and took back."""
    org, organisations = finance_org()
    # by default the year of the last quarter over: in January, the statement of the fourth
    year = query_int("year", last_complete_quarter(local_today()).first_day.year, 2000, 2100)
    statements = [(s, reimbursements.entries_of(s))
                  for s in reimbursements.statements_of(org.id, year)]
    return render_template("subsidies/provider_statements.html", org=org, year=year,
                           organisations=organisations, statements=statements,
                           unclaimed=reimbursements.unclaimed_of(org.id),
                           clawbacks=history.pending_clawbacks(org.id),
                           clawed=history.clawbacks_of(
                               e.id for _s, lines in statements for e, _n in lines),
                           states=reimbursements.STATES, entries=reimbursements.ENTRIES,
                           reason_text=reimbursements.reason_text, now_year=local_today().year)


# --- bureau: reimbursement -------------------------------------------------------------------
def _quarter(text: str | None, default: str | None = None) -> str:
    """A quarter's label, `default` (else the current one) when none is given; not a
    quarter: 404."""
    if text is None:
        return default or current_quarter(local_today()).label
    try:
        return reimbursements.parse_quarter(text).label
    except reimbursements.ReimbursementError:
        abort(404)


@bp.route("/reimbursements", methods=["GET", "POST"])
@login_required
def reimbursements_page():
    require(Voucher.can_oversee(current_user))
    last = last_complete_quarter(local_today()).label
    period = _quarter(request.args.get("quarter"), default=last)  # the one to build now
    form = QuarterForm(quarter=period)
    if form.validate_on_submit():
        try:
            touched = reimbursements.reimburse(form.quarter.data)
        except reimbursements.ReimbursementError as refused:  # a quarter to come, say
            form.quarter.errors.append(refused.text())
        else:
            commit()
            flash(_("%(n)s statement(s) built or completed.", n=len(touched)) if touched else
                  _("Nothing to build: no redemption of %(quarter)s waits for a statement.",
                    quarter=form.quarter.data.upper()), "success" if touched else "info")
            return redirect(url_for("subsidies.reimbursements_page", quarter=form.quarter.data))
    statements = reimbursements.statements(period)
    lines_of = reimbursements.entries_by_statement([s.id for s in statements])
    paid = {s.provider_id for s in statements if s.state == "paid"}
    rows = reimbursements.waiting(period)
    providers = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_([row[0] for row in rows])))} if rows else {}  # one read, not one a row
    waiting = [(providers[provider_id], count, amount, provider_id in paid, checking)
               for provider_id, count, amount, checking in rows]
    current = current_quarter(local_today()).label
    return render_template("subsidies/reimbursements.html", period=period, form=form,
                           statements=statements, waiting=waiting, quarters=(last, current),
                           lines_of=lines_of, clawed=history.clawbacks_of(
                               e.id for lines in lines_of.values() for e, _n in lines),
                           entries=reimbursements.ENTRIES, reason_text=reimbursements.reason_text,
                           # the quarter just over, whose statements are to build now
                           last_waiting=reimbursements.to_build(last) if period == current else 0,
                           quarter_over=reimbursements.parse_quarter(period).end <= now_utc(),
                           paid_form=StatementPaidForm()), 422 if form.errors else 200


@bp.route("/reimbursements/<int:statement_id>/paid", methods=["POST"])
@login_required
def statement_paid(statement_id):
    require(Voucher.can_oversee(current_user))
    statement = db.get_or_404(Reimbursement, statement_id)
    form = StatementPaidForm()
    if form.validate_on_submit():
        attempt(lambda: reimbursements.mark_paid(statement, current_user, form.reference.data),
                _("Statement marked paid."))
    else:
        for error in form.reference.errors:
            flash(error, "danger")
    return redirect(url_for("subsidies.reimbursements_page", quarter=statement.period))


@bp.route("/reimbursements/<period>.xlsx")
@login_required
def reimbursements_xlsx(period):
    require(Voucher.can_oversee(current_user))
    period = _quarter(period)
    return tables.attachment(reimbursements.export_xlsx(period), "xlsx",
                             f"voucher-reimbursements-{period}")
