"""The directory's JSON shapes: what the API reads and answers (and its OpenAPI document)."""
import marshmallow as ma

from booking.api.fields import Id, Page
from booking.api.paging import page_schema
from booking.core.clock import now_utc
from booking.instruments import directory, rules


class DirectoryArgsSchema(ma.Schema):
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=100),
                         metadata={"description": "keywords; two-character Chinese works (电镜)"})
    category = ma.fields.String(load_default="", validate=ma.validate.OneOf(
        ["", *rules.CATEGORIES]))
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
    organisation = ma.fields.Nested(OrganisationRefSchema)
    lab = ma.fields.String()
    location = ma.fields.String()
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
    capabilities = ma.fields.Function(lambda i: [c for c in i.capabilities.splitlines()
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
