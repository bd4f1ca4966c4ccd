"""Booking calendar, booking form, my bookings, the approval queue, qualifications, iCal feeds."""
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from booking.accounts.services import get_user_by_email
from booking.billing.services import NoRate, billable_minutes_of_bookings, quote_booking
from booking.bookings import ical, ratings, rules, services
from booking.bookings.calendar_cache import CalendarCache
from booking.bookings.forms import (
    BookingForm,
    BulkDecisionForm,
    CancelForm,
    QualificationForm,
    RatingForm,
    RejectForm,
    TrainingRequestForm,
    local_to_utc,
)
from booking.bookings.models import MAX_LENGTH, Booking, TrainingRequest
from booking.core.clock import from_local, in_service_window, now_utc
from booking.core.db import MAX_ID, reads_first
from booking.core.money import format_cny
from booking.core.notifications import commit
from booking.core.permissions import require, role_required
from booking.core.security import external_url
from booking.core.web import PostForm, current_locale, query_int
from booking.extensions import db
from booking.instruments.models import Instrument, Qualification, can_view_instrument

bp = Blueprint("bookings", __name__)

MAX_RANGE = timedelta(days=62)
STATE_LABELS = {
    "pending": _l("pending approval"), "approved": _l("approved"), "in_use": _l("in use"),
    "completed": _l("completed"), "rejected": _l("rejected"), "cancelled": _l("cancelled"),
    "expired": _l("expired"), "no_show": _l("no-show"),
}
CLASS_LABELS = {"internal": _l("internal"), "academic": _l("academic (other university)"),
                "enterprise": _l("enterprise")}
MODE_LABELS = {"self_operated": _l("Self-operated"), "staff_operated": _l("Staff-operated (送样)")}


@bp.app_template_filter("booking_state")
def booking_state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


@bp.app_template_filter("booking_mode")
def booking_mode_label(mode: str) -> str:
    return str(MODE_LABELS.get(mode, mode))


def problem_text(problem: rules.Problem) -> str:
    return _(problem.template, **problem.params)


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


def _parsed(value: str | None) -> datetime | None:
    """An ISO 8601 moment within the service window, naive when it has no offset."""
    try:
        moment = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if in_service_window(moment, now_utc()) else None


def _moment(value: str | None, timezone: str) -> datetime | None:
    """An ISO 8601 moment in UTC; without an offset it is wall-clock time in `timezone`."""
    parsed = _parsed(value)
    return None if parsed is None else from_local(parsed, timezone)


def _requested_range() -> tuple[datetime, datetime]:
    """start and end from the query string, both naive (wall clock at the instrument) or both
    with an offset, at most MAX_RANGE apart."""
    start, end = _parsed(request.args.get("start")), _parsed(request.args.get("end"))
    if start is None or end is None or (start.tzinfo is None) != (end.tzinfo is None) or \
            not start < end <= start + MAX_RANGE:
        abort(400, _("Give start and end as ISO 8601 times, at most 62 days apart."))
    return start, end


# --- calendar and booking form -----------------------------------------------------------------
@lru_cache(maxsize=65536)  # pure; the same slot boundaries come back on every request
def _wall_clock_text(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="minutes")[:16]


def _calendar_events(view: services.CalendarView, timezone: str) -> list[dict]:
    """Language-neutral events (the page supplies the labels): free, blackout, busy, own.
    Times are wall clock at the instrument, without offset, as FullCalendar expects them."""
    def local(moment: datetime) -> str:
        return _wall_clock_text(moment, timezone)

    events = [{"start": local(s), "end": local(e), "groupId": "free", "display": "background",
               "classNames": ["ev-free"], "extendedProps": {"kind": "free"}} for s, e in view.free]
    events += [{"start": local(s), "end": local(e), "display": "background",
                "classNames": ["ev-blackout"], "extendedProps": {"kind": "blackout"}}
               for s, e in view.blackouts]
    events += [{"start": local(s), "end": local(e), "classNames": ["ev-busy"],
                "extendedProps": {"kind": "busy"}} for s, e in view.others]
    events += [{"start": local(b.start_at), "end": local(b.end_at), "id": str(b.id),
                "classNames": ["ev-own", f"ev-{b.state}"],
                "extendedProps": {"kind": "own", "state": b.state}} for b in view.own]
    return events


def calendar_labels() -> dict:
    return {"free": _("Free: tap to book"), "busy": _("Booked"), "blackout": _("Unavailable"),
            "states": {state: str(label) for state, label in STATE_LABELS.items()}}


@bp.record_once
def _add_calendar_cache(state) -> None:
    state.app.extensions["calendar_cache"] = CalendarCache(
        state.app.config["CALENDAR_CACHE_MAX_BYTES"])


def _calendar_body(instrument: services.CalendarInstrument, view: services.CalendarView
                   ) -> bytes:
    return current_app.json.dumps(_calendar_events(view, instrument.timezone)).encode()


@bp.route("/instruments/<int:instrument_id>/calendar.json")
def calendar_json(instrument_id):
    """FullCalendar events for one instrument, times as wall clock in its timezone."""
    start, end = _requested_range()
    found = current_app.extensions["calendar_cache"].calendar(
        instrument_id, current_user, start, end, _calendar_body)
    if found is None or not can_view_instrument(found[0], current_user):
        abort(404)
    return Response(found[1], mimetype="application/json")


@bp.route("/instruments/<int:instrument_id>/quote.json")
@login_required
def quote_json(instrument_id):
    """Live price and rule check for the booking form."""
    instrument = _instrument_or_404(instrument_id)
    start = _moment(request.args.get("start"), instrument.timezone)
    end = _moment(request.args.get("end"), instrument.timezone)
    mode = request.args.get("mode", "self_operated")
    samples = query_int("samples", 0, 0, rules.MAX_SAMPLES) if mode == "staff_operated" else 0
    if start is None or end is None or not start < end <= start + MAX_LENGTH or \
            mode not in rules.MODES:
        return jsonify({"error": _("Choose a start and an end.")}), 400
    problems = services.booking_problems(instrument, current_user, start=start, end=end,
                                         mode=mode, samples=samples)
    body = {"problems": [{"code": p.code, "message": problem_text(p)} for p in problems]}
    try:
        quote = quote_booking(instrument, current_user, start, end, mode, samples)
    except NoRate:
        return jsonify({**body, "error": _("No price is set for your customer class.")})
    return jsonify({**body, "customer_class": quote.customer_class,
                    "customer_class_label": str(CLASS_LABELS[quote.customer_class]),
                    "billable_minutes": quote.billable_minutes, "fee_fen": quote.fee_fen,
                    "voucher_fen": quote.voucher_fen, "payable_fen": quote.payable_fen,
                    "samples": quote.samples, "samples_fee_fen": quote.samples_fee_fen,
                    "samples_fee": format_cny(quote.samples_fee_fen),
                    "per_sample_fee": format_cny(instrument.per_sample_fee_fen),
                    "fee": format_cny(quote.fee_fen), "voucher": format_cny(quote.voucher_fen),
                    "payable": format_cny(quote.payable_fen)})


def _booking_form(instrument: Instrument) -> BookingForm:
    form = BookingForm()
    form.set_modes(instrument.allows_self_operated, instrument.allows_staff_operated)
    return form


def _submit_booking(instrument: Instrument, form: BookingForm) -> list[str]:
    """Create the booking; the problems to show when it was refused."""
    try:
        booking = services.create_booking(
            instrument, current_user, start=local_to_utc(form.start.data, instrument.timezone),
            end=local_to_utc(form.end.data, instrument.timezone), mode=form.mode.data,
            purpose=form.purpose.data.strip(), samples=form.sample_count)
    except services.BookingRefused as refused:
        return [problem_text(p) for p in refused.problems]
    except services.BookingClash:
        db.session.rollback()
        return [_("Someone else has just booked (part of) this time. Pick another free slot.")]
    commit()
    flash(_("Booking requested: waiting for the lab's approval.") if booking.state == "pending"
          else _("Booking confirmed."), "success")
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
    qualified = (current_user.is_authenticated and instrument.requires_qualification
                 and services.is_qualified(instrument, current_user))
    status = 422 if problems or form.errors else 200
    return render_template("bookings/book.html", instrument=instrument, form=form,
                           problems=problems, qualified=qualified, labels=calendar_labels(),
                           training_form=TrainingRequestForm(formdata=None)), status


@bp.route("/instruments/<int:instrument_id>/training", methods=["POST"])
@login_required
def request_training(instrument_id):
    instrument = _instrument_or_404(instrument_id)
    form = TrainingRequestForm()
    if form.validate_on_submit():
        services.request_training(instrument, current_user, (form.message.data or "").strip())
        commit()
        flash(_("Training requested. The lab will contact you."), "success")
    return redirect(url_for("bookings.book", instrument_id=instrument.id))


# --- my bookings -------------------------------------------------------------------------------
@bp.route("/bookings/mine")
@login_required
def mine():
    feed = services.feed_token_of(current_user)
    feed_url = external_url("bookings.user_feed", token=feed.token) if feed else None
    past = services.bookings_of(current_user, upcoming=False)
    billable = billable_minutes_of_bookings([b.id for b in past if b.state == "completed"])
    return render_template("bookings/mine.html",
                           upcoming=services.bookings_of(current_user, upcoming=True),
                           past=past, billable=billable, feed_url=feed_url,
                           cancel_form=CancelForm(formdata=None))


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel(booking_id):
    booking = _booking_or_404(booking_id)
    require(booking.can_cancel(current_user))
    form = CancelForm()
    if form.validate_on_submit():
        try:
            services.cancel_booking(booking, current_user, (form.reason.data or "").strip())
        except rules.IllegalTransition:
            flash(_("This booking can no longer be cancelled."), "danger")
        else:
            commit()
            flash(_("Booking cancelled (late: a cancellation fee may apply).")
                  if booking.late_cancel else _("Booking cancelled."), "info")
    return redirect(url_for("bookings.mine"))


@bp.route("/bookings/<int:booking_id>.ics")
@login_required
def booking_ics(booking_id):
    booking = _booking_or_404(booking_id)
    body = ical.private_feed(booking.instrument.display_name(current_locale()), [booking],
                             _private_summary)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f"attachment; filename=booking-{booking.id}.ics"})


@bp.route("/bookings/feed/reset", methods=["POST"])
@login_required
def reset_feed():
    if PostForm().validate_on_submit():
        services.reset_feed_token(current_user)
        commit()
        flash(_("New calendar address created; any older one no longer works."), "info")
    return redirect(url_for("bookings.mine"))


# --- approval queue ----------------------------------------------------------------------------
@bp.route("/bookings/queue")
@role_required("lab_manager")
def queue():
    return render_template("bookings/queue.html", bookings=services.approval_queue(current_user),
                           training=services.open_training_requests(current_user),
                           reject_form=RejectForm(formdata=None),
                           bulk_form=BulkDecisionForm(formdata=None))


def _decide(booking_id: int, approve: bool):
    booking = _booking_or_404(booking_id)
    require(booking.can_decide(current_user))
    form = PostForm() if approve else RejectForm()
    if not form.validate_on_submit():
        flash(_("Rejecting needs a reason for the requester."), "danger")
        return redirect(url_for("bookings.queue"))
    try:
        if approve:
            services.approve_booking(booking, current_user)
        else:
            services.reject_booking(booking, current_user, form.reason.data)
    except rules.IllegalTransition:
        flash(_("This request was already decided."), "warning")
    else:
        commit()
        flash(_("Approved.") if approve else _("Rejected."), "success")
    return redirect(url_for("bookings.queue"))


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
        return redirect(url_for("bookings.queue"))
    if not form.validate_on_submit() or not ids:
        flash(_("Tick at least one request."), "warning")
        return redirect(url_for("bookings.queue"))
    bookings = services.pending_for_ids(current_user, ids)
    try:
        count = services.decide_bookings(bookings, current_user, approve=approve,
                                         reason=form.reason.data or "")
    except services.ReasonRequired:
        flash(_("Rejecting needs a reason for the requester."), "danger")
    else:
        commit()
        flash(_("%(count)d requests decided.", count=count), "success")
    return redirect(url_for("bookings.queue"))


# --- qualifications and training ---------------------------------------------------------------
@bp.route("/instruments/<int:instrument_id>/qualifications", methods=["GET", "POST"])
@login_required
def qualifications(instrument_id):
    instrument = db.get_or_404(Instrument, instrument_id)
    require(instrument.can_edit(current_user))
    form = QualificationForm()
    if form.validate_on_submit():
        user = get_user_by_email(form.email.data)
        if user is None:
            form.email.errors.append(_("No user with this e-mail address."))
        else:
            services.grant_qualification(instrument, user, current_user)
            commit()
            flash(_("%(name)s is now qualified.", name=user.name), "success")
            return redirect(url_for("bookings.qualifications", instrument_id=instrument.id))
    return render_template("bookings/qualifications.html", instrument=instrument, form=form,
                           qualifications=services.qualifications_of(instrument))


@bp.route("/qualifications/<int:qualification_id>/revoke", methods=["POST"])
@login_required
def revoke_qualification(qualification_id):
    qualification = db.get_or_404(Qualification, qualification_id)
    require(qualification.instrument.can_edit(current_user))
    if PostForm().validate_on_submit():
        services.revoke_qualification(qualification, current_user)
        commit()
        flash(_("Qualification withdrawn."), "info")
    return redirect(url_for("bookings.qualifications",
                            instrument_id=qualification.instrument_id))


@bp.route("/training/<int:request_id>/<any(grant, decline):decision>", methods=["POST"])
@login_required
def decide_training(request_id, decision):
    training = db.get_or_404(TrainingRequest, request_id)
    require(training.instrument.can_edit(current_user))
    if PostForm().validate_on_submit() and training.state == "open":
        if decision == "grant":
            services.grant_qualification(training.instrument, training.user, current_user)
        else:
            services.decline_training(training, current_user)
        commit()
        flash(_("Training request answered."), "success")
    return redirect(url_for("bookings.queue"))


# --- iCalendar feeds ---------------------------------------------------------------------------
def _private_summary(booking: Booking) -> str:
    return (f"{booking.instrument.display_name(current_locale())} · "
            f"{booking_state_label(booking.state)}")


def _ics(body: bytes) -> Response:
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})


@bp.route("/ical/user/<token>.ics")
def user_feed(token):
    user = services.user_for_feed_token(token)
    if user is None:
        abort(404)
    return _ics(ical.private_feed(_("My instrument bookings"), services.feed_bookings(user),
                                  _private_summary))


@bp.route("/ical/instrument/<int:instrument_id>.ics")
def instrument_feed(instrument_id):
    instrument = db.get_or_404(Instrument, instrument_id)
    if not instrument.is_listed:
        abort(404)
    return _ics(ical.public_feed(instrument.display_name(current_locale()),
                                 services.public_feed_bookings(instrument), _("Booked")))


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
    require(booking.user_id == current_user.id)
    if not ratings.can_rate(booking, current_user):
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
