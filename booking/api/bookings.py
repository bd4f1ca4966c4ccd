"""Booking endpoints: availability, quotes, create / list / get, approve / reject / cancel."""
from datetime import timedelta

import marshmallow as ma
from flask import jsonify
from flask.views import MethodView
from sqlalchemy import func, select

from booking.accounts.services import user_for_api_token
from booking.api import Blueprint, ErrorSchema
from booking.api.auth import SECURITY, api_user, bearer_token, token_required
from booking.api.fields import Id, Moment, Page
from booking.billing.services import NoRate, quote_booking
from booking.bookings import rules, services
from booking.bookings.models import MAX_LENGTH, Booking
from booking.core.db import reads_first
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db
from booking.instruments.models import Instrument, can_view_instrument

blp = Blueprint("api_bookings", __name__, description="Availability, quotes and bookings")

MAX_RANGE = timedelta(days=92)


def _check_order(data: dict, longest: timedelta, text: str) -> None:
    if "start" in data and "end" in data and \
            not data["start"] < data["end"] <= data["start"] + longest:
        raise ma.ValidationError(f"end must be after start, at most {text} later", "end")


class RangeArgs(ma.Schema):
    start = Moment(required=True)
    end = Moment(required=True)

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        _check_order(data, MAX_RANGE, "92 days")


class QuoteArgs(RangeArgs):
    mode = ma.fields.String(load_default="self_operated", validate=ma.validate.OneOf(rules.MODES))
    samples = ma.fields.Integer(load_default=0, metadata={
        "description": f"staff-operated (送样): samples handed in, 1 to {rules.MAX_SAMPLES}, "
                       "charged per sample; self-operated: 0"})


class IntervalSchema(ma.Schema):
    start = ma.fields.DateTime()
    end = ma.fields.DateTime()


class AvailabilitySchema(ma.Schema):
    timezone = ma.fields.String()
    free = ma.fields.List(ma.fields.Nested(IntervalSchema))


class QuoteSchema(ma.Schema):
    customer_class = ma.fields.String()
    billable_minutes = ma.fields.Integer()
    fee_fen = ma.fields.Integer()
    voucher_fen = ma.fields.Integer()
    payable_fen = ma.fields.Integer()
    samples = ma.fields.Integer()
    samples_fee_fen = ma.fields.Integer(metadata={"description": "included in fee_fen"})


class BookingRequestSchema(ma.Schema):
    instrument_id = Id(required=True)
    start = Moment(required=True)
    end = Moment(required=True, metadata={
        "description": "at most 7 days after start (and the instrument's own maximum "
                       "length)"})
    purpose = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    mode = ma.fields.String(load_default="self_operated", validate=ma.validate.OneOf(rules.MODES))
    samples = ma.fields.Integer(load_default=0, metadata={
        "description": f"staff-operated (送样): samples handed in, 1 to {rules.MAX_SAMPLES} "
                       "(samples_required otherwise); self-operated: 0"})

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        _check_order(data, MAX_LENGTH, "7 days")


class BookingSchema(ma.Schema):
    id = ma.fields.Integer()
    instrument_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    start = ma.fields.DateTime(attribute="start_at")
    end = ma.fields.DateTime(attribute="end_at")
    state = ma.fields.String()
    mode = ma.fields.String()
    samples = ma.fields.Integer(attribute="sample_count")
    purpose = ma.fields.String()
    created_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    decision_reason = ma.fields.String()
    late_cancel = ma.fields.Boolean()


BOOKING = BookingSchema()  # instantiating a schema deep-copies its fields: once, not per create


class BookingListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BookingSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


class ListArgs(ma.Schema):
    mine = ma.fields.Boolean(load_default=True, metadata={
        "description": "1: your own bookings; 0: bookings of instruments you manage"})
    state = ma.fields.String(validate=ma.validate.OneOf(rules.STATES))
    page = Page()
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))


class ReasonSchema(ma.Schema):
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


def _visible_instrument(instrument_id: int, user) -> Instrument:
    return _visible(db.session.get(Instrument, instrument_id), user)


def _visible(instrument: Instrument | None, user) -> Instrument:
    if instrument is None or not can_view_instrument(instrument, user):
        api_abort(404, "not_found", "No such instrument.")
    return instrument


def _optional_user():
    raw = bearer_token()
    return user_for_api_token(raw) if raw else None


@blp.route("/instruments/<int:instrument_id>/availability")
class Availability(MethodView):
    @blp.arguments(RangeArgs, location="query")
    @blp.response(200, AvailabilitySchema)
    def get(self, args, instrument_id):
        """Free bookable intervals (UTC) between start and end."""
        instrument = _visible_instrument(instrument_id, _optional_user())
        free = services.availability(instrument, args["start"], args["end"])
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
        problems = rules.mode_problems(services.policy_for(instrument), args["mode"])
        if not problems and args["mode"] == "staff_operated":
            problems = rules.sample_problems(args["mode"], args["samples"])
        if problems:
            _refused(services.BookingRefused(problems))
        try:
            return quote_booking(instrument, api_user(), args["start"], args["end"],
                                 args["mode"], args["samples"])
        except NoRate:
            api_abort(422, "no_rate", "The instrument has no rate for your customer class.")


def _refused(refused: services.BookingRefused):
    problems = [{"code": p.code, "message": p.message} for p in refused.problems]
    api_abort(422, refused.problems[0].code, str(refused), problems)


@blp.route("/bookings")
class Bookings(MethodView):
    decorators = [token_required, reads_first]  # reads_first wraps (runs before) the token check

    @blp.arguments(ListArgs, location="query")
    @blp.response(200, BookingListSchema)
    @blp.doc(security=SECURITY)
    def get(self, args):
        """Your bookings (mine=1) or those of the instruments you manage (mine=0)."""
        user = api_user()
        query = select(Booking)
        if args["mine"]:
            query = query.where(Booking.user_id == user.id)
        elif not user.is_admin:
            query = query.join(Booking.instrument).where(
                Instrument.organisation_id.in_(user.managed_organisation_ids()))
        if "state" in args:
            query = query.where(Booking.state == args["state"])
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
        items = db.session.scalars(query.order_by(Booking.start_at.desc(), Booking.id.desc())
                                   .offset((args["page"] - 1) * args["per_page"])
                                   .limit(args["per_page"])).all()
        return {"items": items, "total": total, "page": args["page"],
                "per_page": args["per_page"]}

    @blp.arguments(BookingRequestSchema)
    @blp.response(201, BookingSchema)
    @blp.alt_response(409, description="the slot is taken (booking_clash)")
    @blp.alt_response(422, description="a booking rule is broken; code names the first rule")
    @blp.doc(security=SECURITY)
    def post(self, body):
        """Request a booking: pending when the instrument needs approval, else approved."""
        instrument, calendar = services.instrument_for_booking(
            body["instrument_id"], body["start"], body["end"]) or (None, None)
        _visible(instrument, api_user())
        try:
            booking = services.create_booking(instrument, api_user(), start=body["start"],
                                              end=body["end"], mode=body["mode"],
                                              purpose=body["purpose"].strip(),
                                              samples=body["samples"], calendar=calendar)
        except services.BookingRefused as refused:
            _refused(refused)
        except services.BookingClash:
            api_abort(409, "booking_clash", "Another booking already holds this time.")
        body = BOOKING.dump(booking)  # before the commit expires it: no re-read after
        commit()
        return jsonify(body), 201


def _booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or not booking.can_view(api_user()):
        api_abort(404, "not_found", "No such booking.")
    return booking


def _transition(action, booking: Booking) -> Booking:
    try:
        action()
    except rules.IllegalTransition as error:
        api_abort(409, "illegal_transition", str(error))
    commit()
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
        booking = _booking(booking_id)
        if not booking.can_decide(api_user()):
            api_abort(403, "forbidden", "Only the instrument's lab managers decide requests.")
        return _transition(lambda: services.approve_booking(booking, api_user()), booking)


@blp.route("/bookings/<int:booking_id>/reject")
class Reject(MethodView):
    decorators = [token_required]

    @blp.arguments(ReasonSchema)
    @blp.response(200, BookingSchema)
    @blp.doc(security=SECURITY)
    def post(self, body, booking_id):
        """Reject a pending request; the reason is required and sent to the requester."""
        booking = _booking(booking_id)
        if not booking.can_decide(api_user()):
            api_abort(403, "forbidden", "Only the instrument's lab managers decide requests.")
        if not body["reason"].strip():
            api_abort(422, "reason_required", "Give a reason for rejecting.",
                      [{"field": "reason", "message": "required"}])
        return _transition(lambda: services.reject_booking(booking, api_user(), body["reason"]),
                           booking)


@blp.route("/bookings/<int:booking_id>/cancel")
class Cancel(MethodView):
    decorators = [token_required]

    @blp.arguments(ReasonSchema)
    @blp.response(200, BookingSchema)
    @blp.doc(security=SECURITY)
    def post(self, body, booking_id):
        """Cancel a pending or approved booking (late after the deadline: late_cancel)."""
        booking = _booking(booking_id)
        return _transition(lambda: services.cancel_booking(booking, api_user(),
                                                           body["reason"].strip()), booking)
