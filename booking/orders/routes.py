"""Order pages: the order form (委托单) with its quote, the customer's orders, the lab's queue
and dashboard figure, each order's page with the lab's actions, sample labels with QR codes,
each sample's staff page, file downloads and the public report verification page."""
import os
from datetime import timedelta

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from booking.api.paging import paged
from booking.core.clock import from_local
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.problems import Refused
from booking.core.security import external_url
from booking.core.web import attempt, current_locale, flash_form_errors, query_int
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.orders import files, rules, services
from booking.orders.forms import (
    HAZARD_LABELS,
    LEFTOVER_LABELS,
    OUTCOME_LABELS,
    SAMPLE_STATE_LABELS,
    CloseForm,
    OrderForm,
    PhotoForm,
    ReasonForm,
    ReceiveForm,
    ReportForm,
    ScheduleForm,
    SettingsForm,
)
from booking.orders.models import Order, OrderFile, is_lab_staff
from booking.orders.notifications import STATE_LABELS

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.app_context_processor
def _labels():
    # STATE_LABELS are msgids (notices translate them in the recipient's locale): shown here,
    # they are translated in the reader's
    return {"order_state_label": lambda s: _(STATE_LABELS[s]) if s in STATE_LABELS else s,
            "sample_state_label": lambda s: SAMPLE_STATE_LABELS.get(s, s),
            "hazard_label": lambda h: HAZARD_LABELS.get(h, h),
            "leftover_label": lambda v: LEFTOVER_LABELS.get(v, v),
            "outcome_label": lambda v: OUTCOME_LABELS.get(v, v)}


def _order(order_id: int) -> Order:
    """The order, for its customer and its lab; for anyone else it does not exist (a 403
    would tell that it does), as its samples' pages."""
    order = db.session.get(Order, order_id)
    if order is None or not order.can_view(current_user):
        abort(404)
    return order


def _managed(order_id: int) -> Order:
    order = _order(order_id)
    require(order.can_manage(current_user))  # the customer may not act for the lab
    return order


# --- the customer -------------------------------------------------------------------------------
@bp.route("/")
@login_required
def mine():
    page = query_int("page", 1, 1, 10_000)
    listing = paged(services.orders_of_customer(current_user), page, 20, clamp=True)
    return render_template("orders/mine.html", listing=listing)


@bp.route("/new/<int:instrument_id>", methods=["GET", "POST"])
@login_required
def new(instrument_id):
    instrument = db.get_or_404(Instrument, instrument_id)
    if not instrument.can_view(current_user):
        abort(404)  # an unlisted instrument does not exist for you, as on every other page
    form = OrderForm()
    form.tests.choices = [SelectChoice(test, label) for test, label in
                          services.test_labels(instrument, current_locale()).items()]
    quote, problems = None, []
    if form.validate_on_submit():
        samples, tests = form.sample_lines(), form.test_names()
        if form.submit.data:
            try:
                order = services.submit_order(
                    instrument, current_user, samples=samples, tests=tests,
                    leftovers=form.leftovers.data, desired_date=form.desired_date.data,
                    urgent=form.urgent.data, notes=form.notes.data or "",
                    hazards_acknowledged=form.hazards_acknowledged.data,
                    terms_signed=form.terms.data)
            except Refused as refused:
                db.session.rollback()
                problems = refused.texts()
            else:
                commit()
                flash(_("Order %(number)s submitted. The lab will accept or decline it.",
                        number=order.number), "success")
                return redirect(url_for("orders.show", order_id=order.id))
        quote, problems = _preview(instrument, samples, tests, form.urgent.data, problems)
    status = 422 if problems or form.errors else 200
    return render_template("orders/new.html", instrument=instrument, form=form, quote=quote,
                           problems=problems,
                           settings=services.settings_for(instrument)), status


def _preview(instrument, samples, tests, urgent, problems):
    try:
        return services.quote_order(instrument, current_user, rules.total_samples(samples),
                                    len(tests), urgent), problems
    except Refused as refused:
        return None, problems + refused.texts()


@bp.route("/<int:order_id>")
@login_required
def show(order_id):
    order = _order(order_id)
    manage = order.can_manage(current_user)
    return render_template(
        "orders/show.html", order=order, manage=manage,
        released=manage or services.report_released(order),
        settings=services.settings_for(order.instrument), reason_form=ReasonForm(),
        test_labels=services.test_labels(order.instrument, current_locale()),
        receive_form=ReceiveForm(), schedule_form=ScheduleForm(), report_form=ReportForm(),
        close_form=CloseForm(data={"outcome": order.leftovers}), path=rules.PATH)


@bp.route("/<int:order_id>/cancel", methods=["POST"])
@login_required
def cancel(order_id):
    order = _order(order_id)
    require(order.customer_user_id == current_user.id)
    attempt(lambda: services.cancel_order(order, current_user),
            _("Order %(number)s cancelled.", number=order.number))
    return redirect(url_for("orders.show", order_id=order.id))


# --- the lab ------------------------------------------------------------------------------------
@bp.route("/lab")
@login_required
def lab():
    require(current_user.has_any_role("lab_manager") or current_user.is_admin)
    state = request.args.get("state") or None
    if state is not None and state not in rules.STATES:
        abort(400)
    page = query_int("page", 1, 1, 10_000)
    listing = paged(services.orders_of_lab(current_user, state), page, 20, clamp=True)
    org_ids = None if current_user.is_admin else \
        [r.organisation_id for r in current_user.roles if r.name == "lab_manager"]
    return render_template("orders/lab.html", listing=listing, state=state, states=rules.STATES,
                           turnaround=services.turnaround_by_instrument(org_ids))


@bp.route('/<int:order_id>/<any(accept, "start-testing"):action>', methods=["POST"])
@login_required
def simple_action(order_id, action):
    order = _managed(order_id)
    if action == "accept":
        attempt(lambda: services.accept_order(order, current_user),
                _("Order %(number)s accepted.", number=order.number))
    else:
        attempt(lambda: services.start_testing(order, current_user), _("Testing started."))
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/<int:order_id>/decline", methods=["POST"])
@login_required
def decline(order_id):
    order = _managed(order_id)
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(lambda: services.decline_order(order, current_user, form.reason.data),
                _("Order %(number)s declined.", number=order.number))
    else:
        flash(_("Give a reason for declining the order."), "danger")
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/<int:order_id>/receive", methods=["POST"])
@login_required
def receive(order_id):
    order = _managed(order_id)
    form = ReceiveForm()
    if form.validate_on_submit():
        conditions = {s.id: request.form.get(f"condition-{s.id}", "")[:500]
                      for s in order.samples}
        if attempt(lambda: services.receive_order(order, current_user,
                                                  condition=form.condition.data,
                                                  sample_conditions=conditions),
                   _("Samples received: print their labels.")):
            return redirect(url_for("orders.show", order_id=order.id, _anchor="samples"))
    else:
        flash(_("Describe the condition the samples arrived in."), "danger")
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/<int:order_id>/schedule", methods=["POST"])
@login_required
def schedule(order_id):
    order = _managed(order_id)
    form = ScheduleForm()
    if form.validate_on_submit():
        start = from_local(form.start.data, order.instrument.timezone)
        end = start + timedelta(minutes=form.minutes.data)
        attempt(lambda: services.schedule_booking(order, current_user, start=start, end=end),
                _("Instrument time scheduled."))
    else:
        flash_form_errors(form)
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/<int:order_id>/report", methods=["POST"])
@login_required
def report(order_id):
    order = _managed(order_id)
    form = ReportForm()
    reports = [f for f in request.files.getlist("report") if f.filename]
    data = [f for f in request.files.getlist("data") if f.filename]
    if not form.validate_on_submit() or len(reports) != 1:
        flash(_("Choose one PDF report."), "danger")
        return redirect(url_for("orders.show", order_id=order.id))
    prefix = order.provider.short_code or f"ORG{order.provider_id}"

    def upload():
        rules.check_move(order.state, "report_ready")
        files.check_all(reports, "report")
        files.check_all(data, "data")
        files.store(order, reports[0], "report", current_user)
        for upload_ in data:
            files.store(order, upload_, "data", current_user)
        services.complete_with_report(order, current_user, prefix)

    attempt(upload, _("Report uploaded; the invoice is issued."))
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/<int:order_id>/close", methods=["POST"])
@login_required
def close(order_id):
    order = _managed(order_id)
    form = CloseForm()
    if form.validate_on_submit():
        attempt(lambda: services.close_order(order, current_user, form.outcome.data),
                _("Order %(number)s closed.", number=order.number))
    else:
        flash(_("Say whether the leftover samples were returned or disposed of."), "danger")
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/<int:order_id>/reissue-invoice", methods=["POST"])
@login_required
def reissue_invoice(order_id):
    order = _managed(order_id)
    attempt(lambda: services.reissue_invoice(order, current_user),
            _("The invoice of order %(number)s was issued again.", number=order.number))
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/instruments/<int:instrument_id>/settings", methods=["GET", "POST"])
@login_required
def settings(instrument_id):
    instrument = db.get_or_404(Instrument, instrument_id)
    require(is_lab_staff(current_user, instrument.organisation_id))
    current = services.settings_for(instrument)
    form = SettingsForm()
    if not form.is_submitted():
        form.surcharge.data, form.release_on.data = current.urgent_surcharge_percent, \
            current.release_on
    if form.validate_on_submit() and attempt(
            lambda: services.save_settings(instrument, current_user,
                                           surcharge_percent=form.surcharge.data,
                                           release_on=form.release_on.data),
            _("Order settings saved.")):
        return redirect(url_for("orders.settings", instrument_id=instrument.id))
    return render_template("orders/settings.html", instrument=instrument, form=form), \
        422 if form.errors else 200


# --- samples: labels and staff pages ----------------------------------------------------------
def _qr_svg(url: str) -> Markup:
    """An inline SVG QR code (segno), safe to embed: it holds only our URL."""
    svg = segno.make(url, error="m").svg_inline(scale=3, border=2)
    return Markup(svg)  # noqa: S704 - generated by segno from our own URL


@bp.route("/<int:order_id>/labels")
@login_required
def labels(order_id):
    order = _managed(order_id)
    if not all(sample.code for sample in order.samples):
        flash(_("Labels are printed once the samples are received."), "warning")
        return redirect(url_for("orders.show", order_id=order.id))
    items = [(s, external_url("orders.sample", code=s.code)) for s in order.samples]
    return render_template("orders/labels.html", order=order,
                           items=[(s, url, _qr_svg(url)) for s, url in items])


def _managed_sample(code: str):
    """The sample a label's code names, for the lab that runs its order; for anyone else the
    code does not exist (a 403 would tell that it does)."""
    found = services.sample_by_code(code) if len(code) <= 40 else None
    if found is None or not found.order.can_manage(current_user):
        abort(404)
    return found


@bp.route("/samples/<code>")
@login_required
def sample(code):
    found = _managed_sample(code)
    photos = [f for f in found.order.files if f.sample_id == found.id]
    return render_template("orders/sample.html", sample=found, order=found.order,
                           photos=photos, form=PhotoForm())


@bp.route("/samples/<code>/photo", methods=["POST"])
@login_required
def sample_photo(code):
    found = _managed_sample(code)
    order = found.order
    uploads = [f for f in request.files.getlist("photo") if f.filename]
    if not PhotoForm().validate_on_submit() or not uploads:
        flash(_("Choose a photo (JPEG or PNG)."), "danger")
    else:
        def store():
            files.check_all(uploads, "photo")
            for upload in uploads:
                files.store(order, upload, "photo", current_user, sample=found)
        attempt(store, _("Photo added."))
    return redirect(url_for("orders.sample", code=found.code))


# --- files ------------------------------------------------------------------------------------
@bp.route("/<int:order_id>/files/<int:file_id>")
@login_required
def download(order_id, file_id):
    order = _order(order_id)
    stored = db.session.scalar(select(OrderFile).where(OrderFile.id == file_id,
                                                       OrderFile.order_id == order.id))
    if stored is None or not os.path.exists(files.path_of(stored)):
        abort(404)
    if not order.can_manage(current_user) and (
            stored.kind == "photo" or not services.report_released(order)):
        abort(403)
    # photos open in the page (staff only); reports and data download
    return send_file(files.path_of(stored), mimetype=stored.content_type,
                     as_attachment=stored.kind != "photo",
                     download_name=stored.filename, max_age=0)


# --- public verification ----------------------------------------------------------------------
@bp.route("/verify")
def verify():
    number = (request.args.get("number") or "").strip()[:40]
    found = services.order_by_report_number(number) if number else None
    return render_template("orders/verify.html", number=number, found=found), \
        404 if number and found is None else 200

