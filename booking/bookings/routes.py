"""Booking calendar, booking form, my bookings, the approval queue, qualifications, iCal feeds."""
import marshmallow as ma
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from booking.accounts.rules import mask_email
from booking.accounts.services import get_user_by_email
from booking.api.paging import paged
from booking.billing.pricing import (
    NoRate,
    penalty_fen,
    quote_booking,
)
from booking.bookings import (
    calendar,
    feeds,
    ical,
    labels,
    lists,
    qualifications,
    ratings,
    requests,
    rules,
    schemas,
    series_routes,
)
from booking.bookings.calendar_cache import CalendarCache
from booking.bookings.forms import (
    BookingForm,
    BulkDecisionForm,
    QualificationForm,
    RatingForm,
    RejectForm,
    TrainingRequestForm,
    on_slot_grid,
)
from booking.bookings.models import Booking, TrainingRequest
from booking.core.clock import from_local, now_utc, to_local
from booking.core.db import MAX_ID, reads_first
from booking.core.money import format_cny
from booking.core.notifications import commit
from booking.core.permissions import require, role_required
from booking.core.web import (
    PostForm,
    attempt,
    back_to,
    current_locale,
    query_args,
    query_int,
)
from booking.extensions import db
from booking.groups import services as groups
from booking.instruments.forms import STATUS_LABELS
from booking.instruments.models import Instrument, Qualification, can_view_instrument

bp = Blueprint("bookings", __name__)

bp.add_app_template_filter(labels.state_label, "booking_state")
bp.add_app_template_filter(labels.mode_label, "booking_mode")
bp.add_app_template_filter(mask_email, "mask_email")
bp.register_blueprint(series_routes.bp)  # recurring series: bookings.series.*


# --- loading -----------------------------------------------------------------------------------
def _instrument_or_404(instrument_id: int) -> Instrument:
    instrument = db.get_or_404(Instrument, instrument_id)
    if not can_view_instrument(instrument, current_user):
        abort(404)
    return instrument


def _booking_or_404(booking_id: int) -> Booking:
    booking = db.get_or_404(Booking, booking_id)
    if not booking.can_view(current_user):
        abort(404)  # someone else's booking does not exist for you
    return booking


# --- calendar and booking form -----------------------------------------------------------------
@bp.record_once
def _add_calendar_cache(state) -> None:
    state.app.extensions["calendar_cache"] = CalendarCache(
        state.app.config["CALENDAR_CACHE_MAX_BYTES"])


def _calendar_body(instrument: calendar.CalendarInstrument, view: calendar.CalendarView
                   ) -> bytes:
    return schemas.calendar_body(view, instrument.timezone)


@bp.route("/instruments/<int:instrument_id>/calendar.json")
def calendar_json(instrument_id):
    """FullCalendar events for one instrument, times as wall clock in its timezone."""
    try:
        start, end = schemas.calendar_range(request.args)
    except ma.ValidationError:  # the calendar's script asks: an answer it can read
        return jsonify({"error": _("Give start and end as ISO 8601 times, at most 62 days "
                                   "apart.")}), 400
    found = current_app.extensions["calendar_cache"].calendar(
        instrument_id, current_user, start, end, _calendar_body,
        known=request.headers.get("If-None-Match"))
    if found is None or not can_view_instrument(found.instrument, current_user):
        abort(404)  # in JSON, as every error of a .json path
    # the browser keeps the body and asks again with its ETag: 304 while it is current
    headers = {"ETag": found.etag, "Cache-Control": "private, no-cache"}
    if found.body is None:
        return Response(status=304, headers=headers)
    return Response(found.body, mimetype="application/json", headers=headers)


@bp.route("/instruments/<int:instrument_id>/quote.json")
@login_required
def quote_json(instrument_id):
    """Live price and rule check for the booking form."""
    instrument = _instrument_or_404(instrument_id)
    try:
        args = schemas.load_quote_query(request.args, instrument.timezone)
    except ma.ValidationError as error:
        return jsonify({"error": _quote_query_error(error)}), 400
    problems, warnings = calendar.form_checks(instrument, current_user, start=args["start"],
                                              end=args["end"], mode=args["mode"],
                                              samples=args["samples"])
    body = {"problems": schemas.problems_body(problems),
            "warnings": schemas.problems_body(warnings)}
    try:
        quote = quote_booking(instrument, current_user, args["start"], args["end"],
                              args["mode"], args["samples"])
    except NoRate:
        return jsonify({**body, "error": _("No price is set for your customer class.")})
    body["warnings"] += schemas.problems_body(_late_from_the_start(instrument, args))
    project = groups.get_project(query_int("project", 0))
    if project is None:
        return jsonify({**body, **schemas.quote_page_body(quote, instrument.per_sample_fee_fen)})
    charge = groups.assess_charge(
        project, current_user, instrument_id=instrument.id, category=instrument.category or "",
        fee_fen=quote.fee_fen, day=to_local(args["start"], instrument.timezone).date())
    body["problems"] += schemas.problems_body(charge.problems)
    body["warnings"] += schemas.problems_body(charge.warnings())
    if not project.can_charge(current_user):  # nothing of another group's budget
        return jsonify({**body, **schemas.quote_page_body(quote, instrument.per_sample_fee_fen)})
    remaining = groups.budget_of(project).remaining_fen
    return jsonify({**body, **schemas.quote_page_body(quote, instrument.per_sample_fee_fen),
                    **schemas.project_quote_body(project.label, remaining,
                                                 remaining - quote.fee_fen)})


def _late_from_the_start(instrument: Instrument, args: dict) -> list[rules.Problem]:
    fee = penalty_fen(instrument, current_user, args["start"], args["end"],
                      instrument.late_cancel_fraction)
    late = rules.late_from_the_start(calendar.policy_for(instrument), args["start"], now_utc(),
                                     format_cny(fee) if fee else None)
    return [late] if late else []


def _quote_query_error(error: ma.ValidationError) -> str:
    fields = set(error.normalized_messages())
    if fields == {"samples"}:  # the form's own words, in the reader's language
        return _("A staff-operated booking needs the number of samples (1 to %(max)d).",
                 max=rules.MAX_SAMPLES)
    if fields == {"end"} and request.args.get("end"):  # the wrong order, or too long
        return _("The end must be after the start, at most 7 days later.")
    return _("Choose a start and an end.")


def _booking_form(instrument: Instrument) -> BookingForm:
    form = BookingForm()
    form.set_modes(instrument.allows_self_operated, instrument.allows_staff_operated)
    on_slot_grid(form, instrument.slot_minutes, instrument.timezone, instrument.max_days_ahead)
    if current_user.is_authenticated:
        form.set_projects(groups.chargeable_projects(current_user),
                          groups.default_project_id(current_user))
    return form


def _fee_of(instrument: Instrument, start, end, mode: str, samples: int) -> int:
    """The quoted fee a project holds for the booking (0 where no rate is set)."""
    try:
        return quote_booking(instrument, current_user, start, end, mode, samples).fee_fen
    except NoRate:
        return 0


def _submit_booking(instrument: Instrument, form: BookingForm) -> list[str]:
    """Create the booking; the problems to show when it was refused."""
    start = from_local(form.start.data, instrument.timezone)
    end = from_local(form.end.data, instrument.timezone)
    project = groups.get_project(form.project.data)
    fee = _fee_of(instrument, start, end, form.mode.data, form.sample_count) if project else 0
    try:
        booking = requests.create_booking(
            instrument, current_user, start=start, end=end, mode=form.mode.data,
            purpose=form.purpose.data.strip(), samples=form.sample_count, project=project,
            fee_fen=fee)
    except requests.BookingRefused as refused:  # the rules, or a clash (rolled back)
        return refused.texts()
    to_pi = booking.state == "pending" and groups.awaiting_pi([booking.id])
    commit()
    said = (_("Booking requested: waiting for your PI's approval, then the lab's.")
            if to_pi and instrument.requires_approval
            else _("Booking requested: waiting for your PI's approval.") if to_pi
            else _("Booking requested: waiting for the lab's approval.")
            if booking.state == "pending" else _("Booking confirmed."))
    # a link to the new booking: a long list of them would otherwise hide it
    flash(Markup('{} <a href="{}" class="alert-link" id="new-booking">#{}</a>').format(
        said, url_for("bookings.show", booking_id=booking.id), booking.id), "success")
    return []


@bp.route("/instruments/<int:instrument_id>/book", methods=["GET", "POST"])
@reads_first
def book(instrument_id):
    instrument = _instrument_or_404(instrument_id)
    form = _booking_form(instrument)
    problems = []
    if form.validate_on_submit():
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.path))
        problems = _submit_booking(instrument, form)
        if not problems:
            return redirect(url_for("bookings.mine"))
    return book_page(instrument, form, problems, 422 if problems or form.errors else 200)


def book_page(instrument: Instrument, form: BookingForm, problems=(), status: int = 200):
    """The booking page with `form` as typed (a refused request, single or series, shows it
    again: the repeat fields read the posted ones themselves)."""
    # a qualification matters only where the instrument can be operated by its users
    needs_qualification = instrument.requires_qualification and instrument.allows_self_operated
    qualified = (current_user.is_authenticated and needs_qualification
                 and qualifications.is_qualified(instrument, current_user))
    training = (current_user.is_authenticated and needs_qualification and not qualified
                and qualifications.open_training_request(instrument, current_user))
    out_of_service = None if instrument.status == "active" else \
        str(STATUS_LABELS.get(instrument.status, instrument.status))
    return render_template("bookings/book.html", instrument=instrument, form=form,
                           problems=problems, needs_qualification=needs_qualification,
                           qualified=qualified, training=training, out_of_service=out_of_service,
                           labels=labels.calendar_labels(),
                           day_span=calendar.day_span(instrument),
                           training_form=TrainingRequestForm(formdata=None)), status


@bp.route("/instruments/<int:instrument_id>/training", methods=["POST"])
@login_required
def request_training(instrument_id):
    instrument = _instrument_or_404(instrument_id)
    form = TrainingRequestForm()
    if form.validate_on_submit():
        qualifications.request_training(instrument, current_user, (form.message.data or "").strip())
        commit()
        flash(_("Training requested. The lab will contact you."), "success")
    return redirect(url_for("bookings.book", instrument_id=instrument.id))


# --- approval queue ----------------------------------------------------------------------------
@bp.route("/bookings/queue")
@role_required("lab_manager")
def queue():
    args = query_args(lists.QUEUE_ARGS)
    listing = paged(lists.queue_requests(current_user, args, current_user.timezone),
                    args["page"], args["per_page"], clamp=True)
    return render_template("bookings/queue.html", listing=listing, args=args,
                           instruments=lists.queue_instruments(current_user),
                           pi_approved=groups.pi_approved_at([b.id for b in listing["items"]]),
                           training=qualifications.open_training_requests(current_user),
                           reject_form=RejectForm(formdata=None),
                           bulk_form=BulkDecisionForm(formdata=None))


def _decide(booking_id: int, approve: bool):
    booking = _booking_or_404(booking_id)
    require(booking.can_manage(current_user))
    form = PostForm() if approve else RejectForm()
    if not form.validate_on_submit():
        flash(_("Rejecting needs a reason for the requester."), "danger")
        return redirect(back_to("bookings.queue"))
    if not booking.can_decide(current_user):
        flash(_("This request was already decided."), "warning")
        return redirect(back_to("bookings.queue"))
    about = {"id": booking.id, "name": booking.user.name,
             "instrument": booking.instrument.display_name(current_locale()),
             "when": to_local(booking.start_at, booking.instrument.timezone)
             .strftime("%Y-%m-%d %H:%M")}
    attempt(lambda: requests.approve_booking(booking, current_user) if approve
            else requests.reject_booking(booking, current_user, form.reason.data),
            _("Approved: #%(id)s, %(name)s, %(instrument)s at %(when)s.", **about) if approve
            else _("Rejected: #%(id)s, %(name)s, %(instrument)s at %(when)s.", **about))
    return redirect(back_to("bookings.queue"))


@bp.route("/bookings/<int:booking_id>/approve", methods=["POST"])
@login_required
def approve(booking_id):
    return _decide(booking_id, approve=True)


@bp.route("/bookings/<int:booking_id>/reject", methods=["POST"])
@login_required
def reject(booking_id):
    return _decide(booking_id, approve=False)


MAX_BULK = 1000


@bp.route("/bookings/queue/bulk", methods=["POST"])
@role_required("lab_manager")
def bulk_decide():
    form = BulkDecisionForm()
    approve = request.form.get("action") == "approve"
    ids = [i for i in request.form.getlist("ids", type=int) if 0 < i <= MAX_ID]
    if len(ids) > MAX_BULK:
        flash(_("Decide at most %(count)d requests at once.", count=MAX_BULK), "warning")
        return redirect(back_to("bookings.queue"))
    if not form.validate_on_submit() or not ids:
        flash(_("Tick at least one request."), "warning")
        return redirect(back_to("bookings.queue"))
    bookings = requests.pending_for_ids(current_user, ids)
    try:
        count = requests.decide_bookings(bookings, current_user, approve=approve,
                                         reason=form.reason.data or "")
    except requests.ReasonRequired as refused:
        flash(refused.text(), "danger")
    else:
        commit()
        flash(_("%(count)d requests decided.", count=count), "success")
    return redirect(back_to("bookings.queue"))


# --- qualifications and training ---------------------------------------------------------------
@bp.route("/instruments/<int:instrument_id>/qualifications", methods=["GET", "POST"],
          endpoint="qualifications")
@login_required
def qualifications_page(instrument_id):
    instrument = db.get_or_404(Instrument, instrument_id)
    require(instrument.can_edit(current_user))
    form = QualificationForm()
    if form.validate_on_submit():
        user = get_user_by_email(form.email.data)
        if user is None:
            form.email.errors.append(_("No user with this e-mail address."))
        else:
            qualifications.grant_qualification(instrument, user, current_user)
            commit()
            flash(_("%(name)s is now qualified.", name=user.name), "success")
            return redirect(url_for("bookings.qualifications", instrument_id=instrument.id))
    return render_template("bookings/qualifications.html", instrument=instrument, form=form,
                           qualifications=qualifications.qualifications_of(instrument))


@bp.route("/qualifications/<int:qualification_id>/revoke", methods=["POST"])
@login_required
def revoke_qualification(qualification_id):
    qualification = db.get_or_404(Qualification, qualification_id)
    require(qualification.instrument.can_edit(current_user))
    if PostForm().validate_on_submit():
        qualifications.revoke_qualification(qualification, current_user)
        commit()
        flash(_("Qualification withdrawn."), "info")
    return redirect(url_for("bookings.qualifications",
                            instrument_id=qualification.instrument_id))


@bp.route("/training/<int:request_id>/<any(grant, decline):decision>", methods=["POST"])
@login_required
def decide_training(request_id, decision):
    training = db.get_or_404(TrainingRequest, request_id)
    require(training.instrument.can_edit(current_user))
    form = PostForm() if decision == "grant" else RejectForm()
    if not form.validate_on_submit():
        flash(_("Declining needs a reason for the requester."), "danger")
    elif training.can_decide(current_user):
        if decision == "grant":
            qualifications.grant_qualification(training.instrument, training.user, current_user)
        else:
            qualifications.decline_training(training, current_user, form.reason.data)
        commit()
        flash(_("Training request answered."), "success")
    return redirect(url_for("bookings.queue"))


# --- iCalendar feeds ---------------------------------------------------------------------------
def _private_summary(booking: Booking) -> str:
    return (f"{booking.instrument.display_name(current_locale())} · "
            f"{labels.state_label(booking.state)}")


def _ics(body: bytes) -> Response:
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})


@bp.route("/ical/user/<token>.ics")
def user_feed(token):
    user = feeds.user_for_feed_token(token)
    if user is None:
        abort(404)
    with force_locale(user.locale):  # a calendar app asks: the feed is in its owner's language
        return _ics(ical.private_feed(_("My instrument bookings"), feeds.feed_bookings(user),
                                      _private_summary, user.locale))


@bp.route("/ical/instrument/<int:instrument_id>.ics")
def instrument_feed(instrument_id):
    instrument = db.get_or_404(Instrument, instrument_id)
    if not instrument.is_listed:
        abort(404)
    return _ics(ical.public_feed(instrument.display_name(current_locale()),
                                 feeds.public_feed_bookings(instrument), _("Booked")))


# --- ratings of completed bookings -----------------------------------------------------------
@bp.route("/ratings")
@login_required
def my_ratings():
    return render_template("bookings/my_ratings.html",
                           bookings=ratings.completed_bookings_of(current_user))


@bp.route("/bookings/<int:booking_id>/rate", methods=["GET", "POST"])
@login_required
def rate(booking_id):
    booking = db.get_or_404(Booking, booking_id)
    require(booking.is_booked_by(current_user))
    if not booking.can_rate(current_user):
        flash(_("Only completed bookings can be rated."), "warning")
        return redirect(url_for("bookings.my_ratings"))
    existing = ratings.rating_of(booking)
    form = RatingForm()
    if existing is None and form.validate_on_submit():
        ratings.rate_booking(booking, current_user, form.stars.data, form.comment.data or "")
        commit()
        flash(_("Thank you for rating this booking."), "success")
        return redirect(url_for("bookings.my_ratings"))
    return render_template("bookings/rate.html", booking=booking, form=form, existing=existing)


# Moving a booking, booking for someone else and wait lists: routes of their own module.
from booking.bookings import changes_routes, mine_routes  # noqa: E402,F401
