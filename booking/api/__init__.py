"""JSON API under /api/v1: flask-smorest blueprints whose marshmallow schemas both validate
input and generate the OpenAPI document at /api/v1/openapi.json."""
import functools
import json

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser, abort

from booking.api.fields import unstorable_text


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "machine-readable error code"})
    message = ma.fields.String()
    problems = ma.fields.List(ma.fields.Dict())


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema)


class Parser(FlaskParser):
    """webargs' parser, refusing a body that is not JSON (415), JSON nested deeper than
    Python's decoder recurses, numbers longer than it converts (4,300 digits), and JSON
    strings no text column can hold (a lone surrogate escaped as "\\ud800" or a NUL as
    "\\u0000" decodes, then fails in the database driver)."""

    def _raw_load_json(self, req):
        if req.content_length and not req.is_json:  # not read as an empty body: "Missing data"
            abort(415, messages={"json": ["Send the body as JSON (application/json)."]})
        try:
            data = super()._raw_load_json(req)
        except RecursionError:  # "[[[[…" nested a hundred thousand deep
            abort(400, messages={"json": ["Invalid JSON body: nested too deeply."]})
        except json.JSONDecodeError:  # webargs answers it (an empty body: no arguments)
            raise
        except ValueError:  # an integer of more digits than int() converts
            abort(400, messages={"json": ["Invalid JSON body: a number too long."]})
        path = unstorable_text(data)
        if path is not None:
            abort(422, messages={"json": {path: [
                "is not storable text (a NUL character or half a surrogate pair)"]}})
        return data


def answered_first(check):
    """Who may act on what the URL names is answered (404, 403) before the body is read: a
    stranger gets no 422 that describes the body. `check` takes the URL's arguments (its
    lookups are the session's, so the view's own one costs nothing); goes right above
    `arguments`."""
    def decorate(view):
        @functools.wraps(view)  # keeps flask-smorest's documentation of the view
        def checked(self, *args, **url_args):
            check(**url_args)
            return view(self, *args, **url_args)
        return checked
    return decorate


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, with argument schemas instantiated once: given a class,
    webargs instantiates it on every request, deep-copying its fields (on the booking API's
    create, about a tenth of the request's CPU)."""

    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema, **kwargs):
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)


class Api(flask_smorest.Api):
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
