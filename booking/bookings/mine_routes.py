"""The booker's own bookings: My bookings, one booking's page (the lab's too), cancelling,
a booking's .ics and the private calendar feed's address. Routes of the bookings blueprint
(`bookings.*`)."""
from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from booking.api.paging import paged
from booking.billing.pricing import billable_minutes_of_bookings, late_cancellation_fee_fen
from booking.bookings import detail, feeds, ical, lists, requests, rules
from booking.bookings.forms import CancelForm, RejectForm
from booking.bookings.routes import _booking_or_404, _private_summary, bp
from booking.core.clock import now_utc
from booking.core.money import format_cny
from booking.core.notifications import commit
from booking.core.security import external_url
from booking.core.web import PostForm, back_to, current_locale, query_args
from booking.groups import services as groups


# --- my bookings -------------------------------------------------------------------------------
@bp.route("/bookings/mine")
@login_required
def mine():
    args = query_args(lists.MY_BOOKINGS_ARGS)
    listing = paged(lists.my_bookings(current_user, args, current_user.timezone), args["page"],
                    args["per_page"], clamp=True)
    feed = feeds.feed_token_of(current_user)
    feed_url = external_url("bookings.user_feed", token=feed.token) if feed else None
    billable = billable_minutes_of_bookings([b.id for b in listing["items"]
                                             if b.state == "completed"])
    return render_template("bookings/mine.html", listing=listing, args=args, states=rules.STATES,
                           instruments=lists.booked_instruments(current_user),
                           billable=billable, feed_url=feed_url, late_fees=_late_fees(listing["items"]),
                           awaiting_pi=groups.awaiting_pi([b.id for b in listing["items"]
                                                           if b.state == "pending"]),
                           cancel_form=CancelForm(formdata=None))


def _late_fees(bookings) -> dict[int, int]:
    """What cancelling now would be charged, for those of `bookings` past their deadline."""
    now = now_utc()
    late = [b for b in bookings if b.end_at > now and requests.cancelling_is_late(b, now)]
    return {b.id: fee for b in late if (fee := late_cancellation_fee_fen(b))}


@bp.route("/bookings/<int:booking_id>")
@login_required
def show(booking_id):
    """One booking: for its booker, and for the lab that runs its instrument."""
    booking = _booking_or_404(booking_id)
    page = detail.booking_page(booking, current_user.timezone)
    return render_template("bookings/show.html", page=page, b=booking,
                           own=booking.is_booked_by(current_user),
                           manage=booking.can_manage(current_user),
                           late_fees=_late_fees([booking]),
                           cancel_form=CancelForm(formdata=None),
                           reject_form=RejectForm(formdata=None))


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel(booking_id):
    booking = _booking_or_404(booking_id)
    form = CancelForm()
    if not form.validate_on_submit():
        return redirect(back_to("bookings.mine"))
    if not booking.can_cancel(current_user):
        flash(requests.ScheduledByLab().text() if not booking.can_change(current_user) else
              _("This booking can no longer be cancelled."), "danger")
        return redirect(back_to("bookings.mine"))
    try:
        requests.cancel_booking(booking, current_user, (form.reason.data or "").strip())
    except requests.CancelReasonRequired as refused:
        flash(refused.text(), "danger")
    else:
        commit()
        fee = late_cancellation_fee_fen(booking) if booking.late_cancel else None
        if fee:
            flash(_("Booking cancelled after the free-cancellation deadline: %(amount)s will be "
                    "charged, unless someone else uses the slot.", amount=format_cny(fee)),
                  "warning")
        else:
            flash(_("Booking cancelled."), "info")
    return redirect(back_to("bookings.mine"))


@bp.route("/bookings/<int:booking_id>.ics")
@login_required
def booking_ics(booking_id):
    booking = _booking_or_404(booking_id)
    body = ical.private_feed(booking.instrument.display_name(current_locale()), [booking],
                             _private_summary, current_locale())
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f"attachment; filename=booking-{booking.id}.ics"})


@bp.route("/bookings/feed/reset", methods=["POST"])
@login_required
def reset_feed():
    if PostForm().validate_on_submit():
        had_one = feeds.feed_token_of(current_user) is not None
        feeds.reset_feed_token(current_user)
        commit()
        flash(_("New calendar address created; any older one no longer works.") if had_one
              else _("Your calendar address is ready: subscribe to it in your calendar app."),
              "info")
    return redirect(url_for("bookings.mine"))
