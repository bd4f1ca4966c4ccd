import marshmallow as ma
from flask.views import MethodView

from booking.accounts import attempts, services
from booking.api import Blueprint, ErrorSchema
from booking.api.auth import SECURITY, api_user, token_required
from booking.core.notifications import commit
from booking.errors import api_abort

blp = Blueprint("api_tokens", __name__, description="Personal API tokens")


class TokenRequestSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    name = ma.fields.String(load_default="api", validate=ma.validate.Length(max=100))
    valid_days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(1, 3650))


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)


@blp.route("/tokens")
class Tokens(MethodView):
    @attempts.limited
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(401, description="wrong credentials")
    @blp.alt_response(429, schema=ErrorSchema, description="too many attempts for this account "
                      "or from this address (shared with the login page); see Retry-After")
    def post(self, body):
        """Exchange e-mail and password for a bearer token (shown once)."""
        user = services.authenticate(body["email"], body["password"])
        if user is None:
            commit()
            api_abort(401, "invalid_credentials", "Wrong e-mail or password.")
        token, raw = services.create_api_token(user, body["name"], body["valid_days"])
        commit()
        return {"token": raw, "expires_at": token.expires_at}


class MeSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    locale = ma.fields.String()
    timezone = ma.fields.String()
    organisation_id = ma.fields.Integer()
    roles = ma.fields.Function(lambda user: user.role_names())
    can_book = ma.fields.Boolean()


@blp.route("/me")
class Me(MethodView):
    decorators = [token_required]

    @blp.response(200, MeSchema)
    @blp.doc(security=SECURITY)
    def get(self):
        """The account the token belongs to."""
        return api_user()
