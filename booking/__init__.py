"""Shared-instrument platform: the application factory."""
import importlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import ModuleType
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from flask import Flask, current_app, has_request_context, request, session
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_datetime, gettext, ngettext
from flask_login import current_user

from booking.core.clock import to_local
from booking.core.db import engine_options
from booking.core.security import init_security_headers
from booking.core.web import IdConverter, refuse_nul_characters
from booking.extensions import babel, csrf, db, limiter, login_manager, migrate

# Domain areas in dependency order. Each may have models, routes (a `bp` blueprint) and demo
# (a `seed(scale)` function); the factory picks up whichever exist.
AREAS = ("core", "accounts", "inbox", "instruments", "groups", "bookings", "metering", "billing",
         "subsidies", "orders", "rankings", "identity", "admin",
         "reports")


# The demo seeds the areas in that order but for vouchers: approved in the past, before billing
# writes its history, so that its month closes reserve their shares as a real close does.
DEMO_AREAS = ("core", "accounts", "inbox", "instruments", "groups", "bookings", "metering",
              "subsidies", "billing", "orders", "rankings", "identity", "admin", "reports")


def area_modules(kind: str, areas: tuple[str, ...] = AREAS) -> Iterator[ModuleType]:
    for area in areas:
        name = f"booking.{area}.{kind}"
        if importlib.util.find_spec(name) is not None:
            yield importlib.import_module(name)


class SessionsOnDemand(SecureCookieSessionInterface):
    """A request without a session cookie starts an empty session without building the
    cookie's signer, and one that ends with it still empty answers without looking up the
    cookie's settings (calendars and the API are mostly asked without one)."""

    def open_session(self, app, request):
        if "HTTP_COOKIE" not in request.environ or \
                self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if session or session.modified:
            return super().save_session(app, session, response)
        if session.accessed:  # the answer may differ for someone signed in
            if "Vary" in response.headers:
                response.vary.add("Cookie")
            else:
                response.headers["Vary"] = "Cookie"


def create_app(config_class=None) -> Flask:
    from config import config_from_env

    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=os.path.join(os.path.dirname(os.path.dirname(
                    os.path.abspath(__file__))), "instance"))
    app.config.from_object(config_class or config_from_env())
    app.url_map.converters["int"] = IdConverter
    app.session_interface = SessionsOnDemand()
    if app.config["ENV_NAME"] == "production":
        check_production(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("MAIL_SERVER") and os.environ.get("MAIL_LOG", "1") != "0":
        app.logger.setLevel(logging.INFO)  # mail goes to the log: it must be seen there

    _init_extensions(app)
    init_security_headers(app)
    _register_blueprints(app)
    _register_template_helpers(app)

    from booking.accounts.services import unknown_account_hash
    from booking.cli import register_cli
    from booking.errors import register_error_handlers

    register_error_handlers(app)
    register_cli(app)
    with app.app_context():  # hashed now, so no first sign-in of a worker is slower than others
        unknown_account_hash()
    return app


class UnsafeConfiguration(RuntimeError):
    """A production setting missing or unsafe: the app does not start."""


def check_production(config) -> None:
    """Refuse to start with settings that are fine on a laptop and unsafe in production."""
    if config["SECRET_KEY"].startswith("dev-"):
        raise UnsafeConfiguration("SECRET_KEY must be set in production")
    base = urlsplit(config["PUBLIC_BASE_URL"])
    if base.scheme not in ("http", "https") or not base.hostname:
        raise UnsafeConfiguration("PUBLIC_BASE_URL (e.g. https://instruments.example.cn) must "
                                  "be set in production: links in e-mails are built on it")
    config["TRUSTED_HOSTS"] = config.get("TRUSTED_HOSTS") or [base.hostname]
    if config["RATELIMIT_ENABLED"] and config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        raise UnsafeConfiguration("RATELIMIT_STORAGE_URI must name shared storage (redis://…) "
                                  "in production: memory:// counts per process, so limits "
                                  "would not hold")


def _select_locale() -> str | None:
    if not has_request_context():
        return None  # CLI and services outside a request: BABEL_DEFAULT_LOCALE
    if session.get("locale") in ("zh_CN", "en"):
        return session["locale"]
    if current_user and current_user.is_authenticated:
        return current_user.locale
    return "en" if request.accept_languages.best_match(["zh_CN", "zh", "en"]) == "en" else "zh_CN"


def _select_timezone() -> str:
    if not has_request_context():
        return current_app.config["DEFAULT_TIMEZONE"]
    if current_user and current_user.is_authenticated:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested deeper than the decoder recurses is bad JSON
    (request.get_json answers 400, or None when silent) instead of a RecursionError, and keys
    keep the order the views give them (sorting costs time)."""

    sort_keys = False

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error


def _init_extensions(app: Flask) -> None:
    from booking import models  # noqa: F401 - every model registered before migrate/create_all

    app.json = JSONProvider(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path),
                                                     "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.refresh_view = "accounts.login"
    login_manager.session_protection = "basic"
    login_manager.login_message_category = "warning"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.needs_refresh_message = _l("Please log in again to confirm it is you.")
    app.before_request(refuse_nul_characters)
    csrf.init_app(app)
    _check_csrf_on_writes_only(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    limiter.init_app(app)
    # Only a few views carry limits (@limiter.limit checks them itself, inline) and there are no
    # default limits, so the per-request check flask-limiter hooks in before every request is
    # pure overhead: 0.14 ms of the 0.9 ms a calendar request takes. Tests of the login and
    # kiosk limits guard that the decorators still limit.
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # not hooked in when RATELIMIT_ENABLED is off
        hooks.remove(limiter._check_request_limit)

    from booking.api import init_api

    init_api(app)


def _check_csrf_on_writes_only(app: Flask) -> None:
    """Flask-WTF's hook looks up the view's exemptions before it looks at the method, on
    every request; a GET (most of them: calendars, pages) has no token to check."""
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks[:] = [hook for hook in hooks if getattr(hook, "__name__", "") != "csrf_protect"]

    @app.before_request
    def csrf_protect_writes():
        if request.method in app.config["WTF_CSRF_METHODS"] and app.config["WTF_CSRF_ENABLED"] \
                and app.config["WTF_CSRF_CHECK_DEFAULT"]:
            csrf.protect(apply_exemptions=True)


def _register_blueprints(app: Flask) -> None:
    for module in area_modules("routes"):
        app.register_blueprint(module.bp)
    _connect_signals()


def _connect_signals() -> None:
    """Each area wires its own signal receivers (`connect_signals()` in its package);
    receivers are process-wide, and connecting one twice keeps one."""
    for area in AREAS:
        connect = getattr(importlib.import_module(f"booking.{area}"), "connect_signals", None)
        if connect is not None:
            connect()


def _blank_post_form():
    """A form for its CSRF token only. It never reads the request, so that an error page (a
    413 for a form too large to read, say) renders without touching the form data."""
    from booking.core.web import PostForm

    return PostForm(formdata=None)


def _register_template_helpers(app: Flask) -> None:
    from booking.core.money import format_cny, percent
    from booking.core.web import current_locale

    app.jinja_env.filters["cny"] = format_cny

    @app.template_filter("local_dt")
    def local_dt(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm",
                 timezone: str | None = None) -> str:
        """In the reader's timezone, or in `timezone` (an instrument's, where the page says its
        times are the instrument's)."""
        if value is None:
            return "—"
        if timezone is not None:
            return babel_format_datetime(value, fmt, tzinfo=ZoneInfo(timezone),
                                         locale=current_locale())
        return format_datetime(value, fmt, rebase=True)

    app.add_template_filter(percent, "percent")  # 0.125 → 12.5

    @app.template_filter("filesize")
    def filesize(size_bytes: int) -> str:
        """8 bytes, 12.3 KB, 4.5 MB, in the reader's language (Jinja's says "8 Bytes")."""
        if size_bytes < 1024:
            return ngettext("%(num)d byte", "%(num)d bytes", size_bytes)
        for unit in ("KB", "MB", "GB"):
            size_bytes /= 1024
            if size_bytes < 1024 or unit == "GB":
                return f"{size_bytes:.1f} {unit}"

    @app.template_filter("local_span")
    def local_span(start: datetime, end: datetime, timezone: str) -> str:
        """A span of time at a place, as short as it reads right: whole days as days."""
        first, last = to_local(start, timezone), to_local(end, timezone)
        if first.time() == last.time() == datetime.min.time():  # whole days
            days = (last.date() - first.date()).days
            if days == 1:
                return gettext("%(day)s, all day", day=first.date().isoformat())
            return f"{first.date()} – {last.date() - timedelta(days=1)}"
        if first.date() == last.date():
            return f"{first:%Y-%m-%d %H:%M}–{last:%H:%M}"
        return f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}"

    @app.context_processor
    def inject_globals():
        from booking.core.categories import category_name
        from booking.core.clock import now_utc
        from booking.labels import kind_label, payment_method_label, role_label
        from booking.navigation import nav_items

        locale = current_locale()
        return {"current_locale": locale, "post_form": _blank_post_form,
                "colon": "：" if locale == "zh_CN" else ": ",  # after a label
                "nav_items": nav_items(), "role_label": role_label, "kind_label": kind_label,
                "payment_method_label": payment_method_label, "now": now_utc(),
                "category_label": lambda code: category_name(code, locale)}
