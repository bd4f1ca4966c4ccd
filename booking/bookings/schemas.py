"""What the bookings' JSON says and accepts: the API's schemas (booking.api.bookings) and the
pages' JSON endpoints (the calendar and the booking form's live quote), in one place."""
import json
from datetime import datetime, timedelta
from functools import lru_cache

import marshmallow as ma
from babel.dates import get_day_names
from flask_babel import get_locale

from booking.api.fields import Id, Moment, Text, WholeNumber
from booking.api.paging import PageArgs, page_schema
from booking.bookings import recurrence, rules
from booking.bookings.calendar import CalendarView
from booking.bookings.labels import class_label
from booking.bookings.models import MAX_LENGTH
from booking.core.clock import from_local, in_service_window, now_utc, to_local
from booking.core.money import format_cny

API_RANGE = timedelta(days=92)  # availability and quotes of the API
CALENDAR_RANGE = timedelta(days=62)  # the calendar page asks for a month view at most


def _check_order(data: dict, longest: timedelta, text: str) -> None:
    if "start" in data and "end" in data and \
            not data["start"] < data["end"] <= data["start"] + longest:
        raise ma.ValidationError(f"end must be after start, at most {text} later", "end")


def _mode() -> ma.fields.String:
    return ma.fields.String(load_default="self_operated", validate=ma.validate.OneOf(rules.MODES))


# --- API input ----------------------------------------------------------------------------------
class RangeArgs(ma.Schema):
    start = Moment(required=True)
    end = Moment(required=True)

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        _check_order(data, API_RANGE, "92 days")


class QuoteArgs(RangeArgs):
    mode = _mode()
    samples = WholeNumber(load_default=0, metadata={
        "description": f"staff-operated (送样): samples handed in, 1 to {rules.MAX_SAMPLES}, "
                       "charged per sample; self-operated: 0"})
    project_id = Id(metadata={"description": "a project account (经费卡) you may charge: "
                                             "its remaining budget before and after"})


class RepeatSchema(ma.Schema):
    """How a requested booking repeats (RFC 5545 recurrence on the instrument's wall clock):
    the booking's start and end are the first occurrence."""

    freq = ma.fields.String(required=True, validate=ma.validate.OneOf(recurrence.FREQUENCIES))
    interval = WholeNumber(load_default=1, validate=ma.validate.Range(
        1, recurrence.MAX_INTERVAL), metadata={"description": "every N days, weeks or months"})
    byweekday = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(recurrence.WEEKDAYS)), load_default=list,
        validate=ma.validate.Length(max=len(recurrence.WEEKDAYS)), metadata={
            "description": "weekly only: the weekdays (MO ... SU), the start's among them; "
                           "default: the start's weekday"})
    count = WholeNumber(validate=ma.validate.Range(1, recurrence.MAX_OCCURRENCES),
                              metadata={"description": "occurrences in all (or until)"})
    until = ma.fields.Date(metadata={
        "description": "the last day (local date at the instrument, inclusive), at most a "
                       "year after the start (or count)"})

    @ma.validates_schema
    def _one_end(self, data, **kwargs):
        if ("count" in data) == ("until" in data):
            raise ma.ValidationError("give count or until (one of them)", "count")
        if data.get("byweekday") and data.get("freq") != "weekly":
            raise ma.ValidationError("only for a weekly series", "byweekday")

    @ma.post_load
    def _repeat(self, data, **kwargs) -> recurrence.Repeat:
        return recurrence.Repeat(data["freq"], data["interval"], tuple(data["byweekday"]),
                                 data.get("count"), data.get("until"))


class BookingRequestSchema(ma.Schema):
    instrument_id = Id(required=True)
    start = Moment(required=True)
    end = Moment(required=True, metadata={
        "description": "at most 7 days after start (and the instrument's own maximum "
                       "length)"})
    purpose = Text(required=True, validate=ma.validate.Length(min=1, max=2000))
    mode = _mode()
    samples = WholeNumber(load_default=0, metadata={
        "description": f"staff-operated (送样): samples handed in, 1 to {rules.MAX_SAMPLES} "
                       "(samples_required otherwise); self-operated: 0"})
    project_id = Id(allow_none=True, metadata={
        "description": "the project account (经费卡) charged; omitted: the user's default "
                       "project, if any; null: none"})

    repeat = ma.fields.Nested(RepeatSchema, metadata={
        "description": "make it a series: start and end are the first occurrence; the free "
                       f"occurrences are booked (at most {recurrence.MAX_OCCURRENCES}, within "
                       "a year), the others answered as refused, with their reasons"})

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        _check_order(data, MAX_LENGTH, "7 days")
        until = getattr(data.get("repeat"), "until", None)
        if until is not None and "start" in data and not \
                data["start"].date() - ONE_DAY <= until <= data["start"].date() + YEAR_AND_A_DAY:
            raise ma.ValidationError("until must lie within a year after start", "repeat")


ONE_DAY, YEAR_AND_A_DAY = timedelta(days=1), timedelta(days=367)  # start's UTC date vs. local


class ListArgs(PageArgs):
    mine = ma.fields.Boolean(load_default=True, metadata={
        "description": "1: your own bookings; 0: bookings of instruments you manage"})
    state = ma.fields.String(validate=ma.validate.OneOf(rules.STATES))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))


class ReasonSchema(ma.Schema):
    reason = Text(load_default="", validate=ma.validate.Length(max=500))


# --- API output ---------------------------------------------------------------------------------
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
    project_id = ma.fields.Integer(metadata={"description": "when asked with project_id"})
    project_remaining_fen = ma.fields.Integer(metadata={
        "description": "the project's remaining budget now (when asked with project_id)"})
    project_after_fen = ma.fields.Integer(metadata={
        "description": "what the project would have left after this booking"})


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
    series_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "the recurring series it belongs to (null: a single booking)"})
    project_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "the project account (经费卡) it is charged to (null: none)"})


class ProblemSchema(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class RefusedOccurrenceSchema(ma.Schema):
    start = ma.fields.DateTime()
    end = ma.fields.DateTime()
    problems = ma.fields.List(ma.fields.Nested(ProblemSchema))


class SeriesSchema(ma.Schema):
    id = ma.fields.Integer()
    instrument_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    freq = ma.fields.String()
    interval = ma.fields.Integer()
    byweekday = ma.fields.List(ma.fields.String())
    count = ma.fields.Integer(allow_none=True)
    until = ma.fields.Date(allow_none=True)
    bookings = ma.fields.List(ma.fields.Nested(BookingSchema), metadata={
        "description": "every occurrence, in order, in its current state"})


class SeriesCreatedSchema(SeriesSchema):
    class Meta:
        exclude = ("bookings",)

    created = ma.fields.List(ma.fields.Nested(BookingSchema))
    refused = ma.fields.List(ma.fields.Nested(RefusedOccurrenceSchema), metadata={
        "description": "occurrences not booked: the rules each breaks, or the clash"})


class BookingCreatedSchema(BookingSchema):
    series = ma.fields.Nested(SeriesCreatedSchema, metadata={
        "description": "with repeat only: the series, the occurrences created and those "
                       "refused; the booking's own fields are those of its first created "
                       "occurrence"})


def series_fields(series) -> dict:
    """A series' own fields, as SeriesSchema dumps them."""
    repeat = series.repeat
    return {"id": series.id, "instrument_id": series.instrument_id, "user_id": series.user_id,
            "freq": repeat.freq, "interval": repeat.interval, "byweekday": list(repeat.weekdays),
            "count": repeat.count, "until": repeat.until}


def series_created_body(result) -> dict:
    """The answer to a series request (a series.SeriesResult): its first created booking,
    and the series with what was created and what was refused."""
    series = {**series_fields(result.series), "created": result.created,
              "refused": [{"start": o.start, "end": o.end,
                           "problems": [{"code": p.code, "message": p.message}
                                        for p in o.problems]} for o in result.refused]}
    return {**BOOKING.dump(result.created[0]), "series": SERIES_CREATED.dump(series)}


BookingListSchema = page_schema(BookingSchema, "BookingListSchema")
# Instantiating a schema deep-copies its fields: once, not per request.
BOOKING = BookingSchema()
QUOTE = QuoteSchema()
SERIES = SeriesSchema()
SERIES_CREATED = SeriesCreatedSchema()


# --- wait lists ---------------------------------------------------------------------------------
class WaitForSchema(ma.Schema):
    """What a booking request would say, for a wait-list entry (the time is given by the path
    when waiting for a booking's time)."""
    mode = _mode()
    samples = WholeNumber(load_default=0, validate=ma.validate.Range(0, rules.MAX_SAMPLES))
    purpose = Text(load_default="", validate=ma.validate.Length(max=2000))


class WaitlistRequestSchema(WaitForSchema):
    start = Moment(required=True)
    end = Moment(required=True, metadata={"description": "at most 7 days after start"})

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        _check_order(data, MAX_LENGTH, "7 days")


class WaitlistEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    instrument_id = ma.fields.Integer()
    start = ma.fields.DateTime(attribute="start_at")
    end = ma.fields.DateTime(attribute="end_at")
    mode = ma.fields.String()
    samples = ma.fields.Integer(attribute="sample_count")
    purpose = ma.fields.String()
    state = ma.fields.String(metadata={"description": "waiting, offered (held for you until "
                                                     "offer_expires_at), booked, expired, left"})
    offer_expires_at = ma.fields.DateTime(allow_none=True)
    booking_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


WaitlistListSchema = page_schema(WaitlistEntrySchema, "WaitlistList")


# --- the pages' JSON: input ---------------------------------------------------------------------
class WallClockMoment(ma.fields.Field):
    """An ISO 8601 time inside the service window; without an offset it is wall-clock time at
    the instrument, which the caller converts (only it knows the instrument's timezone)."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        return _wall_clock_moment(value)


def _wall_clock_moment(value) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise ma.ValidationError("not an ISO 8601 time") from error
    if not in_service_window(moment, now_utc()):
        raise ma.ValidationError("outside the service window")
    return moment


def calendar_range(args) -> tuple[datetime, datetime]:
    """The calendar's range from its query (other arguments the calendar script adds are
    ignored): both naive (wall clock at the instrument) or both with an offset, at most
    CALENDAR_RANGE apart; ma.ValidationError otherwise. Read as the quote's WallClockMoment
    is, without the field's machinery: the site's most read answer takes 120 µs in all."""
    start, end = (_required_moment(args, name) for name in ("start", "end"))
    if (start.tzinfo is None) != (end.tzinfo is None):
        raise ma.ValidationError("give both with an offset or both without", "end")
    _check_order({"start": start, "end": end}, CALENDAR_RANGE, "62 days")
    return start, end


def _required_moment(args, name: str) -> datetime:
    if name not in args:
        raise ma.ValidationError("Missing data for required field.", name)
    try:
        return _wall_clock_moment(args[name])
    except ma.ValidationError as error:
        raise ma.ValidationError(error.messages, name) from None


class QuotePageArgs(ma.Schema):
    """The booking form's live quote: a slot in wall clock (or with an offset), the mode and,
    when staff-operated, the samples (a self-operated quote ignores them)."""

    class Meta:
        unknown = ma.EXCLUDE

    start = WallClockMoment(required=True)
    end = WallClockMoment(required=True)
    mode = _mode()
    samples = WholeNumber(load_default=0)

    @ma.validates_schema
    def _samples_bounded(self, data, **kwargs):
        if data["mode"] == "staff_operated" and not 0 <= data["samples"] <= rules.MAX_SAMPLES:
            raise ma.ValidationError(f"from 0 to {rules.MAX_SAMPLES}", "samples")

    @ma.post_load
    def _self_operated_has_no_samples(self, data, **kwargs):
        return data if data["mode"] == "staff_operated" else {**data, "samples": 0}


QUOTE_PAGE_ARGS = QuotePageArgs()


def load_quote_query(args, timezone: str) -> dict:
    """The quote's arguments with start and end in UTC (naive ones are wall clock in
    `timezone`), at most a booking's longest length apart; ma.ValidationError otherwise."""
    data = QUOTE_PAGE_ARGS.load(args)
    data["start"], data["end"] = (from_local(data[key], timezone) for key in ("start", "end"))
    _check_order(data, MAX_LENGTH, "7 days")
    return data


# --- the pages' JSON: output --------------------------------------------------------------------
@lru_cache(maxsize=65536)  # pure; the same slot boundaries come back on every request
def _wall_clock_text(moment: datetime, timezone: str) -> str:
    return to_local(moment, timezone).isoformat(timespec="minutes")[:16]


def calendar_body(view: CalendarView, timezone: str) -> bytes:
    """The calendar as compact JSON, language-neutral (the page supplies the labels and
    booking-calendar.js makes FullCalendar events of it): free, blackout and busy times as
    [start, end] pairs, and the viewer's own bookings; for the instrument's lab, the others'
    bookings with their bookers' names instead of busy times. Times are wall clock at the instrument,
    without offset, as FullCalendar expects them. A third of the size of FullCalendar's own
    event objects: the calendar is the site's most read answer, often on a phone."""
    def pairs(spans) -> str:
        # digits, dashes and colons: formatted straight into JSON text, no encoder needed
        return ",".join(f'["{_wall_clock_text(s, timezone)}","{_wall_clock_text(e, timezone)}"]'
                        for s, e in spans)

    own = json.dumps([{"id": b.id, "start": _wall_clock_text(b.start_at, timezone),
                       "end": _wall_clock_text(b.end_at, timezone),
                       "state": "awaiting_pi" if b.id in view.awaiting_pi else b.state}
                      for b in view.own], separators=(",", ":"))
    lab = "" if not view.lab else ',"lab":' + json.dumps(  # the lab's own view: who booked
        [{"id": b.id, "start": _wall_clock_text(b.start_at, timezone),
          "end": _wall_clock_text(b.end_at, timezone), "state": b.state,
          "who": view.names.get(b.user_id, "")} for b in view.lab],
        separators=(",", ":"), ensure_ascii=False)
    return (f'{{"free":[{pairs(view.free)}],"blackout":[{pairs(view.blackouts)}],'
            f'"busy":[{pairs(view.others)}],"own":{own}{lab}}}').encode()


def problems_body(problems: list[rules.Problem]) -> list[dict]:
    """The rules a slot breaks, translated for the person at the form."""
    return [{"code": p.code, "message": p.text()} for p in problems]


def quote_page_body(quote, per_sample_fee_fen: int) -> dict:
    """The API's quote, with the customer class and the amounts as the form shows them."""
    label = class_label(quote.customer_class)  # a value on its own line: "Enterprise"
    return {**QUOTE.dump(quote), "customer_class_label": label[:1].upper() + label[1:],
            "time_fee": format_cny(quote.fee_fen - quote.samples_fee_fen),
            # what share of the fee the voucher pays (less at a provider outside its region)
            "voucher_percent": (quote.voucher_fen * 200 + quote.fee_fen) // (2 * quote.fee_fen)
            if quote.fee_fen else 0,  # whole per cent, half up
            "samples_fee": format_cny(quote.samples_fee_fen),
            "per_sample_fee": format_cny(per_sample_fee_fen), "fee": format_cny(quote.fee_fen),
            "voucher": format_cny(quote.voucher_fen), "payable": format_cny(quote.payable_fen)}


def project_quote_body(label: str, remaining_fen: int, after_fen: int) -> dict:
    """The charged project's remaining budget on the booking form's quote."""
    return {"project": label, "project_remaining_fen": remaining_fen,
            "project_remaining": format_cny(remaining_fen), "project_after_fen": after_fen,
            "project_after": format_cny(after_fen)}


def series_preview_body(occurrences, timezone: str) -> dict:
    """The booking form's series preview (series.Occurrence list): each occurrence on the
    instrument's wall clock with its price and what stands in its way, and the free ones'
    total."""
    names = get_day_names("abbreviated", locale=get_locale() or "en")
    items = []
    for o in occurrences:
        start, end = to_local(o.start, timezone), to_local(o.end, timezone)
        items.append({"day": f"{start:%Y-%m-%d}", "weekday": names[start.weekday()],
                      "time": f"{start:%H:%M}–{end:%H:%M}" if start.date() == end.date()
                      else f"{start:%H:%M}–{end:%Y-%m-%d %H:%M}",
                      "payable_fen": o.quote.payable_fen if o.quote else None,
                      "payable": format_cny(o.quote.payable_fen) if o.quote else None,
                      "problems": problems_body(o.problems)})
    free = [o for o in occurrences if o.free]
    payable = sum(o.quote.payable_fen for o in free if o.quote)
    return {"occurrences": items, "total": len(occurrences), "free": len(free),
            "payable_fen": payable, "payable": format_cny(payable), "problems": []}
