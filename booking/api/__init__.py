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


def api_modules():
    """Every module of this package that defines a `blp` (one per area)."""
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "blp"):
            yield module


def init_api(app) -> Api:
    """One Api per app (tests build several apps; a shared one would duplicate the spec)."""
    from booking.extensions import csrf

    api = Api(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}}})
    for module in api_modules():
        # Bearer tokens only, no cookies: there is no ambient credential to forge.
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    return api
