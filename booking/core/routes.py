"""Domain-free routes: health check, the tab icon and the language switch."""
from flask import Blueprint, jsonify, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from booking.core.web import PostForm, safe_next
from booking.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - report any driver error as unhealthy
        database = f"error: {type(exc).__name__}"
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database}), status


@bp.route("/favicon.ico")
def favicon():
    """Where browsers look when a page names no icon (a JSON answer opened in a tab)."""
    return redirect(url_for("static", filename="img/favicon.svg"), 301)


@bp.route("/language", methods=["POST"])
def set_language():
    code = request.form.get("locale", "")
    if PostForm().validate_on_submit() and code in ("zh_CN", "en"):
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("instruments.index"))
