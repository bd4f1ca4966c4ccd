"""JSON API under /api/v1: flask-smorest blueprints whose marshmallow schemas both validate
input and generate the OpenAPI document at /api/v1/openapi.json."""
import marshmallow as ma
from flask_smorest import Api as _SmorestApi


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "machine-readable error code"})
    message = ma.fields.String()
    problems = ma.fields.List(ma.fields.Dict())


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema)


class Api(_SmorestApi):
    """flask-smorest, but errors are rendered by booking.errors for the whole app, so that
    HTML pages keep HTML error pages and the API speaks the DESIGN.md error format."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        pass


api = Api(spec_kwargs={"components": {"securitySchemes": {
    "bearerAuth": {"type": "http", "scheme": "bearer"}}}})


def init_api(app):
    from booking.api import tokens
    from booking.extensions import csrf

    api.init_app(app)
    for module in (tokens,):
        # Bearer tokens only, no cookies: there is no ambient credential to forge.
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    return api
