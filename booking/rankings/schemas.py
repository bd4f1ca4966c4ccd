"""Rankings' JSON shapes: what the API answers (and its OpenAPI document)."""
import marshmallow as ma

from booking.api.fields import DecimalText
from booking.rankings.policy import INDICATORS


class RankingQuerySchema(ma.Schema):
    period = ma.fields.String(load_default=None, metadata={
        "description": "YYYY or YYYYQn; the latest published ranking when left out"})


class RankingRowSchema(ma.Schema):
    org_id = ma.fields.Integer()
    org_name = ma.fields.String()
    score = DecimalText(2, metadata={"description": "e.g. \"84.99\" (rounded for display; "
                                                   "grades compare the exact score)"})
    rank = ma.fields.Integer()
    grade = ma.fields.String(metadata={"enum": ["excellent", "good", "pass", "poor"]})
    reward_fen = ma.fields.Integer()
    indicators = ma.fields.Dict(keys=ma.fields.String(), values=DecimalText(4, allow_none=True),
                                metadata={"description": "raw indicator values: " +
                                          ", ".join(INDICATORS)})
    points = ma.fields.Dict(keys=ma.fields.String(), values=DecimalText(2))
    areas = ma.fields.Dict(keys=ma.fields.String(), values=DecimalText(2))
    flags = ma.fields.List(ma.fields.String())
    facts = ma.fields.Dict(keys=ma.fields.String(), metadata={
        "description": "instruments, listed, hours, external_clients, sme_clients"})


class RankingSchema(ma.Schema):
    period = ma.fields.String()
    published = ma.fields.Boolean()
    published_at = ma.fields.AwareDateTime(allow_none=True)
    policy_version = ma.fields.Integer()
    reward_pool_fen = ma.fields.Integer()
    reward_remainder_fen = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Nested(RankingRowSchema))
