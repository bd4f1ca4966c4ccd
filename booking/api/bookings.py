"""Booking endpoints: availability, quotes, create / list / get, approve / reject / cancel.

Refusals (booking rules 422, a clash 409, an illegal transition 409, a missing reason 422)
propagate to the app's one handler for `Refused`, which answers in the API's error shape."""
from flask import jsonify
from flask.views import MethodView

from booking.api import Blueprint, ErrorSchema, answered_first
from booking.api.auth import OPTIONAL_SECURITY, SECURITY, api_user, optional_api_user, token_required
from booking.api.paging import paged
from booking.billing.pricing import NoRate, quote_booking
from booking.bookings import calendar, requests, rules, series
from booking.bookings.models import Booking
from booking.bookings.schemas import (
    BOOKING,
    AvailabilitySchema,
    BookingCreatedSchema,
    BookingListSchema,
    BookingRequestSchema,
    BookingSchema,
    ListArgs,
    QuoteArgs,
    QuoteSchema,
    RangeArgs,
    ReasonSchema,
    series_created_body,
)
from booking.core.db import reads_first
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db
from booking.groups import services as groups
from booking.instruments.models import Instrument, can_view_instrument

blp = Blueprint("api_bookings", __name__, description="Availability, quotes and bookings")


def _visible_instrument(instrument_id: int, user) -> Instrument:
    return _visible(db.session.get(Instrument, instrument_id), user)


def _visible(instrument: Instrument | None, user) -> Instrument:
    if instrument is None or not can_view_instrument(instrument, user):
        api_abort(404, "not_found", "No such instrument.")
    return instrument


@blp.route("/instruments/<int:instrument_id>/availability")
class Availability(MethodView):
    @blp.arguments(RangeArgs, location="query")
    @blp.response(200, AvailabilitySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown, or not listed and not yours")
    @blp.doc(security=OPTIONAL_SECURITY)
    def get(self, args, instrument_id):
        """Free bookable intervals (UTC) between start and end (an unlisted instrument's for
        a token of its lab)."""
        instrument = _visible_instrument(instrument_id, optional_api_user())
        free = calendar.availability(instrument, args["start"], args["end"])
        return {"timezone": instrument.timezone,
                "free": [{"start": s, "end": e} for s, e in free]}


@blp.route("/instruments/<int:instrument_id>/quote")
class QuoteView(MethodView):
    decorators = [token_required]

    @blp.arguments(QuoteArgs, location="query")
    @blp.response(200, QuoteSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="a service mode the instrument does "
                      "not offer (mode_not_offered), a sample count out of the rule, or no "
                      "rate for your customer class (no_rate)")
    @blp.doc(security=SECURITY)
    def get(self, args, instrument_id):
        """The price of [start, end) for the token's user, with the samples of a
        staff-operated booking."""
        instrument = _visible_instrument(instrument_id, api_user())
        # the same rules, and the same answers, as a booking request; a self-operated quote
        # ignores samples (it hands in none)
        problems = rules.mode_problems(calendar.policy_for(instrument), args["mode"])
        if not problems and args["mode"] == "staff_operated":
            problems = rules.sample_problems(args["mode"], args["samples"])
        if problems:
            raise requests.BookingRefused(problems)
        quote = quote_booking(instrument, api_user(), args["start"], args["end"], args["mode"],
                              args["samples"])
        if "project_id" not in args:
            return quote
        project = groups.get_project(args["project_id"])
        if project is None or not project.can_charge(api_user()):
            api_abort(422, "unknown_project", "No such project account of yours.")
        remaining = groups.budget_of(project).remaining_fen
        return {**QuoteSchema().dump(quote), "project_id": project.id,
                "project_remaining_fen": remaining,
                "project_after_fen": remaining - quote.fee_fen}


@blp.route("/bookings")
class Bookings(MethodView):
    decorators = [token_required, reads_first]  # reads_first wraps (runs before) the token check

    @blp.arguments(ListArgs, location="query")
    @blp.response(200, BookingListSchema)
    @blp.doc(security=SECURITY)
    def get(self, args):
        """Your bookings (mine=1) or those of the instruments you manage (mine=0)."""
        query = requests.listable_bookings(api_user(), mine=args["mine"],
                                           state=args.get("state"))
        return paged(query, args["page"], args["per_page"])

    @blp.arguments(BookingRequestSchema)
    @blp.response(201, BookingCreatedSchema)
    @blp.alt_response(409, description="the slot is taken (booking_clash; own_booking_clash: by "
                      "a booking of the same user); with repeat: "
                      "every occurrence's slot is taken")
    @blp.alt_response(422, description="a booking rule is broken; code names the first rule. "
                      "With repeat: the rule itself is wrong (repeat_*), or no occurrence can "
                      "be booked (every reason found, once each)")
    @blp.doc(security=SECURITY)
    def post(self, body):
        """Request a booking: pending when the instrument needs approval, else approved.
        With `repeat`, a series: its free occurrences are booked, the others refused."""
        facts = calendar.instrument_for_booking(body["instrument_id"], body["start"],
                                                body["end"], api_user().id)
        instrument = facts.instrument if facts else None
        _visible(instrument, api_user())
        if "project_id" not in body:
            body["project_id"] = facts.default_project_id
        if "repeat" in body:
            return _create_series(instrument, body)
        project, fee = _project_and_fee(instrument, body)
        booking = requests.create_booking(instrument, api_user(), start=body["start"],
                                          end=body["end"], mode=body["mode"],
                                          purpose=body["purpose"].strip(),
                                          samples=body["samples"], calendar=facts.opening,
                                          holds=facts.holds, project=project, fee_fen=fee)
        body = BOOKING.dump(booking)  # before the commit expires it: no re-read after
        commit()
        return jsonify(body), 201


def _project_and_fee(instrument: Instrument, body: dict):
    """The project charged (given, else the user's default) and the fee it holds."""
    user = api_user()
    project_id = body["project_id"] if "project_id" in body else groups.default_project_id(user)
    project = groups.get_project(project_id)
    if project_id and (project is None or not project.can_view(user)):
        api_abort(422, "unknown_project", "No such project account.")
    if project is None:
        return None, 0
    try:
        return project, quote_booking(instrument, user, body["start"], body["end"],
                                      body["mode"], body["samples"]).fee_fen
    except NoRate:
        return project, 0


def _create_series(instrument: Instrument, body: dict):
    project, _fee = _project_and_fee(instrument, body)
    result = series.create_series(instrument, api_user(), start=body["start"],
                                  end=body["end"], mode=body["mode"],
                                  purpose=body["purpose"].strip(), samples=body["samples"],
                                  repeat=body["repeat"], project=project)
    answer = series_created_body(result)  # before the commit expires the rows
    commit()
    return jsonify(answer), 201


def _booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or not booking.can_view(api_user()):
        api_abort(404, "not_found", "No such booking.")
    return booking


def _managed_booking(booking_id: int) -> Booking:
    """A booking the token's user acts on for the lab (whether it is still pending is the
    state machine's answer: 409)."""
    booking = _booking(booking_id)
    if not booking.can_manage(api_user()):
        api_abort(403, "forbidden", "Only the instrument's lab managers decide requests.")
    return booking


@blp.route("/bookings/<int:booking_id>")
class BookingView(MethodView):
    decorators = [token_required]

    @blp.response(200, BookingSchema)
    @blp.doc(security=SECURITY)
    def get(self, booking_id):
        return _booking(booking_id)


@blp.route("/bookings/<int:booking_id>/approve")
class Approve(MethodView):
    decorators = [token_required]

    @blp.response(200, BookingSchema)
    @blp.doc(security=SECURITY)
    def post(self, booking_id):
        """Approve a pending request (managers of the owning organisation)."""
        booking = _managed_booking(booking_id)
        requests.approve_booking(booking, api_user())
        commit()
        return booking


@blp.route("/bookings/<int:booking_id>/reject")
class Reject(MethodView):
    decorators = [token_required]

    @blp.response(200, BookingSchema)
    @blp.doc(security=SECURITY)
    @answered_first(_managed_booking)
    @blp.arguments(ReasonSchema)
    def post(self, body, booking_id):
        """Reject a pending request; the reason is required and sent to the requester."""
        booking = _managed_booking(booking_id)
        requests.reject_booking(booking, api_user(), body["reason"])
        commit()
        return booking


@blp.route("/bookings/<int:booking_id>/cancel")
class Cancel(MethodView):
    decorators = [token_required]

    @blp.response(200, BookingSchema)
    @blp.doc(security=SECURITY)
    @answered_first(_booking)
    @blp.arguments(ReasonSchema)
    def post(self, body, booking_id):
        """Cancel a pending or approved booking: its booker (late after the deadline:
        late_cancel), or the lab, which must give the booker a reason (reason_required) and
        is never charged as late."""
        booking = _booking(booking_id)
        requests.cancel_booking(booking, api_user(), body["reason"].strip())
        commit()
        return booking
