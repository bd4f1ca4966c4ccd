"""The orders' JSON shapes: what the API reads and answers (and its OpenAPI document)."""
from datetime import timedelta

import marshmallow as ma
from flask_smorest.fields import Upload

from booking.api.fields import Day, Id, Moment, Text, WholeNumber
from booking.api.paging import PageArgs, page_schema
from booking.orders import rules


class SampleInSchema(ma.Schema):
    name = Text(required=True, validate=ma.validate.Length(1, 200))
    count = WholeNumber(load_default=1, validate=ma.validate.Range(
        1, rules.MAX_SAMPLE_COUNT))
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(rules.SAMPLE_STATES))
    composition = Text(load_default="", validate=ma.validate.Length(max=500))
    hazards = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(rules.HAZARDS)),
                             load_default=list, validate=ma.validate.Length(
                                 max=len(rules.HAZARDS)))


class OrderRequestSchema(ma.Schema):
    instrument_id = Id(required=True)
    samples = ma.fields.List(ma.fields.Nested(SampleInSchema), required=True,
                             validate=ma.validate.Length(1, rules.MAX_SAMPLE_LINES))
    tests = ma.fields.List(Text(validate=ma.validate.Length(1, 200)),
                           required=True, validate=ma.validate.Length(1, rules.MAX_TESTS),
                           metadata={"description": "each test runs on every sample"})
    leftovers = ma.fields.String(load_default="return",
                                 validate=ma.validate.OneOf(rules.LEFTOVERS))
    desired_date = Day(load_default=None, allow_none=True)
    urgent = ma.fields.Boolean(load_default=False)
    notes = Text(load_default="", validate=ma.validate.Length(max=2000))
    hazards_acknowledged = ma.fields.Boolean(load_default=False, metadata={
        "description": "required when a sample declares a hazard: hazardous samples are "
                       "refused unless the lab accepts them"})
    terms_signed = ma.fields.Boolean(required=True, metadata={
        "description": "must be true: the customer accepts the terms of the commission"})


class QuoteRequestSchema(ma.Schema):
    instrument_id = Id(required=True)
    samples = WholeNumber(required=True, validate=ma.validate.Range(
        1, rules.MAX_TOTAL_SAMPLES), metadata={"description": "samples in all"})
    tests = WholeNumber(required=True, validate=ma.validate.Range(1, rules.MAX_TESTS))
    urgent = ma.fields.Boolean(load_default=False)


class OrderQuoteSchema(ma.Schema):
    samples = ma.fields.Integer()
    tests = ma.fields.Integer()
    per_sample_fen = ma.fields.Integer()
    samples_fee_fen = ma.fields.Integer()
    setup_fee_fen = ma.fields.Integer()
    surcharge_fen = ma.fields.Integer()
    fee_fen = ma.fields.Integer()
    voucher_fen = ma.fields.Integer()
    payable_fen = ma.fields.Integer()


class SampleSchema(ma.Schema):
    id = ma.fields.Integer()
    position = ma.fields.Integer()
    code = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    count = ma.fields.Integer()
    state = ma.fields.String(metadata={"enum": list(rules.SAMPLE_STATES)})
    composition = ma.fields.String()
    hazards = ma.fields.List(ma.fields.String())
    condition = ma.fields.String()


class EventSchema(ma.Schema):
    state = ma.fields.String(metadata={"enum": list(rules.STATES)})
    at = ma.fields.AwareDateTime(attribute="created_at")
    actor_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String()


class OrderSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    instrument_id = ma.fields.Integer()
    customer_user_id = ma.fields.Integer()
    state = ma.fields.String(metadata={"enum": list(rules.STATES)})
    tests = ma.fields.List(ma.fields.String())
    leftovers = ma.fields.String(metadata={"enum": list(rules.LEFTOVERS)})
    outcome = ma.fields.String(allow_none=True)
    desired_date = ma.fields.Date(allow_none=True)
    urgent = ma.fields.Boolean()
    fee_fen = ma.fields.Integer()
    voucher_fen = ma.fields.Integer(metadata={"description": "forecast at submission; the "
                                              "invoice carries the share deducted"})
    payable_fen = ma.fields.Integer()
    decline_reason = ma.fields.String()
    invoice_id = ma.fields.Integer(allow_none=True)
    report_number = ma.fields.String(allow_none=True)
    report_issued_at = ma.fields.AwareDateTime(allow_none=True)
    booking_ids = ma.fields.Function(lambda order: [b.id for b in order.bookings])
    samples = ma.fields.List(ma.fields.Nested(SampleSchema))
    events = ma.fields.List(ma.fields.Nested(EventSchema))


OrderListSchema = page_schema(OrderSchema, "OrderListSchema")


class OrderListArgs(PageArgs):
    mine = ma.fields.Boolean(load_default=True, metadata={
        "description": "1: your orders; 0: the orders of the labs you manage"})
    state = ma.fields.String(validate=ma.validate.OneOf(rules.STATES))


class DeclineSchema(ma.Schema):
    reason = Text(required=True, validate=ma.validate.Length(1, 500))


class ReceiveSchema(ma.Schema):
    condition = Text(required=True, validate=ma.validate.Length(1, 500))
    samples = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Regexp(r"^\d{1,9}$")),
                             values=Text(validate=ma.validate.Length(max=500)),
                             load_default=dict, validate=ma.validate.Length(
                                 max=rules.MAX_SAMPLE_LINES),
                             metadata={"description": "condition per sample id"})


class ScheduleSchema(ma.Schema):
    start = Moment(required=True)
    end = Moment(required=True)

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if "start" in data and "end" in data and not \
                data["start"] < data["end"] <= data["start"] + timedelta(days=1):
            raise ma.ValidationError("end must follow start, within a day", "end")


class CloseSchema(ma.Schema):
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(rules.OUTCOMES))


class ReportFilesSchema(ma.Schema):
    report = Upload(required=True, metadata={"description": "the report, a PDF"})
    data = Upload(metadata={"description": "one data file (csv, txt, xlsx, zip, ...)"})


class VerifyArgs(ma.Schema):
    number = Text(required=True, validate=ma.validate.Length(1, 40))


class VerificationSchema(ma.Schema):
    report_number = ma.fields.String()
    issued_on = ma.fields.Function(lambda o: o.report_issued_at.date().isoformat())
    lab = ma.fields.Function(lambda o: o.instrument.display_lab())
    organisation = ma.fields.Function(lambda o: o.provider.name_zh)
