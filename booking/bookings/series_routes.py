"""Recurring series in the pages: the booking form's preview (JSON) and "book the free ones",
the lab deciding a series as one, the booker cancelling the rest of it or all of it.
A blueprint of its own, nested in the bookings one (endpoints `bookings.series.*`)."""
import marshmallow as ma
from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from booking.bookings import labels, schemas, series
from booking.bookings.forms import BookingForm, CancelForm, RejectForm, RepeatForm
from booking.bookings.models import Booking, BookingSeries
from booking.bookings.requests import BookingRefused
from booking.core.clock import from_local, to_local
from booking.core.db import MAX_ID, reads_first
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import PostForm, query_int, sentences
from booking.extensions import db
from booking.groups import services as groups
from booking.instruments.models import Instrument, can_view_instrument

bp = Blueprint("series", __name__)
bp.add_app_template_global(labels.weekday_choices, "weekday_choices")
SHOWN_REFUSALS = 5  # refused occurrences named in the notice after booking; the rest counted


@bp.app_template_global()
def repeat_form() -> RepeatForm:
    """The booking form's repeat fields: unfilled, or as posted when a refused request shows
    the page again."""
    return RepeatForm(request.form if request.method == "POST" else None)


@bp.app_template_global()
def pending_series_of(user) -> list[series.PendingSeries]:
    """The series waiting for the user's decision, for the approval queue's series section
    (read here so the queue's own view, its paging and filters, need not know of series)."""
    return series.pending_series(user) if user.is_authenticated else []


@bp.app_template_filter("repeat_text")
def repeat_text(booking_series: BookingSeries) -> str:
    return labels.repeat_label(booking_series.repeat)


# --- loading -------------------------------------------------------------------------------------
def _instrument_or_404(instrument_id: int) -> Instrument:
    instrument = db.get_or_404(Instrument, instrument_id)
    if not can_view_instrument(instrument, current_user):
        abort(404)
    return instrument


def _series_or_404(series_id: int) -> BookingSeries:
    found = db.get_or_404(BookingSeries, series_id)
    if not found.can_view(current_user):
        abort(404)  # someone else's series does not exist for you
    return found


def _repeat_of(form: RepeatForm):
    """The rule from the repeat fields, or the texts of what is wrong with them."""
    if not form.validate():
        return None, [f"{form[name].label.text}: {' '.join(errors)}"
                      for name, errors in form.errors.items()]
    repeat = form.repeat()
    return (repeat, []) if repeat else (None, [_("Choose how the booking repeats.")])


# --- the booking form: preview, then book the free ones --------------------------------------------
@bp.route("/instruments/<int:instrument_id>/series.json")
@login_required
def preview(instrument_id):
    """Every occurrence of the series the form describes, with its price and what stands in
    its way (a broken rule, a taken slot), before anything is booked."""
    instrument = _instrument_or_404(instrument_id)
    try:
        args = schemas.load_quote_query(request.args, instrument.timezone)
    except ma.ValidationError:
        return jsonify({"error": _("Choose a start and an end.")}), 400
    repeat, errors = _repeat_of(RepeatForm(request.args))
    if errors:
        return jsonify({"error": " ".join(errors)}), 400
    project = groups.get_project(query_int("project", 0))
    if project is not None and not project.can_charge(current_user):
        project = None  # as the quote: a project the booker may not charge is not asked about
    try:
        occurrences, refusals = series.preview_series(
            instrument, current_user, start=args["start"], end=args["end"], mode=args["mode"],
            samples=args["samples"], repeat=repeat, project=project)
    except BookingRefused as refused:  # the rule itself: too long, too many, ...
        return jsonify({"occurrences": [], "total": 0, "free": 0,
                        "problems": schemas.problems_body(refused.problems)})
    return jsonify({**schemas.series_preview_body(occurrences, instrument.timezone),
                    "problems": schemas.problems_body(refusals)})


@bp.route("/instruments/<int:instrument_id>/book/series", methods=["POST"])
@reads_first  # outermost: before login_required's first read begins the transaction
@login_required
def book(instrument_id):
    """"Book the free ones": the series and its free occurrences, one transaction; what was
    refused is listed in the notice (the preview showed it before). Refused, the booking page
    comes back as it was filled in."""
    from booking.bookings.routes import book_page  # routes registers this module's blueprint

    instrument = _instrument_or_404(instrument_id)
    form = BookingForm()
    form.set_modes(instrument.allows_self_operated, instrument.allows_staff_operated)
    form.set_projects(groups.chargeable_projects(current_user),
                      groups.default_project_id(current_user))
    repeat, errors = _repeat_of(RepeatForm(request.form))
    if not form.validate_on_submit():
        errors = [f"{form[name].label.text}: {' '.join(texts)}"
                  for name, texts in form.errors.items()] + errors
    if errors:
        for text in errors:
            flash(text, "danger")
        return book_page(instrument, form, status=422)
    try:
        result = series.create_series(
            instrument, current_user, start=from_local(form.start.data, instrument.timezone),
            end=from_local(form.end.data, instrument.timezone), mode=form.mode.data,
            purpose=form.purpose.data.strip(), samples=form.sample_count, repeat=repeat,
            project=groups.get_project(form.project.data))
    except BookingRefused as refused:  # nothing free, or the rule itself
        flash(_("Nothing was booked: %(reasons)s", reasons=refused.text()), "danger")
        db.session.rollback()
        return book_page(instrument, form, status=422)
    pending = result.created[0].state == "pending"
    commit()
    flash(_("%(count)d bookings requested: waiting for the lab's approval.",
            count=len(result.created)) if pending else
          _("%(count)d bookings confirmed.", count=len(result.created)), "success")
    if result.refused:
        flash(_refused_notice(result.refused, instrument.timezone), "warning")
    return redirect(url_for("bookings.mine"))


def _refused_notice(refused: list[series.Occurrence], timezone: str) -> str:
    named = "; ".join(f"{to_local(o.start, timezone):%Y-%m-%d %H:%M} ({o.problems[0].text()})"
                      for o in refused[:SHOWN_REFUSALS])
    more = len(refused) - SHOWN_REFUSALS
    return sentences(_("Not booked: %(list)s", list=named),
                     _("And %(count)d more.", count=more) if more > 0 else "")


# --- the lab decides a series as one --------------------------------------------------------------
def _decide(series_id: int, approve: bool):
    found = _series_or_404(series_id)
    require(found.can_manage(current_user))
    form = PostForm() if approve else RejectForm()
    if not form.validate_on_submit():
        flash(_("Rejecting needs a reason for the requester."), "danger")
        return redirect(url_for("bookings.queue"))
    decided = series.decide_series(found, current_user, approve=approve,
                                   reason="" if approve else form.reason.data)
    if not decided:
        flash(_("This request was already decided."), "warning")
    else:
        commit()
        flash(_("%(count)d requests of the series approved.", count=len(decided)) if approve
              else _("%(count)d requests of the series rejected.", count=len(decided)),
              "success")
    return redirect(url_for("bookings.queue"))


@bp.route("/series/<int:series_id>/approve", methods=["POST"])
@login_required
def approve(series_id):
    return _decide(series_id, approve=True)


@bp.route("/series/<int:series_id>/reject", methods=["POST"])
@login_required
def reject(series_id):
    return _decide(series_id, approve=False)


# --- the booker cancels the rest of a series, or all of it ---------------------------------------
@bp.route("/series/<int:series_id>/cancel", methods=["POST"])
@login_required
def cancel(series_id):
    """scope=all: every occurrence still to come; scope=following with booking=<id>: that
    occurrence and the later ones. Each is late or not on its own (the instrument's deadline)."""
    found = _series_or_404(series_id)
    require(found.can_cancel(current_user))
    form = CancelForm()
    if not form.validate_on_submit():
        return redirect(url_for("bookings.mine"))
    since = None
    if request.form.get("scope") == "following":
        booking_id = request.form.get("booking", 0, type=int)
        since = db.session.get(Booking, booking_id) if 0 < booking_id <= MAX_ID else None
        if since is None or since.series_id != found.id:
            abort(400)
    cancelled = series.cancel_series(found, current_user, since=since,
                                     reason=(form.reason.data or "").strip())
    if not cancelled:
        flash(_("This booking can no longer be cancelled."), "danger")
        return redirect(url_for("bookings.mine"))
    commit()
    late = sum(b.late_cancel for b in cancelled)
    flash(sentences(_("%(count)d bookings cancelled.", count=len(cancelled)),
                    _("%(late)d of them late: a cancellation fee may apply.", late=late)
                    if late else ""), "info")
    return redirect(url_for("bookings.mine"))
