"""Configuration classes. Every setting can be overridden from the environment (12-factor).

Nothing is read at import time of the app package: create_app() picks a class and
`from_object` copies its attributes, which read the environment when this module loads.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip() or default  # set but empty: the default
    # Heroku-style URLs name the old driver; we use psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'booking.sqlite'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}  # connections idle a while are pinged: core/db.py
    SQLALCHEMY_RECORD_QUERIES = False

    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ["zh_CN", "en"]
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "Asia/Shanghai")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session

    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a method name. werkzeug's default cost (n=2**15, r=8, p=1)
    # Shared by every worker and instance in production (redis://…); memory:// counts per
    # process, so production refuses it.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    # One budget of attempts, per account and per address, for login, API tokens and resets.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")

    # Links in e-mails, feeds and CLI output are built on this, never on the request's Host.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # Host headers accepted (Flask refuses others with 400); production defaults to the host
    # of PUBLIC_BASE_URL.
    TRUSTED_HOSTS = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",")
                     if h.strip()] or None
    HSTS_SECONDS = 0

    # rendered calendar JSON each worker keeps (booking/bookings/calendar_cache.py); 0: none
    CALENDAR_CACHE_MAX_BYTES = int(os.environ.get("CALENDAR_CACHE_MAX_BYTES", 16 * 2**20))

    # how long a freed time is held for the first on its wait list before the next is offered
    WAITLIST_HOLD_MINUTES = int(os.environ.get("WAITLIST_HOLD_MINUTES", "120"))

    OUTBOX_SEND = os.environ.get("OUTBOX_SEND", "background")  # or "inline" (see notifications)
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "noreply@instruments.local")

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")  # localstripe in tests
    STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
    # Comma-separated PaymentIntent methods the account enables, e.g. "card,alipay,wechat_pay".
    STRIPE_PAYMENT_METHODS = os.environ.get("STRIPE_PAYMENT_METHODS", "card")

    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024

    # flask-smorest / OpenAPI
    API_TITLE = "Shared-instrument platform API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    DEMO_SEED_ALLOWED = True


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = _env_bool("FLASK_DEBUG", False)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = _database_url("sqlite://")
    if os.environ.get("TEST_DATABASE_URL"):
        SQLALCHEMY_DATABASE_URI = os.environ["TEST_DATABASE_URL"].replace(
            "postgresql://", "postgresql+psycopg://", 1)
    WTF_CSRF_ENABLED = False  # tests that exercise CSRF turn it back on
    LOGIN_RATE_LIMIT = "10000 per minute"  # the rate-limit test tightens it
    OUTBOX_SEND = "inline"  # tests read what was sent right after the request
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # noqa: S105 - same algorithm, cheap cost: tests hash a lot
    SERVER_NAME = None
    PUBLIC_BASE_URL = "http://localhost"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    DEMO_SEED_ALLOWED = False
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")  # required: see check_production
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", 365 * 24 * 3600))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env():
    return CONFIGS[os.environ.get("APP_CONFIG", "development")]
