from flask.views import MethodView

from booking.api import Blueprint
from booking.core.clock import now_utc
from booking.errors import api_abort
from booking.extensions import db
from booking.instruments import directory, rules
from booking.instruments.models import Instrument
from booking.instruments.schemas import (
    DirectoryArgsSchema,
    InstrumentDetailSchema,
    InstrumentPageSchema,
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
            q=args["q"].strip(), category=args["category"], org_id=args["org"],
            city=args["city"].strip(), mode=args["mode"], sort=args["sort"], page=args["page"],
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
    @blp.alt_response(404, description="unknown or not listed")
    def get(self, instrument_id):
        """One listed instrument with its current rates, opening hours and booking rules."""
        instrument = db.session.get(Instrument, instrument_id)
        if instrument is None or not instrument.is_listed:
            api_abort(404, "not_found", "No listed instrument with this id.")
        current = rules.effective_rates(instrument.rates, now_utc()).get("enterprise")
        instrument.hourly_fen = current.hourly_fen if current else None
        return instrument
