from flask.views import MethodView

from booking.accounts import attempts, services
from booking.accounts.schemas import (
    MeSchema,
    TokenRequestSchema,
    TokenSchema,
)
from booking.api import Blueprint, ErrorSchema
from booking.api.auth import SECURITY, api_user, token_required
from booking.core.notifications import commit
from booking.errors import api_abort

blp = Blueprint("api_tokens", __name__, description="Personal API tokens")


@blp.route("/tokens")
class Tokens(MethodView):
    @attempts.limited
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(401, description="wrong credentials")
    @blp.alt_response(403, schema=ErrorSchema, description="the account signs in through its "
                      "institution's campus sign-on (code campus_sign_on)")
    @blp.alt_response(429, schema=ErrorSchema, description="too many attempts for this account "
                      "or from this address (shared with the login page); see Retry-After")
    def post(self, body):
        """Exchange e-mail and password for a bearer token (shown once)."""
        try:
            user = services.authenticate(body["email"], body["password"])
        except services.SignsInOnCampus:
            commit()
            api_abort(403, "campus_sign_on", "This account signs in through its institution's "
                      "campus sign-on: create a token on the site's API tokens page.")
        if user is None:
            commit()
            api_abort(401, "invalid_credentials", "Wrong e-mail or password.")
        token, raw = services.create_api_token(user, body["name"], body["valid_days"])
        commit()
        return {"token": raw, "expires_at": token.expires_at}


@blp.route("/me")
class Me(MethodView):
    decorators = [token_required]

    @blp.response(200, MeSchema)
    @blp.doc(security=SECURITY)
    def get(self):
        """The account the token belongs to."""
        return api_user()
