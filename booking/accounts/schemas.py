"""Accounts' JSON shapes: tokens and the signed-in user (and their OpenAPI document)."""
import marshmallow as ma

from booking.api.fields import Text


class TokenRequestSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    name = Text(load_default="api", validate=ma.validate.Length(max=100))
    valid_days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(1, 3650))


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)


class MeSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    locale = ma.fields.String()
    timezone = ma.fields.String()
    organisation_id = ma.fields.Integer()
    roles = ma.fields.Function(lambda user: user.role_names())
    can_book = ma.fields.Boolean()
