"""The directory's JSON shapes: what the API reads and answers (and its OpenAPI document)."""
from datetime import date

import marshmallow as ma

from booking.api.fields import Id, Moment, Page, Text
from booking.api.paging import page_schema
from booking.core.clock import is_valid_timezone, now_utc
from booking.instruments import classification, directory, rules


class DirectoryArgsSchema(ma.Schema):
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=100),
                         metadata={"description": "keywords; two-character Chinese works (电镜)"})
    category = ma.fields.String(load_default="", validate=ma.validate.OneOf(
        ["", *rules.CATEGORIES]))
    national_class = ma.fields.String(
        load_default="", data_key="class", validate=ma.validate.OneOf(["", *classification.classes()]),
        metadata={"description": "national classification code (2 or 4 digits): the class "
                                 "and the classes under it"})
    org = Id(load_default=None, metadata={"description": "organisation id"})
    city = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))
    mode = ma.fields.String(load_default="", validate=ma.validate.OneOf(
        ["", *rules.SERVICE_MODES]))
    sort = ma.fields.String(load_default="relevance", validate=ma.validate.OneOf(directory.SORTS))
    page = Page()
    per_page = ma.fields.Integer(load_default=directory.PER_PAGE,
                                 validate=ma.validate.Range(1, 100))


class RateSchema(ma.Schema):
    customer_class = ma.fields.String()
    hourly_fen = ma.fields.Integer()
    rounding_minutes = ma.fields.Integer()
    minimum_minutes = ma.fields.Integer()
    setup_fee_fen = ma.fields.Integer()
    valid_from = ma.fields.AwareDateTime()


class OrganisationRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name_zh = ma.fields.String()
    name_en = ma.fields.String()
    city = ma.fields.String()


class InstrumentSchema(ma.Schema):
    id = ma.fields.Integer()
    name_zh = ma.fields.String()
    name_en = ma.fields.String()
    model = ma.fields.String()
    manufacturer = ma.fields.String()
    category = ma.fields.String()
    national_class = ma.fields.String(allow_none=True, metadata={
        "description": "national large-instrument classification code"})
    asset_number = ma.fields.String(allow_none=True)
    organisation = ma.fields.Nested(OrganisationRefSchema)
    lab = ma.fields.String()
    lab_en = ma.fields.String()
    location = ma.fields.String()
    location_en = ma.fields.String()
    status = ma.fields.String()
    original_value_fen = ma.fields.Integer()
    service_modes = ma.fields.Function(
        lambda i: [m for m in rules.SERVICE_MODES if getattr(i, f"allows_{m}")])
    hourly_fen = ma.fields.Integer(allow_none=True, metadata={
        "description": "hourly rate in force for an outside enterprise user"})
    info_updated_at = ma.fields.AwareDateTime()


class OpeningHoursSchema(ma.Schema):
    weekday = ma.fields.Integer(metadata={"description": "0 = Monday"})
    opens = ma.fields.Time()
    closes = ma.fields.Time()


class InstrumentDetailSchema(InstrumentSchema):
    description = ma.fields.String()
    description_en = ma.fields.String()
    capabilities = ma.fields.Function(lambda i: [c for c in i.capabilities.splitlines()
                                                 if c.strip()])
    capabilities_en = ma.fields.Function(lambda i: [c for c in i.capabilities_en.splitlines()
                                                    if c.strip()])
    purchase_date = ma.fields.Date(allow_none=True)
    timezone = ma.fields.String()
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()
    contact_email = ma.fields.String()
    rates = ma.fields.Method("current_rates")
    opening_hours = ma.fields.List(ma.fields.Nested(OpeningHoursSchema))
    booking_rules = ma.fields.Function(lambda i: {
        "slot_minutes": i.slot_minutes, "min_minutes": i.min_minutes,
        "max_minutes": i.max_minutes, "lead_minutes": i.lead_minutes,
        "max_days_ahead": i.max_days_ahead, "cancel_deadline_hours": i.cancel_deadline_hours,
        "requires_approval": i.requires_approval,
        "approval_timeout_hours": i.approval_timeout_hours,
        "check_in_early_minutes": i.check_in_early_minutes,
        "no_show_fraction": str(i.no_show_fraction),
        "late_cancel_fraction": str(i.late_cancel_fraction),
        "requires_qualification": i.requires_qualification,
        "per_sample_fee_fen": i.per_sample_fee_fen})

    def current_rates(self, instrument):
        current = rules.effective_rates(instrument.rates, now_utc())
        return RateSchema(many=True).dump([current[c] for c in rules.CUSTOMER_CLASSES
                                           if c in current])


InstrumentPageSchema = page_schema(InstrumentSchema, "InstrumentPageSchema")


# --- writing (lab managers, through the API) -------------------------------------------------
# Bounds as the instrument form's (booking.instruments.forms): an API client can send nothing
# the lab console would refuse.
def _text(max_length: int, **kwargs):
    return Text(validate=ma.validate.Length(max=max_length), **kwargs)


def _minutes(low: int, high: int):
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(low, high))


class InstrumentWriteSchema(ma.Schema):
    """An instrument's fields as a lab manager sets them (PATCH: any subset)."""

    name_zh = Text(validate=ma.validate.Length(1, 200))
    name_en = _text(200)
    model = _text(120)
    manufacturer = _text(120)
    national_class = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(
        list(classification.classes())), metadata={
        "description": "national classification code; sets the category when that is not given"})
    category = ma.fields.String(validate=ma.validate.OneOf(list(rules.CATEGORIES)))
    asset_number = Text(allow_none=True, validate=ma.validate.Length(1, 64))
    original_value_fen = ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 10**12))
    purchase_date = ma.fields.Date(allow_none=True, validate=ma.validate.Range(
        date(1900, 1, 1), date(2100, 12, 31)))
    lab = _text(200)
    lab_en = _text(200)
    location = _text(200)
    location_en = _text(200)
    contact_name = _text(100)
    contact_phone = _text(32)
    contact_email = ma.fields.String(validate=[ma.validate.Length(max=254),
                                               ma.validate.Regexp(r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")])
    description = _text(5000)
    description_en = _text(5000)
    capabilities = _text(5000)
    capabilities_en = _text(5000)
    allows_self_operated = ma.fields.Boolean()
    allows_staff_operated = ma.fields.Boolean()
    status = ma.fields.String(validate=ma.validate.OneOf(rules.STATUSES))
    is_public = ma.fields.Boolean()
    timezone = ma.fields.String(validate=ma.validate.Length(max=64))
    slot_minutes = _minutes(5, 1440)
    min_minutes = _minutes(1, rules.MAX_BOOKING_MINUTES)
    max_minutes = _minutes(1, rules.MAX_BOOKING_MINUTES)
    lead_minutes = _minutes(0, rules.MAX_BOOKING_MINUTES)
    max_days_ahead = _minutes(1, 730)
    cancel_deadline_hours = _minutes(0, 720)
    requires_approval = ma.fields.Boolean()
    approval_timeout_hours = _minutes(1, 720)
    check_in_early_minutes = _minutes(0, 240)
    requires_qualification = ma.fields.Boolean()
    per_sample_fee_fen = ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 10**12))

    class Meta:
        unknown = ma.RAISE

    @ma.validates("timezone")
    def _timezone(self, value, **kwargs):
        if not is_valid_timezone(value):
            raise ma.ValidationError("unknown time zone")


class InstrumentCreateSchema(InstrumentWriteSchema):
    organisation_id = Id(metadata={"description": "the owner; defaults to the one organisation "
                                                  "the token's user manages"})
    name_zh = Text(required=True, validate=ma.validate.Length(1, 200))


class RateWriteSchema(ma.Schema):
    customer_class = ma.fields.String(required=True,
                                      validate=ma.validate.OneOf(rules.CUSTOMER_CLASSES))
    hourly_fen = ma.fields.Integer(required=True, strict=True,
                                   validate=ma.validate.Range(0, 10**9))
    rounding_minutes = ma.fields.Integer(load_default=15, strict=True,
                                         validate=ma.validate.Range(1, 240))
    minimum_minutes = ma.fields.Integer(load_default=30, strict=True,
                                        validate=ma.validate.Range(0, 1440))
    setup_fee_fen = ma.fields.Integer(load_default=0, strict=True,
                                      validate=ma.validate.Range(0, 10**9))
    valid_from = Moment(load_default=None, metadata={
        "description": "from when it applies (not before now; default now)"})


class OpeningHoursWriteSchema(ma.Schema):
    hours = ma.fields.Dict(
        required=True, keys=ma.fields.String(validate=ma.validate.OneOf(
            [str(d) for d in range(7)])),
        values=ma.fields.String(validate=ma.validate.Length(max=200)),
        metadata={"description": 'weekday (0 = Monday) -> "08:00-12:00, 13:30-18:00" in the '
                                 'instrument\'s local time; weekdays left out are closed'})


class BlackoutWriteSchema(ma.Schema):
    start = Moment(required=True)
    end = Moment(required=True)
    reason = Text(required=True, validate=ma.validate.Length(1, 200))

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ma.ValidationError("must be after start", "end")


class BlackoutSchema(ma.Schema):
    id = ma.fields.Integer()
    start = ma.fields.AwareDateTime(attribute="start_at")
    end = ma.fields.AwareDateTime(attribute="end_at")
    reason = ma.fields.String()
    cancelled_bookings = ma.fields.Integer()
