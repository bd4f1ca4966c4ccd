"""The inbox page, reading and marking notices, and the notice preferences page."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required

from booking.api.paging import paged
from booking.core.db import take_write_lock
from booking.core.notifications import commit
from booking.core.web import PostForm, query_int, safe_next
from booking.extensions import db
from booking.inbox import rules, services
from booking.inbox.forms import PreferencesForm

bp = Blueprint("inbox", __name__)

PER_PAGE = 20


@bp.app_context_processor
def unread_badge():
    """`unread_notices()` for base.html: counted only when a page shows the badge (a signed-in
    user's HTML page), once per request; JSON endpoints render no template and pay nothing."""
    def unread_notices() -> int:
        if "unread_notices" not in g:
            g.unread_notices = services.unread_count(current_user.id) \
                if current_user.is_authenticated else 0
        return g.unread_notices
    return {"unread_notices": unread_notices}


def _own_notice(notice_id: int):
    """The signed-in user's notice; anyone else's is a 404, as if it did not exist."""
    return services.notice_for(current_user, notice_id) or abort(404)


def _back_to_inbox():
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.route("/inbox")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    listing = paged(services.notices_of(current_user.id, unread_only),
                    max(query_int("page", 1, 0, 10_000), 1), PER_PAGE, clamp=True)
    return render_template("inbox/index.html", notices=listing["items"],
                           total=listing["total"], page=listing["page"], per_page=PER_PAGE,
                           unread_only=unread_only)


@bp.route("/inbox/<int:notice_id>")
@login_required
def notice(notice_id):
    """Show one notice; opening it marks it read (as a mail reader does)."""
    item = _own_notice(notice_id)
    if item.is_unread:
        take_write_lock(db.session)  # this GET writes: SQLite's write lock, taken late
        services.mark_read(item)
        commit()
    return render_template("inbox/notice.html", notice=item)


@bp.route("/inbox/<int:notice_id>/read", methods=["POST"])
@login_required
def mark_read(notice_id):
    item = _own_notice(notice_id)
    if PostForm().validate_on_submit():
        services.mark_read(item)
        commit()
    return _back_to_inbox()


@bp.route("/inbox/read-all", methods=["POST"])
@login_required
def mark_all_read():
    if PostForm().validate_on_submit():
        count = services.mark_all_read(current_user.id)
        commit()
        flash(_("%(count)d notice(s) marked as read.", count=count), "success")
    return _back_to_inbox()


@bp.route("/account/notices", methods=["GET", "POST"])
@login_required
def preferences():
    groups = rules.visible_groups(current_user.role_names())
    chosen = services.preferences_of(current_user)
    form = PreferencesForm(data={
        "emailed": [group.key for group in groups if group.key not in chosen.email_off],
        "reminders": sorted(chosen.reminders)})
    form.emailed.choices = [(group.key, lazy_gettext(group.label)) for group in groups]
    if form.validate_on_submit():
        services.save_preferences(current_user, form.emailed.data, form.reminders.data)
        commit()
        flash(_("Your notice settings are saved."), "success")
        return redirect(url_for("inbox.preferences"))
    return render_template("inbox/preferences.html", form=form,
                           help={group.key: group.help for group in groups})
