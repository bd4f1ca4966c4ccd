"""Usage sessions' JSON shapes: what the API reads and answers (and its OpenAPI document)."""
import marshmallow as ma

from booking.api.fields import Id, Moment


class SessionSchema(ma.Schema):
    id = ma.fields.Integer()
    instrument_id = ma.fields.Integer()
    booking_id = ma.fields.Integer(allow_none=True)
    user_id = ma.fields.Integer()
    start = ma.fields.DateTime(attribute="started_at")
    end = ma.fields.DateTime(attribute="ended_at", allow_none=True)
    minutes = ma.fields.Integer()
    source = ma.fields.String()
    overrun = ma.fields.Boolean()
    corrects_id = ma.fields.Integer(allow_none=True)


class UsageRequestSchema(ma.Schema):
    instrument_id = Id(required=True)
    start = Moment(required=True)
    end = Moment(required=True)
    booking_id = Id(load_default=None, allow_none=True)
    user_id = Id(load_default=None, allow_none=True, metadata={
        "description": "who used it; default: the booking's user (another is refused: "
                       "wrong_user); for a walk-up, the token's user (an instrument token "
                       "must name one)"})
