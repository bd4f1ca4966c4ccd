"""Kiosk page at the instrument, the lab's day at an instrument (check-in, check-out,
no-shows), and the lab manager's usage page (entries, corrections, instrument tokens)."""
from datetime import timedelta

import marshmallow as ma
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user
from werkzeug.exceptions import BadRequest

from booking.accounts import attempts
from booking.accounts.services import authenticate, get_user_by_email
from booking.api.fields import Day
from booking.api.paging import paged
from booking.bookings.models import Booking
from booking.core import tables
from booking.core.clock import PeriodError, from_local, local_today, now_utc, parse_period, to_local
from booking.core.notifications import commit
from booking.core.permissions import require, role_required
from booking.core.web import PostForm, back_to, current_locale, query_args, query_int
from booking.extensions import db, limiter
from booking.instruments.models import Instrument
from booking.metering import services
from booking.metering.forms import (
    CorrectionForm,
    InstrumentTokenForm,
    KioskForm,
    KioskPairForm,
    SessionForm,
    WithdrawNoShowForm,
)
from booking.metering.models import InstrumentToken, UsageSession, can_record_usage

bp = Blueprint("metering", __name__)

KIOSK_COOKIE = "kiosk_token"


def _kiosk_message(action: str, session: UsageSession) -> str:
    if action == "checked_out":
        return _("Checked out after %(minutes)s minutes. Thank you.", minutes=session.minutes)
    if action == "walk_up":
        return _("No booking of yours is due now, so a walk-up session has started: the "
                 "instrument is open and free for the minutes you gave. Check out when you "
                 "finish.")
    booking = session.booking
    timezone = booking.instrument.timezone
    return _("Checked in to your booking %(start)s–%(end)s. Enjoy the instrument.",
             start=to_local(booking.start_at, timezone).strftime("%H:%M"),
             end=to_local(booking.end_at, timezone).strftime("%H:%M"))


# --- kiosk -------------------------------------------------------------------------------------
def _kiosk_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/kiosk/pair", methods=["GET", "POST"])
def kiosk_pair():
    """The lab pairs a browser at the instrument once, with an instrument token."""
    form = KioskPairForm()
    if form.validate_on_submit():
        instrument = services.instrument_for_token(form.token.data.strip())
        if instrument is None:
            form.token.errors.append(_("This instrument token is unknown or revoked."))
        else:
            commit()
            if current_user.is_authenticated:  # whoever paired it: the terminal is everyone's
                logout_user()
                flash(_("This browser is now the instrument's kiosk: you were logged out."),
                      "info")
            response = redirect(url_for("metering.kiosk"))
            response.set_cookie(KIOSK_COOKIE, form.token.data.strip(), max_age=365 * 86400,
                                httponly=True, samesite="Strict", path="/kiosk",
                                secure=current_app.config["SESSION_COOKIE_SECURE"])
            return response
    return render_template("metering/kiosk_pair.html", form=form)


@bp.route("/kiosk", methods=["GET", "POST"])
@limiter.limit(_kiosk_limit, methods=["POST"])
@attempts.per_account
def kiosk():
    instrument = services.instrument_for_token(request.cookies.get(KIOSK_COOKIE, ""),
                                               touch=request.method == "POST")
    if instrument is None:
        return redirect(url_for("metering.kiosk_pair"))
    form = KioskForm()
    result = None
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data, campus_accounts=True)
        if user is None:
            flash(_("Wrong e-mail or password."), "danger")
        else:
            try:
                action, result = services.kiosk_action(instrument, user,
                                                       form.walk_up_minutes.data)
            except services.MeteringRefused as exc:
                flash(exc.text(), "danger")
            else:
                flash(_kiosk_message(action, result), "success")
        commit()
        if result is not None:
            return redirect(url_for("metering.kiosk"))
        form.email.data = ""  # a shared terminal: the next person does not see who tried
    return render_template("metering/kiosk.html", instrument=instrument, form=form,
                           running=services.running_session(instrument))


# --- manager's usage page ----------------------------------------------------------------------
def _instrument(instrument_id: int) -> Instrument:
    instrument = db.session.get(Instrument, instrument_id) or abort(404)
    require(can_record_usage(current_user, instrument))
    return instrument


SESSIONS_PER_PAGE = 25
SOURCE_LABELS = {"kiosk": _l("kiosk"), "manager": _l("lab staff"), "api": _l("instrument PC (API)")}


def _usage_page(instrument: Instrument, form=None, token_form=None, new_secret=None):
    sessions = paged(services.sessions_for_manager(instrument), query_int("page", 1, 1, 10**6),
                     SESSIONS_PER_PAGE, clamp=True)
    return render_template(
        "metering/usage.html", instrument=instrument, form=form or SessionForm(),
        token_form=token_form or InstrumentTokenForm(), new_secret=new_secret,
        sessions=sessions, source_labels=SOURCE_LABELS,
        charged=services.charged_sessions([s.id for s in sessions["items"]]),
        corrected=services.corrections_of([s.id for s in sessions["items"]]),
        tokens=services.instrument_tokens(instrument), correction_form=CorrectionForm(),
        now_month=local_today(tz_name=instrument.timezone).strftime("%Y-%m"))


@bp.route("/instruments/<int:instrument_id>/usage", methods=["GET", "POST"])
@login_required
def usage(instrument_id):
    instrument = _instrument(instrument_id)
    form = SessionForm()
    if form.validate_on_submit():
        user = get_user_by_email(form.user_email.data)
        booking = db.session.get(Booking, form.booking_id.data) if form.booking_id.data else None
        if booking is not None and not booking.can_view(current_user):
            booking = None  # another lab's: "no such booking", not its user and times
        if user is None:
            form.user_email.errors.append(_("No user with this e-mail address."))
        elif form.booking_id.data and booking is None:
            form.booking_id.errors.append(_("No booking with this number."))
        else:
            try:
                session = services.record_session(
                    instrument, user, start=from_local(form.start.data, instrument.timezone),
                    end=from_local(form.end.data, instrument.timezone), actor=current_user,
                    source="manager", booking=booking)
            except services.MeteringRefused as exc:
                flash(exc.text(), "danger")
            else:
                commit()
                flash(_("Session recorded."), "success")
                for no_show, invoice in services.charged_no_shows_under(session):
                    flash(_("%(name)s's booking #%(id)s at this time is charged as a no-show on "
                            "invoice %(invoice)s: ask finance to credit that charge, or it is "
                            "paid twice.", name=user.name, id=no_show.id, invoice=invoice),
                          "warning")
                return redirect(url_for("metering.usage", instrument_id=instrument.id))
    return _usage_page(instrument, form=form)


class ExportArgs(ma.Schema):
    month = ma.fields.String(load_default=None, validate=ma.validate.Regexp(r"^\d{4}-\d{2}$"))
    format = ma.fields.String(load_default="csv", validate=ma.validate.OneOf(tables.FORMATS))


EXPORT_ARGS = ExportArgs()
EXPORT_HEADER = (_l("Session"), _l("User"), _l("Organisation"), _l("Start"), _l("End"),
                 _l("Minutes"), _l("Source"), _l("Booking"), _l("Amount charged (CNY)"),
                 _l("Invoice"), _l("Invoice state"))


def _charge_cells(charge: services.Charge | None) -> tuple:
    """What the session is charged, on which invoice and whether paid; empty while it is not
    charged (a void invoice's amount too: nothing is owed)."""
    if charge is None:
        return None, None, None
    return (tables.yuan(charge.amount_fen) if charge.owed else None, charge.number,
            charge.state_label)


@bp.route("/instruments/<int:instrument_id>/usage/export")
@login_required
def usage_export(instrument_id):
    """A month of the instrument's use (the effective sessions), for the lab's own reports."""
    instrument = _instrument(instrument_id)
    args = query_args(EXPORT_ARGS)
    try:
        period = parse_period(args["month"] or local_today().strftime("%Y-%m"), "month")
    except PeriodError:
        abort(400)
    sessions = services.month_sessions(instrument, period.start, period.end)
    charged = services.charged_sessions([s.id for s in sessions])
    rows = ((s.id, s.user.name, s.user.organisation.display_name(current_locale()),
             s.started_at, s.ended_at, s.minutes if s.ended_at else None,  # running: not yet
             str(SOURCE_LABELS.get(s.source, s.source)), s.booking_id,
             *_charge_cells(charged.get(s.id))) for s in sessions)
    header = [str(name) for name in EXPORT_HEADER]
    body = tables.csv_bytes(header, rows) if args["format"] == "csv" else \
        tables.xlsx_bytes(period.label, header, rows)
    return tables.attachment(body, args["format"], f"usage-{instrument.id}-{period.label}")


class ScheduleArgs(ma.Schema):
    day = Day(load_default=None)


SCHEDULE_ARGS = ScheduleArgs()


@bp.route("/instruments/<int:instrument_id>/schedule")
@login_required
def schedule(instrument_id):
    """The lab's day at one instrument: who booked, what they use, and what to do."""
    instrument = _instrument(instrument_id)
    day = query_args(SCHEDULE_ARGS)["day"] or local_today(tz_name=instrument.timezone)
    return render_template("metering/schedule.html", instrument=instrument, day=day,
                           rows=services.day_schedule(instrument, day), now=now_utc(),
                           one_day=timedelta(days=1))


@bp.route("/lab/day")
@role_required("lab_manager")
def lab_day():
    """The lab's day at all its instruments: who comes when, what runs, what to do."""
    timezone = current_user.timezone
    try:
        day = query_args(SCHEDULE_ARGS)["day"]
    except BadRequest:  # an address edited by hand: today, told why
        flash(_("That is not a day between 2000 and 2100: here is today."), "warning")
        day = None
    day = day or local_today(tz_name=timezone)
    rows = services.lab_day(list(current_user.managed_organisation_ids()), day, timezone)
    return render_template("metering/lab_day.html", day=day, rows=rows, now=now_utc(),
                           one_day=timedelta(days=1), timezone=timezone,
                           full=len(rows) >= services.LAB_DAY_LIMIT)


_LAB_ACTIONS = {
    "check-in": (lambda b: services.check_in(b, actor=current_user, source="manager"),
                 _l("Checked in.")),
    "check-out": (lambda b: services.check_out_booking(b, actor=current_user),
                  _l("Checked out.")),
    "no-show": (lambda b: services.mark_no_show(b, actor=current_user),
                _l("Marked as a no-show: its charge comes with the month's invoice.")),
}


@bp.route("/bookings/<int:booking_id>/<any('check-in', 'check-out', 'no-show'):action>",
          methods=["POST"])
@login_required
def lab_action(booking_id, action):
    """The lab checks a booking in or out for its user, or marks it a no-show."""
    booking = db.get_or_404(Booking, booking_id)
    require(can_record_usage(current_user, booking.instrument))
    if PostForm().validate_on_submit():
        act, done = _LAB_ACTIONS[action]
        try:
            act(booking)
        except services.MeteringRefused as exc:
            flash(exc.text(), "danger")
        else:
            commit()
            flash(str(done), "success")
            return _back_to_row(booking)
    return _back_to_row(booking, row=False)


def _back_to_row(booking: Booking, row: bool = True):
    """Back to the day the lab acted from, at the booking's row when it went through (a long
    day on a phone is not scrolled again); at the top, where the message is, when refused."""
    timezone = booking.instrument.timezone
    back = back_to("metering.schedule", instrument_id=booking.instrument_id,
                   day=to_local(booking.start_at, timezone).date().isoformat())
    return redirect(f"{back}#booking-{booking.id}" if row else back)


@bp.route("/bookings/<int:booking_id>/withdraw-no-show", methods=["POST"])
@login_required
def withdraw_no_show(booking_id):
    """The lab takes back a no-show: the booker came late after all, or is excused."""
    booking = db.get_or_404(Booking, booking_id)
    require(can_record_usage(current_user, booking.instrument))
    form = WithdrawNoShowForm()
    if form.validate_on_submit():
        try:
            state = services.withdraw_no_show(booking, actor=current_user,
                                              reason=form.reason.data or "")
        except services.MeteringRefused as exc:
            flash(exc.text(), "danger")
        else:
            commit()
            flash(_("The no-show is withdrawn: the booking is approved again, and can be "
                    "checked in.") if state == "approved" else
                  _("The no-show is withdrawn: nothing is charged for it."), "success")
            return _back_to_row(booking, row=state == "approved")  # cancelled: off the day
    else:
        flash(_("The reason is at most 500 characters."), "danger")
    return _back_to_row(booking, row=False)


@bp.route("/usage/<int:session_id>/correct", methods=["POST"])
@login_required
def correct(session_id):
    original = db.session.get(UsageSession, session_id) or abort(404)
    instrument = _instrument(original.instrument_id)
    form = CorrectionForm()
    back = url_for("metering.usage", instrument_id=instrument.id,  # the page it was on
                   page=query_int("page", 1, 1, 10**6))
    if not form.validate_on_submit():
        flash(_("Give a reason for the correction."), "danger")
        return redirect(back)
    start = from_local(form.start.data, instrument.timezone) if form.start.data else \
        original.started_at
    end = from_local(form.end.data, instrument.timezone) if form.end.data else original.ended_at
    try:
        services.correct_session(original, start=start, end=end, actor=current_user,
                                 note=form.note.data, void=form.void.data)
    except services.MeteringRefused as exc:
        flash(exc.text(), "danger")
    else:
        commit()
        flash(_("Correction recorded; the original stays in the history."), "success")
    return redirect(back)


@bp.route("/instruments/<int:instrument_id>/instrument-tokens", methods=["POST"])
@login_required
def create_token(instrument_id):
    instrument = _instrument(instrument_id)
    form = InstrumentTokenForm()
    if not form.validate_on_submit():
        return _usage_page(instrument, token_form=form)
    _token, raw = services.create_instrument_token(instrument, form.name.data, current_user)
    commit()
    return _usage_page(instrument, new_secret=raw)


@bp.route("/instrument-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    token = db.session.get(InstrumentToken, token_id) or abort(404)
    _instrument(token.instrument_id)
    if PostForm().validate_on_submit():
        services.revoke_instrument_token(token, current_user)
        commit()
        flash(_("Token revoked."), "info")
    return redirect(url_for("metering.usage", instrument_id=token.instrument_id))

