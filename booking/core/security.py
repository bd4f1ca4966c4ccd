"""Security headers on every answer, and links built from the configured public address.

The Content-Security-Policy allows scripts from this site only, plus the inline scripts a
page marks with the request's nonce (`csp_nonce()` in templates) and, where card payment is
configured, Stripe.js. Styles may be inline: FullCalendar and Bootstrap set them at run time.
"""
import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, current_app, g

_PER_REQUEST = "_csp_nonce"


def csp_nonce() -> str:
    """This request's script nonce, made on first use (pages without inline scripts skip it)."""
    nonce = g.get(_PER_REQUEST)
    if nonce is None:
        nonce = g._csp_nonce = secrets.token_urlsafe(16)
    return nonce


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@lru_cache(maxsize=8)
def content_security_policy(stripe_js_url: str | None, stripe_api_base: str | None) -> str:
    """The policy, with `{nonce}` where a page's nonce goes. Stripe.js may load (and frame
    and call its API) where card payment is configured."""
    scripts, frames, connect = ["'self'", "{nonce}"], [], ["'self'"]
    if stripe_js_url:
        stripe_js = _origin(stripe_js_url)
        scripts.append(stripe_js)
        frames += [stripe_js, "https://hooks.stripe.com"]
        connect += [stripe_js, _origin(stripe_api_base or "https://api.stripe.com")]
    directives = {
        "default-src": ["'self'"], "script-src": scripts, "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"], "font-src": ["'self'", "data:"],
        "connect-src": connect, "frame-src": frames or ["'none'"], "object-src": ["'none'"],
        "base-uri": ["'self'"], "form-action": ["'self'"], "frame-ancestors": ["'none'"]}
    return "; ".join(f"{name} {' '.join(filter(None, values))}"
                     for name, values in directives.items())


def _policy(config) -> str:
    card_payment = bool(config.get("STRIPE_PUBLISHABLE_KEY"))
    return content_security_policy(config["STRIPE_JS_URL"] if card_payment else None,
                                   config.get("STRIPE_API_BASE") if card_payment else None)


def init_security_headers(app: Flask) -> None:
    static = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(self)"),
        ("Content-Security-Policy", _policy(app.config).replace(" {nonce}", "")),
    ]
    if app.config.get("HSTS_SECONDS"):
        static.append(("Strict-Transport-Security",
                       f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains"))
    app.wsgi_app = _SecurityHeaders(app.wsgi_app, static)

    @app.after_request
    def _nonce_policy(response):
        """A page that used its nonce gets the policy naming it (the static one, added
        below, would block its inline scripts)."""
        nonce = g.get(_PER_REQUEST)
        if nonce:
            response.headers["Content-Security-Policy"] = \
                _policy(app.config).replace("{nonce}", f"'nonce-{nonce}'")
        return response

    app.jinja_env.globals["csp_nonce"] = csp_nonce


class _SecurityHeaders:
    """WSGI middleware that appends the static security headers to every answer, static files
    and errors included, unless the app set one itself. Plain tuples: going through
    Werkzeug's Headers object for each one cost a sixth of a kept calendar request."""

    def __init__(self, wsgi_app, headers: list[tuple[str, str]]):
        self.wsgi_app, self.headers = wsgi_app, headers

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name for name, _ in headers}  # as spelled here and in the views
            headers.extend(h for h in self.headers if h[0] not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def external_url(endpoint: str, **values) -> str:
    """An absolute link for e-mails, feeds and the CLI: built on PUBLIC_BASE_URL, never on the
    request's Host header (which a client chooses)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def external_of(path: str) -> str:
    """The absolute form of a site_path (a notice's link, for its e-mail), as external_url."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    return f"{base.scheme}://{base.netloc}{path}"


def site_path(endpoint: str, **values) -> str:
    """A link inside the site (a path, no host), built in a request or outside one (the CLI):
    where an in-app notice points."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    return current_app.url_map.bind(base.netloc or "localhost", script_name=base.path or "/"
                                    ).build(endpoint, values)
