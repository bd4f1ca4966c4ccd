"""Small web helpers shared by every area."""
from urllib.parse import urlsplit

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField


def safe_next(target: str | None) -> str | None:
    """A local path to return to after login, or None for anything that could leave the site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def current_locale() -> str:
    """Our locale code ("zh_CN" or "en"); Babel itself spells Chinese zh_Hans_CN."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


class PostForm(FlaskForm):
    """A CSRF-protected POST with no fields (buttons: revoke, verify, confirm, language)."""

    submit = SubmitField(_l("Confirm"))
