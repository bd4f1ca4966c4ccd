"""Wait lists: join for a time (of an instrument, or of a booking that holds it), list yours,
take an offer, leave. Refusals (422) and a lapsed offer (422 offer_gone) answer in the API's
error shape."""
from flask import jsonify
from flask.views import MethodView

from booking.api import Blueprint, ErrorSchema, answered_first
from booking.api.auth import SECURITY, api_user, token_required
from booking.api.paging import PageArgs, paged
from booking.bookings import waitlist
from booking.bookings.models import Booking, WaitlistEntry
from booking.bookings.rules import OCCUPYING_STATES
from booking.bookings.schemas import (
    BOOKING,
    BookingSchema,
    WaitForSchema,
    WaitlistEntrySchema,
    WaitlistListSchema,
    WaitlistRequestSchema,
)
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db
from booking.instruments.models import Instrument, can_view_instrument

blp = Blueprint("api_waitlist", __name__, description="Wait lists for taken times")
ENTRY = WaitlistEntrySchema()
REFUSED = "a booking rule the time breaks for you, the time is free (slot_free), your own " \
          "booking holds it (own_booking), or you already wait for it (already_waiting)"


def _instrument(instrument_id: int) -> Instrument:
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None or not can_view_instrument(instrument, api_user()):
        api_abort(404, "not_found", "No such instrument.")
    return instrument


def _holding_booking(booking_id: int) -> Booking:
    """A booking holding time on an instrument the caller can see."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.state not in OCCUPYING_STATES:
        api_abort(404, "not_found", "No such booking holds time.")
    _instrument(booking.instrument_id)
    return booking


def _joined(instrument: Instrument, start, end, body: dict):
    entry = waitlist.join(instrument, api_user(), start=start, end=end, mode=body["mode"],
                          samples=body["samples"], purpose=body["purpose"].strip())
    answer = ENTRY.dump(entry)
    commit()
    return jsonify(answer), 201


@blp.route("/instruments/<int:instrument_id>/waitlist")
class JoinForTime(MethodView):
    decorators = [token_required]

    @blp.response(201, WaitlistEntrySchema)
    @blp.alt_response(422, schema=ErrorSchema, description=REFUSED)
    @blp.doc(security=SECURITY)
    @answered_first(_instrument)
    @blp.arguments(WaitlistRequestSchema)
    def post(self, body, instrument_id):
        """Wait for a taken time of the instrument: when it frees, it is offered to the first
        in line (e-mail and inbox) and held for them for a while."""
        return _joined(_instrument(instrument_id), body["start"], body["end"], body)


@blp.route("/bookings/<int:booking_id>/waitlist")
class JoinForBooking(MethodView):
    decorators = [token_required]

    @blp.response(201, WaitlistEntrySchema)
    @blp.alt_response(422, schema=ErrorSchema, description=REFUSED)
    @blp.doc(security=SECURITY)
    @answered_first(_holding_booking)
    @blp.arguments(WaitForSchema)
    def post(self, body, booking_id):
        """Wait for the time a booking holds (any booking that holds time on an instrument you
        can see: calendars show that time as taken)."""
        booking = _holding_booking(booking_id)
        return _joined(_instrument(booking.instrument_id), booking.start_at, booking.end_at,
                       body)


@blp.route("/waitlist")
class Mine(MethodView):
    decorators = [token_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, WaitlistListSchema)
    @blp.doc(security=SECURITY)
    def get(self, args):
        """Your open wait-list entries (waiting or offered), the soonest time first."""
        return paged(waitlist.open_entries(api_user()), args["page"], args["per_page"])


def _own_entry(entry_id: int) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != api_user().id:
        api_abort(404, "not_found", "No such wait-list entry.")
    return entry


@blp.route("/waitlist/<int:entry_id>/accept")
class Accept(MethodView):
    decorators = [token_required]

    @blp.response(201, BookingSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="the offer lapsed (offer_gone), or "
                      "a booking rule the time now breaks")
    @blp.alt_response(409, schema=ErrorSchema, description="the time was taken meanwhile")
    @blp.doc(security=SECURITY)
    def post(self, entry_id):
        """Take an offer: the held time is requested as an ordinary booking."""
        booking = waitlist.accept(_own_entry(entry_id), api_user())
        answer = BOOKING.dump(booking)
        commit()
        return jsonify(answer), 201


@blp.route("/waitlist/<int:entry_id>")
class Leave(MethodView):
    decorators = [token_required]

    @blp.response(204)
    @blp.alt_response(422, schema=ErrorSchema, description="no longer waiting (not_waiting)")
    @blp.doc(security=SECURITY)
    def delete(self, entry_id):
        """Leave the wait list (an offer you hold goes to the next in line)."""
        waitlist.leave(_own_entry(entry_id), api_user())
        commit()
        return ""
