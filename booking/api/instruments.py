from flask import jsonify
from flask.views import MethodView

from booking.accounts.models import Organisation
from booking.api import Blueprint, ErrorSchema, answered_first
from booking.api.auth import OPTIONAL_SECURITY, SECURITY, api_user, optional_api_user, token_required
from booking.bookings import blackouts
from booking.core.clock import now_utc
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db
from booking.instruments import classification, directory, rules, services
from booking.instruments.models import Instrument, can_view_instrument
from booking.instruments.schemas import (
    BlackoutSchema,
    BlackoutWriteSchema,
    DirectoryArgsSchema,
    InstrumentCreateSchema,
    InstrumentDetailSchema,
    InstrumentPageSchema,
    InstrumentWriteSchema,
    OpeningHoursWriteSchema,
    RateSchema,
    RateWriteSchema,
)

blp = Blueprint("api_instruments", __name__,
                description="The public instrument directory (no token needed)")


@blp.route("/instruments")
class Instruments(MethodView):
    @blp.arguments(DirectoryArgsSchema, location="query")
    @blp.response(200, InstrumentPageSchema)
    def get(self, args):
        """Search the public directory (same search and filters as the web page)."""
        query = directory.DirectoryQuery(
            q=args["q"].strip(), category=args["category"],
            national_class=args["national_class"], org_id=args["org"],
            city=args["city"], mode=args["mode"], sort=args["sort"], page=args["page"],
            per_page=args["per_page"])
        page = directory.search(query, directory.Viewer(), now_utc())
        items = []
        for instrument, hourly in page.rows:
            instrument.hourly_fen = hourly
            items.append(instrument)
        return {"items": items, "total": page.total, "page": page.page,
                "per_page": page.per_page}


@blp.route("/instruments/<int:instrument_id>")
class InstrumentDetail(MethodView):
    @blp.response(200, InstrumentDetailSchema)
    @blp.alt_response(404, description="unknown, or not listed and not yours")
    @blp.doc(security=OPTIONAL_SECURITY)
    def get(self, instrument_id):
        """One listed instrument with its current rates, opening hours and booking rules (an
        unlisted one for a token of its lab)."""
        instrument = db.session.get(Instrument, instrument_id)
        if instrument is None or not can_view_instrument(instrument, optional_api_user()):
            api_abort(404, "not_found", "No listed instrument with this id.")
        current = rules.effective_rates(instrument.rates, now_utc()).get("enterprise")
        instrument.hourly_fen = current.hourly_fen if current else None
        return instrument


# --- writing: lab managers of the owning organisation ------------------------------------------
WRITE_REFUSED = "a field breaks a rule (problems name them), or the asset number is taken"


def _writable(instrument_id: int) -> Instrument:
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None or not instrument.can_view(api_user()):
        api_abort(404, "not_found", "No such instrument.")
    if not instrument.can_edit(api_user()):
        api_abort(403, "forbidden", "Only the lab managers of the owning organisation may "
                                    "change this instrument.")
    return instrument


def _owner(user, organisation_id: int | None) -> Organisation:
    managed = sorted(user.managed_organisation_ids())
    if not managed:
        api_abort(403, "forbidden", "Only lab managers publish instruments.")
    if organisation_id is None:
        if len(managed) != 1:
            api_abort(422, "organisation_required", "Name the owner in organisation_id.",
                      [{"code": "organisation_id", "message": "required"}])
        organisation_id = managed[0]
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not user.can_manage_organisation(organisation.id):
        api_abort(403, "forbidden", "You do not manage this organisation.")
    return organisation


def _check_combined(values: dict) -> None:
    """What the fields say together (the form's cross-field checks)."""
    problems = [{"code": "booking_rules", "message": p} for p in rules.booking_rules_problems(
        values["slot_minutes"], values["min_minutes"], values["max_minutes"])]
    if not (values["allows_self_operated"] or values["allows_staff_operated"]):
        problems.append({"code": "service_mode",
                         "message": "Allow self-operated use, staff-operated service or both."})
    if problems:
        api_abort(422, "validation_error", problems[0]["message"], problems)


COMBINED = ("slot_minutes", "min_minutes", "max_minutes", "allows_self_operated",
            "allows_staff_operated")
DEFAULTS = {"slot_minutes": 30, "min_minutes": 30, "max_minutes": 480,
            "allows_self_operated": True, "allows_staff_operated": True}


def _answer(instrument: Instrument, status: int):
    current = rules.effective_rates(instrument.rates, now_utc()).get("enterprise")
    instrument.hourly_fen = current.hourly_fen if current else None
    body = InstrumentDetailSchema().dump(instrument)
    commit()
    return jsonify(body), status


@blp.route("/instruments", endpoint="create")
class CreateInstrument(MethodView):
    decorators = [token_required]

    @blp.arguments(InstrumentCreateSchema)
    @blp.response(201, InstrumentDetailSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="not a manager of the organisation")
    @blp.alt_response(422, schema=ErrorSchema, description=WRITE_REFUSED)
    @blp.doc(security=SECURITY)
    def post(self, body):
        """Publish an instrument (lab managers, for their organisation); rates, opening hours
        and blackouts follow with their own operations."""
        user = api_user()
        organisation = _owner(user, body.pop("organisation_id", None))
        _check_combined({**DEFAULTS, **body})
        if "category" not in body:
            body["category"] = classification.category_of(body.get("national_class"))
        instrument = services.create_instrument(organisation, body, user)
        return _answer(instrument, 201)


@blp.route("/instruments/<int:instrument_id>", endpoint="update")
class UpdateInstrument(MethodView):
    decorators = [token_required]

    @blp.response(200, InstrumentDetailSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="not a manager of the owner")
    @blp.alt_response(404, schema=ErrorSchema, description="unknown instrument")
    @blp.alt_response(422, schema=ErrorSchema, description=WRITE_REFUSED)
    @blp.doc(security=SECURITY)
    @answered_first(_writable)
    @blp.arguments(InstrumentWriteSchema)
    def patch(self, body, instrument_id):
        """Change some of an instrument's fields (the ones sent)."""
        instrument = _writable(instrument_id)
        _check_combined({key: body.get(key, getattr(instrument, key)) for key in COMBINED})
        if body.get("national_class") and "category" not in body:
            body["category"] = classification.category_of(body["national_class"])
        services.update_instrument(instrument, body, api_user())
        return _answer(instrument, 200)


@blp.route("/instruments/<int:instrument_id>/rates")
class InstrumentRates(MethodView):
    decorators = [token_required]

    @blp.response(201, RateSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="not a manager of the owner")
    @blp.alt_response(404, schema=ErrorSchema, description="unknown instrument")
    @blp.alt_response(422, schema=ErrorSchema, description="a rate of this class already "
                      "starts then or later, or rates would fall from internal to enterprise")
    @blp.doc(security=SECURITY)
    @answered_first(_writable)
    @blp.arguments(RateWriteSchema)
    def post(self, body, instrument_id):
        """Add a rate from a moment on (past prices never change)."""
        instrument = _writable(instrument_id)
        rate, _told = services.add_rate(instrument, customer_class=body["customer_class"],
                                        hourly_fen=body["hourly_fen"],
                                        rounding_minutes=body["rounding_minutes"],
                                        minimum_minutes=body["minimum_minutes"],
                                        setup_fee_fen=body["setup_fee_fen"],
                                        valid_from=body["valid_from"] or now_utc(),
                                        actor=api_user())
        answer = RateSchema().dump(rate)
        commit()
        return jsonify(answer), 201


@blp.route("/instruments/<int:instrument_id>/opening-hours")
class InstrumentOpeningHours(MethodView):
    decorators = [token_required]

    @blp.response(200, InstrumentDetailSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="not a manager of the owner")
    @blp.alt_response(404, schema=ErrorSchema, description="unknown instrument")
    @blp.alt_response(422, schema=ErrorSchema, description="an interval is malformed or "
                      "intervals of a day overlap")
    @blp.doc(security=SECURITY)
    @answered_first(_writable)
    @blp.arguments(OpeningHoursWriteSchema)
    def put(self, body, instrument_id):
        """Replace the weekly opening hours."""
        instrument = _writable(instrument_id)
        hours, problems = {}, []
        for day, text in sorted(body["hours"].items()):
            intervals, found = rules.parse_intervals(text)
            hours[int(day)] = intervals
            problems += [{"code": f"hours.{day}", "message": p} for p in found]
        if problems:
            api_abort(422, "validation_error", problems[0]["message"], problems)
        services.set_opening_hours(instrument, hours, api_user())
        return _answer(instrument, 200)


@blp.route("/instruments/<int:instrument_id>/blackouts")
class InstrumentBlackouts(MethodView):
    decorators = [token_required]

    @blp.response(201, BlackoutSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="not a manager of the owner")
    @blp.alt_response(404, schema=ErrorSchema, description="unknown instrument")
    @blp.doc(security=SECURITY)
    @answered_first(_writable)
    @blp.arguments(BlackoutWriteSchema)
    def post(self, body, instrument_id):
        """Close the instrument for a while: bookings in that time are cancelled without
        charge and their bookers told (as in the lab console)."""
        instrument = _writable(instrument_id)
        blackout = services.add_blackout(instrument, start_at=body["start"], end_at=body["end"],
                                         reason=body["reason"].strip(), actor=api_user())
        blackout.cancelled_bookings = len(blackouts.cancel_for_blackout(instrument, blackout,
                                                                        api_user()))
        answer = BlackoutSchema().dump(blackout)
        commit()
        return jsonify(answer), 201
