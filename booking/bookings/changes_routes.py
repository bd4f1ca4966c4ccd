"""Pages that change bookings beyond a request: moving a booking, the lab booking for someone
who phoned or walked in, and wait lists. Routes of the bookings blueprint (`bookings.*`)."""
from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from booking.accounts.models import Organisation, User
from booking.accounts.services import AccountError
from booking.billing.pricing import NoRate, quote_booking
from booking.bookings import (
    calendar,
    on_behalf,
    requests,
    reschedule,
    waitlist,
)
from booking.bookings.forms import (
    BookForForm,
    RescheduleForm,
    on_slot_grid,
)
from booking.bookings.models import Booking, WaitlistEntry
from booking.bookings.routes import _booking_form, _booking_or_404, _instrument_or_404, bp
from booking.core.clock import from_local, now_utc, to_local
from booking.core.money import format_cny
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import PostForm, current_locale, sentences
from booking.extensions import db
from booking.groups import services as groups
from booking.instruments.models import Instrument


# --- moving a booking ----------------------------------------------------------------------------
@bp.route("/bookings/<int:booking_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule_booking(booking_id):
    booking = _booking_or_404(booking_id)
    if not booking.can_move(current_user):
        flash(requests.ScheduledByLab().text() if not booking.can_change(current_user) else
              _("Only a pending or approved booking can be moved."), "danger")
        return redirect(url_for("bookings.mine"))
    late = reschedule.too_late_to_move(booking, current_user, now_utc())
    if late:
        flash(late.text(), "warning")
        return redirect(url_for("bookings.show", booking_id=booking.id))
    instrument = booking.instrument
    form = RescheduleForm()
    on_slot_grid(form, instrument.slot_minutes, instrument.timezone,
                 instrument.max_days_ahead)
    if request.method == "GET":
        form.start.data = to_local(booking.start_at, instrument.timezone).replace(tzinfo=None)
        form.end.data = to_local(booking.end_at, instrument.timezone).replace(tzinfo=None)
    checked, problems = None, []
    if form.validate_on_submit():
        start = from_local(form.start.data, instrument.timezone)
        end = from_local(form.end.data, instrument.timezone)
        if form.submit.data:
            try:
                reschedule.reschedule(booking, current_user, start=start, end=end)
            except requests.BookingRefused as refused:
                db.session.rollback()  # the booking as it was (a refusal may follow writes)
                problems = refused.texts()
            else:
                commit()
                flash(_("Booking moved: still waiting for your PI's approval.")
                      if booking.state == "pending" and groups.awaiting_pi([booking.id])
                      else _("Booking moved: waiting for the lab's approval.")
                      if booking.state == "pending" else _("Booking moved."), "success")
                return redirect(url_for("bookings.mine"))
        else:
            checked = _checked_move(booking, start, end)
    return render_template("bookings/reschedule.html", booking=booking, form=form,
                           checked=checked, problems=problems,
                           awaiting_pi=bool(groups.awaiting_pi([booking.id])),
                           price=_price_text(booking, booking.start_at, booking.end_at)), \
        422 if problems or form.errors else 200


def _checked_move(booking: Booking, start, end) -> dict:
    """What the booker sees before moving: the rules the new time breaks (a taken slot too),
    their own bookings elsewhere then, and the new price."""
    problems, warnings = calendar.form_checks(booking.instrument, booking.user, start=start,
                                              end=end, mode=booking.mode,
                                              samples=booking.sample_count, moving=booking.id)
    return {"problems": [p.text() for p in problems], "warnings": [w.text() for w in warnings],
            "price": _price_text(booking, start, end)}


def _price_text(booking: Booking, start, end) -> str | None:
    try:
        quote = quote_booking(booking.instrument, booking.user, start, end, booking.mode,
                              booking.sample_count)
    except NoRate:
        return None
    return format_cny(quote.payable_fen)


# --- booking for someone else (the lab) -------------------------------------------------------
@bp.route("/instruments/<int:instrument_id>/book-for", methods=["GET", "POST"])
@login_required
def book_for(instrument_id):
    instrument = db.get_or_404(Instrument, instrument_id)
    require(current_user.can_manage_organisation(instrument.organisation_id))
    form = BookForForm()
    form.set_modes(instrument.allows_self_operated, instrument.allows_staff_operated)
    form.new_organisation.choices = [SelectChoice(o.id, o.display_name(current_locale()))
                                     for o in on_behalf.walk_in_organisations()]
    matches, problems = [], []
    if form.validate_on_submit():
        user, matches, problems = _person_to_book_for(form)
        if user is not None:
            problems = _book_for(instrument, user, form)
            if not problems:
                return redirect(url_for("bookings.book", instrument_id=instrument.id))
    form.user_id.choices = [SelectChoice(u.id, u.name) for u in matches]
    return render_template("bookings/book_for.html", instrument=instrument, form=form,
                           matches=matches, problems=problems), \
        422 if problems or form.errors else 200


def _person_to_book_for(form: BookForForm):
    """(user, matches to pick from, problems): the picked user, the one user the search
    finds, or a walk-in registered now (in the booking's transaction)."""
    if form.user_id.data:
        user = db.session.get(User, form.user_id.data)
        return (user, [], []) if user is not None and user.active else \
            (None, [], [_("Pick a user from the list.")])
    if form.new_name.data and form.new_email.data and form.new_organisation.data:
        return _walk_in(form)
    matches = on_behalf.find_users(form.who.data)
    if len(matches) == 1:
        return matches[0], [], []
    if not matches:
        return None, [], [_("Nobody matches: check the e-mail or name, or register the "
                            "person below.")]
    return None, matches, []


def _walk_in(form: BookForForm):
    organisation = db.session.get(Organisation, form.new_organisation.data)
    if organisation not in on_behalf.walk_in_organisations():
        return None, [], [_("Pick the person's organisation from the list.")]
    try:
        user = on_behalf.register_walk_in(name=form.new_name.data.strip(),
                                          email=form.new_email.data, organisation=organisation,
                                          actor=current_user)
    except AccountError as error:
        return None, [], [error.text()]
    return user, [], []


def _book_for(instrument: Instrument, user: User, form: BookForForm) -> list[str]:
    try:
        booking = on_behalf.book_for(
            instrument, user, current_user, start=from_local(form.start.data, instrument.timezone),
            end=from_local(form.end.data, instrument.timezone), mode=form.mode.data,
            purpose=form.purpose.data.strip(), samples=form.sample_count)
    except requests.BookingRefused as refused:
        db.session.rollback()  # nor a walk-in registered for it
        return refused.texts()
    awaiting_pi = booking.state == "pending"  # the charged project's PI decides first
    project = groups.get_project(booking.project_id)
    commit()
    flash(sentences(
        _("Booked for %(name)s: %(when)s.", name=user.name,
          when=f"{to_local(booking.start_at, instrument.timezone):%Y-%m-%d %H:%M}"),
        _("Charged to project %(number)s.", number=project.number) if project else "",
        _("Waiting for the approval of the project's PI.") if awaiting_pi else ""), "success")
    return []


# --- wait lists ----------------------------------------------------------------------------------
@bp.route("/instruments/<int:instrument_id>/waitlist", methods=["POST"])
@login_required
def join_waitlist(instrument_id):
    """The booking form's other button: wait for the taken time it describes."""
    instrument = _instrument_or_404(instrument_id)
    form = _booking_form(instrument)
    if not form.validate_on_submit():
        flash(_("Choose a start and an end."), "danger")
        return redirect(url_for("bookings.book", instrument_id=instrument.id))
    try:
        waitlist.join(instrument, current_user,
                      start=from_local(form.start.data, instrument.timezone),
                      end=from_local(form.end.data, instrument.timezone), mode=form.mode.data,
                      samples=form.sample_count, purpose=form.purpose.data.strip())
    except waitlist.WaitlistRefused as refused:
        for text in refused.texts():
            flash(text, "danger")
        return redirect(url_for("bookings.book", instrument_id=instrument.id))
    commit()
    flash(_("You are on the wait list: if the time frees, you are told and it is held for "
            "you."), "success")
    return redirect(url_for("bookings.waitlist_page"))


@bp.route("/waitlist")
@login_required
def waitlist_page():
    return render_template("bookings/waitlist.html", entries=waitlist.entries_of(current_user),
                           action_form=PostForm(formdata=None))


def _own_entry(entry_id: int) -> WaitlistEntry:
    entry = db.get_or_404(WaitlistEntry, entry_id)
    if entry.user_id != current_user.id:
        abort(404)
    return entry


@bp.route("/waitlist/<int:entry_id>/<any(accept, leave):action>", methods=["POST"])
@login_required
def waitlist_action(entry_id, action):
    entry = _own_entry(entry_id)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        if action == "accept":
            booking = waitlist.accept(entry, current_user)
        else:
            waitlist.leave(entry, current_user)
    except (waitlist.WaitlistRefused, requests.BookingRefused) as refused:
        db.session.rollback()
        for text in refused.texts():
            flash(text, "danger")
        return redirect(url_for("bookings.waitlist_page"))
    commit()
    if action == "leave":
        flash(_("You left the wait list."), "info")
        return redirect(url_for("bookings.waitlist_page"))
    flash(_("Booking requested: waiting for the lab's approval.") if booking.state == "pending"
          else _("Booking confirmed."), "success")
    return redirect(url_for("bookings.mine"))
