"""Metering endpoints: check-in / check-out of a booking and recording a finished session.

Callers are users with their own bearer token, or an instrument PC with an instrument-scoped
token (prefix iit_), which may act only on its own instrument.
"""
from functools import wraps

from flask import g
from flask.views import MethodView

from booking.accounts.models import User
from booking.accounts.services import user_for_api_token
from booking.api import Blueprint
from booking.api.auth import SECURITY, bearer_token
from booking.bookings.models import Booking
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.metering import services
from booking.metering.models import can_check_in, can_record_usage
from booking.metering.schemas import SessionSchema, UsageRequestSchema

blp = Blueprint("api_usage", __name__, description="Usage sessions (metering)")


def user_or_instrument_token(view):
    """Bearer token of a user (g.api_user) or of an instrument (g.api_instrument)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        raw = bearer_token()
        if not raw:
            api_abort(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")
        g.api_instrument = services.instrument_for_token(raw)
        g.api_user = None if g.api_instrument else user_for_api_token(raw)
        if g.api_instrument is None and g.api_user is None:
            api_abort(401, "invalid_token", "The token is unknown, expired or revoked.")
        return view(*args, **kwargs)

    return wrapped


def _actor_for(instrument: Instrument, booking: Booking | None, user_id: int | None = None
               ) -> User:
    """Who records: the token's user (the booker or a manager), or, for an instrument token
    of this very instrument, the booking's user, or without a booking the user it names."""
    if g.api_instrument is not None:
        if g.api_instrument.id != instrument.id:
            api_abort(403, "forbidden", "This instrument token belongs to another instrument.")
        if booking is not None:
            return booking.user
        if user_id is None:
            api_abort(422, "user_required", "An instrument token records a booking's session, "
                                            "or names the user of one without (user_id).")
        return _user(user_id)
    user = g.api_user
    allowed = can_record_usage(user, instrument) or (
        booking is not None and can_check_in(user, booking))
    if not allowed:
        api_abort(403, "forbidden", "Only the booking's user or the lab's managers may do this.")
    return user


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        api_abort(422, "unknown_user", "No such user.")
    return user


def _booking(booking_id: int) -> Booking:
    """The booking, if the caller may see it: its user or the lab's managers, or an instrument
    token of its own instrument. Otherwise 404, as for an unknown id: a refusal (or a rule
    quoting the booking's times) must not tell others it exists."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not (booking.instrument_id == g.api_instrument.id
                               if g.api_instrument is not None else booking.can_view(g.api_user)):
        api_abort(404, "not_found", "No such booking.")
    return booking


@blp.route("/bookings/<int:booking_id>/check-in")
class CheckIn(MethodView):
    decorators = [user_or_instrument_token]

    @blp.response(201, SessionSchema)
    @blp.alt_response(409, description="the instrument is in use or booked")
    @blp.doc(security=SECURITY)
    def post(self, booking_id):
        """Start the session of an approved booking (booking becomes in_use)."""
        booking = _booking(booking_id)
        actor = _actor_for(booking.instrument, booking)
        session = services.check_in(booking, actor=actor, source="api")
        commit()
        return session


@blp.route("/bookings/<int:booking_id>/check-out")
class CheckOut(MethodView):
    decorators = [user_or_instrument_token]

    @blp.response(200, SessionSchema)
    @blp.doc(security=SECURITY)
    def post(self, booking_id):
        """End the running session (booking becomes completed; overruns are flagged)."""
        booking = _booking(booking_id)
        actor = _actor_for(booking.instrument, booking)
        session = services.check_out_booking(booking, actor=actor)
        commit()
        return session


@blp.route("/usage")
class Usage(MethodView):
    decorators = [user_or_instrument_token]

    @blp.arguments(UsageRequestSchema)
    @blp.response(201, SessionSchema)
    @blp.alt_response(409, description="overlaps another session or booking")
    @blp.doc(security=SECURITY)
    def post(self, body):
        """Record a finished session (lab manager, or the instrument's own token)."""
        instrument = db.session.get(Instrument, body["instrument_id"])
        if instrument is None:
            api_abort(404, "not_found", "No such instrument.")
        booking = _booking(body["booking_id"]) if body["booking_id"] else None
        actor = _actor_for(instrument, booking, body["user_id"])
        if g.api_user is not None and not can_record_usage(g.api_user, instrument):
            api_abort(403, "forbidden", "Only the instrument's lab managers record usage.")
        user = _user(body["user_id"]) if body["user_id"] else \
            booking.user if booking else actor  # a user_id not the booking's is refused below
        session = services.record_session(instrument, user, start=body["start"],
                                          end=body["end"], actor=actor, source="api",
                                          booking=booking)
        commit()
        return session
