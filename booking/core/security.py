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
    static_headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(self)",
    }
    if app.config.get("HSTS_SECONDS"):
        static_headers["Strict-Transport-Security"] = \
            f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains"

    @app.after_request
    def _security_headers(response):
        policy, nonce = _policy(app.config), g.get(_PER_REQUEST)
        response.headers["Content-Security-Policy"] = \
            policy.replace("{nonce}", f"'nonce-{nonce}'") if nonce else \
            policy.replace(" {nonce}", "")
        for name, value in static_headers.items():
            response.headers.setdefault(name, value)
        return response

    app.jinja_env.globals["csp_nonce"] = csp_nonce


def external_url(endpoint: str, **values) -> str:
    """An absolute link for e-mails, feeds and the CLI: built on PUBLIC_BASE_URL, never on the
    request's Host header (which a client chooses)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
