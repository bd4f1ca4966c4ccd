"""Recurring booking series: read one, decide its pending occurrences as one (the lab), cancel
the rest of it or all of it (the booker). A series is made by POST /bookings with `repeat`;
its occurrences are ordinary bookings (approve, reject, cancel one by one under /bookings)."""
from flask import jsonify
from flask.views import MethodView

from booking.api import Blueprint, answered_first
from booking.api.auth import SECURITY, api_user, token_required
from booking.api.fields import Id
from booking.bookings import series
from booking.bookings.models import Booking, BookingSeries
from booking.bookings.schemas import SERIES, ReasonSchema, SeriesSchema, series_fields
from booking.core.notifications import commit
from booking.core.problems import Problem, Refused, _l
from booking.errors import api_abort
from booking.extensions import db

blp = Blueprint("api_series", __name__, description="Recurring booking series")


class NothingOpen(Refused):
    """No occurrence of the series is left to decide or to cancel."""

    status = 409


class CancelSeriesSchema(ReasonSchema):
    from_booking_id = Id(metadata={
        "description": "cancel this occurrence and the later ones (default: every one still "
                       "to come)"})


def _series(series_id: int) -> BookingSeries:
    found = db.session.get(BookingSeries, series_id)
    if found is None or not found.can_view(api_user()):
        api_abort(404, "not_found", "No such series.")
    return found


def _fields(found: BookingSeries) -> dict:
    """What SeriesSchema dumps: the series and its occurrences."""
    return {**series_fields(found), "bookings": found.bookings}


def _committed(found: BookingSeries):
    """The series as answered, dumped before the commit expires its rows (no re-read)."""
    answer = SERIES.dump(_fields(found))
    commit()
    return jsonify(answer)


@blp.route("/series/<int:series_id>")
class SeriesView(MethodView):
    decorators = [token_required]

    @blp.response(200, SeriesSchema)
    @blp.doc(security=SECURITY)
    def get(self, series_id):
        """A series and every occurrence, in order (the booker and the instrument's lab)."""
        return _fields(_series(series_id))


def _managed_series(series_id: int) -> BookingSeries:
    found = _series(series_id)
    if not found.can_manage(api_user()):
        api_abort(403, "forbidden", "Only the instrument's lab managers decide requests.")
    return found


def _cancellable_series(series_id: int) -> BookingSeries:
    found = _series(series_id)
    if not found.can_cancel(api_user()):
        api_abort(403, "forbidden", "Only the booker cancels a series as one.")
    return found


def _decide(series_id: int, approve: bool, reason: str = ""):
    found = _managed_series(series_id)
    if not series.decide_series(found, api_user(), approve=approve, reason=reason):
        raise NothingOpen(Problem("series_nothing_pending", _l(
            "No booking of this series is waiting for a decision.")))
    return _committed(found)


@blp.route("/series/<int:series_id>/approve")
class Approve(MethodView):
    decorators = [token_required]

    @blp.response(200, SeriesSchema)
    @blp.alt_response(409, description="nothing of the series is pending "
                      "(series_nothing_pending)")
    @blp.doc(security=SECURITY)
    def post(self, series_id):
        """Approve every pending occurrence (managers of the owning organisation); the booker
        is told once."""
        return _decide(series_id, approve=True)


@blp.route("/series/<int:series_id>/reject")
class Reject(MethodView):
    decorators = [token_required]

    @blp.response(200, SeriesSchema)
    @blp.alt_response(409, description="nothing of the series is pending "
                      "(series_nothing_pending)")
    @blp.alt_response(422, description="the reason is missing (reason_required)")
    @blp.doc(security=SECURITY)
    @answered_first(_managed_series)
    @blp.arguments(ReasonSchema)
    def post(self, body, series_id):
        """Reject every pending occurrence; the reason is required and sent to the booker."""
        return _decide(series_id, approve=False, reason=body["reason"])


@blp.route("/series/<int:series_id>/cancel")
class Cancel(MethodView):
    decorators = [token_required]

    @blp.response(200, SeriesSchema)
    @blp.alt_response(409, description="nothing of it can still be cancelled "
                      "(series_nothing_to_cancel)")
    @blp.alt_response(422, description="from_booking_id is not an occurrence of the series")
    @blp.doc(security=SECURITY)
    @answered_first(_cancellable_series)
    @blp.arguments(CancelSeriesSchema)
    def post(self, body, series_id):
        """Cancel the occurrences still to come (from from_booking_id on, or all): the
        booker only; each is late or not by the instrument's deadline (late_cancel)."""
        found = _cancellable_series(series_id)
        since = None
        if "from_booking_id" in body:
            since = db.session.get(Booking, body["from_booking_id"])
            if since is None or since.series_id != found.id:
                api_abort(422, "not_in_series", "from_booking_id is not an occurrence of "
                          "this series.")
        if not series.cancel_series(found, api_user(), since=since,
                                    reason=body["reason"].strip()):
            raise NothingOpen(Problem("series_nothing_to_cancel", _l(
                "No booking of this series can still be cancelled.")))
        return _committed(found)
