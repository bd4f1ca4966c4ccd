"""The vouchers' JSON shapes: what the API reads and answers (and its OpenAPI document)."""
import marshmallow as ma

from booking.api.fields import Text, WholeNumber
from booking.api.paging import PageArgs, page_schema
from booking.core.clock import now_utc
from booking.subsidies.models import VOUCHER_STATES
from booking.subsidies.policy import ENTERPRISE_CLASSES

MAX_FEN = 10**12


class VoucherSchema(ma.Schema):
    id = ma.fields.Integer()
    state = ma.fields.Function(lambda voucher: voucher.state_at(now_utc()), metadata={
        "enum": list(VOUCHER_STATES), "description": "as of now (expired once past validity)"})
    enterprise_class = ma.fields.String(metadata={"enum": list(ENTERPRISE_CLASSES)})
    rate = ma.fields.Function(lambda v: format(v.rate.normalize(), "f"),
                              metadata={"description": "share of eligible fees, e.g. \"0.4\""})
    face_value_fen = WholeNumber()
    remaining_fen = WholeNumber()
    requested_fen = WholeNumber()
    enterprise_id = ma.fields.Integer()
    year = ma.fields.Integer()
    policy_version = ma.fields.Function(lambda v: v.policy.version)
    valid_until = ma.fields.AwareDateTime(allow_none=True)
    decision_reason = ma.fields.String()


VoucherListSchema = page_schema(VoucherSchema, "VoucherListSchema")


class ListArgsSchema(PageArgs):
    state = ma.fields.String(validate=ma.validate.OneOf(VOUCHER_STATES))


class DeclarationSchema(ma.Schema):
    staff_count = WholeNumber(validate=ma.validate.Range(min=0), allow_none=True)
    annual_revenue_fen = WholeNumber(validate=ma.validate.Range(0, MAX_FEN), allow_none=True)
    total_assets_fen = WholeNumber(validate=ma.validate.Range(0, MAX_FEN), allow_none=True)
    registered_capital_fen = WholeNumber(validate=ma.validate.Range(0, MAX_FEN),
                                               allow_none=True)
    founded_on = ma.fields.Date(allow_none=True)


class ApplySchema(ma.Schema):
    amount_fen = WholeNumber(required=True, validate=ma.validate.Range(1, MAX_FEN))
    project = Text(required=True, validate=ma.validate.Length(1, 2000))
    enterprise_class = ma.fields.String(required=True,
                                        validate=ma.validate.OneOf(ENTERPRISE_CLASSES))
    declaration = ma.fields.Nested(DeclarationSchema, load_default=dict)


class ApproveSchema(ma.Schema):
    amount_fen = WholeNumber(validate=ma.validate.Range(1, MAX_FEN),
                                   metadata={"description": "defaults to the amount applied for"})
    reason = Text(validate=ma.validate.Length(max=500), load_default="", metadata={
        "description": "why less than the amount applied for is approved (then required)"})


class RejectSchema(ma.Schema):
    reason = Text(required=True, validate=ma.validate.Length(1, 500))
