"""One error handler for the whole app: JSON under /api/, translated HTML pages elsewhere."""
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from booking.core.problems import Refused
from booking.core.web import safe_next
from booking.extensions import db

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large",
          415: "unsupported_media_type",
          422: "validation_error", 429: "rate_limited", 500: "internal_error"}


class ApiAbort(HTTPException):
    def __init__(self, status: int, code: str, message: str, problems=None):
        super().__init__(description=message)
        self.code = status
        self.error_code = code
        self.problems = problems or []


def api_abort(status: int, code: str, message: str, problems=None):
    raise ApiAbort(status, code, message, problems)


def _is_api_request() -> bool:
    """The API, and the pages' own JSON (calendar.json, quote.json): a script reads it."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def _flattened(path: str, messages):
    """(dotted path, text) of marshmallow's nested messages: {"repeat": {"freq": [...]}}
    is repeat.freq, a list's item tests.0, a dict's key hours.7.key."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flattened(f"{path}.{key}" if path else str(key), value)
    elif isinstance(messages, list):
        for value in messages:
            yield from _flattened(path, value)
    else:
        yield path, str(messages)


def _problems_from_webargs(error) -> list[dict]:
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    return [{"field": field, "location": location, "message": text}
            for location, fields in messages.items() for field, text in _flattened("", fields)]


def json_error(error: HTTPException):
    status = error.code or 500
    code = getattr(error, "error_code", None) or _CODES.get(status, "error")
    problems = getattr(error, "problems", None) or _problems_from_webargs(error)
    message = error.description if status != 500 else "Internal server error."
    if status == 422 and problems and not isinstance(error, ApiAbort):
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    response = _error_body(status, code, message, problems)
    _copy_headers(error, response)
    if status == 401 and request.path.startswith("/api/"):  # RFC 6750: the scheme it takes
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    for key, value in ((getattr(error, "data", None) or {}).get("headers") or {}).items():
        response.headers[key] = value
    return response


def _copy_headers(error: HTTPException, response: Response) -> None:
    """What the exception says beside its body: Allow on a 405, Retry-After on a 429, ..."""
    for key, value in error.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value


def handle_http_exception(error: HTTPException):
    if isinstance(error, SecurityError):  # an untrusted Host: no URLs can be built for it
        return Response("Bad Request: untrusted host\n", 400, mimetype="text/plain")
    if _is_api_request():
        return json_error(error)
    if isinstance(error, CSRFError):
        return render_template("errors/csrf.html", error=error), 400
    template = f"errors/{error.code}.html" if error.code in (403, 404, 500) else \
        "errors/generic.html"
    # Werkzeug's own explanation is English only: the page's translated heading says it
    response = make_response(render_template(
        template, error=error, type_default=type(error).description,
        back=_same_site_referrer() if error.code == 413 else None), error.code)
    _copy_headers(error, response)
    return response


def _same_site_referrer() -> str | None:
    """The page the request came from, when it is this site's (a form whose file was too
    large: its sender goes back to it)."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or referrer.scheme not in ("http", "https"):
        return None
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


def handle_refused(refused: Refused):
    """A workflow refused and the view let it through: nothing it began may be committed.
    The API answers in the documented error shape; a page shows the reasons."""
    db.session.rollback()
    if _is_api_request():
        return api_error(refused)
    return render_template("errors/refused.html", refused=refused), refused.http_status


def api_error(refused: Refused):
    return _error_body(refused.http_status, refused.api_code or refused.code, str(refused),
                       [{"code": p.code, "message": p.message} for p in refused.problems])


def _error_body(status: int, code: str, message: str, problems: list[dict]) -> Response:
    """The documented error shape: {"error": {"code", "message", "problems"}}."""
    response = jsonify({"error": {"code": code, "message": message, "problems": problems}})
    response.status_code = status
    return response


def handle_unexpected(error: Exception):
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError(original_exception=error))


def register_error_handlers(app):
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Refused, handle_refused)
    app.register_error_handler(Exception, handle_unexpected)
