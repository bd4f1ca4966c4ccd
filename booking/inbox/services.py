"""Keeping notices, reading them, and a user's notice preferences. Flush, never commit."""
from datetime import datetime

from sqlalchemy import Select, func, select, update

from booking.core import audit
from booking.core.clock import now_utc
from booking.core.notifications import Notice
from booking.core.writes import insert_rows
from booking.extensions import db
from booking.inbox import rules
from booking.inbox.models import InboxNotice

_NOTICES = InboxNotice.__table__


def preferences_of(user) -> rules.Preferences:
    return rules.Preferences.from_stored(user.notice_preferences)


def keep_notices(notices: list[Notice], **_extra) -> None:
    """Receiver of core's `notices_composed`: keep a copy of each notice in its user's inbox
    (one INSERT for the list) and hold back the e-mails the user turned off. Plain rows, no
    ORM objects: a month close keeps thousands."""
    now = now_utc()
    rows = []
    for notice in notices:
        if notice.kind in rules.SECRET_KINDS:
            continue
        notice.email = notice.email and preferences_of(notice.user).emails(notice.kind)
        rows.append({"user_id": notice.user.id, "kind": notice.kind,
                     "subject": notice.subject, "body": notice.body,
                     "link": notice.link or "", "created_at": now})
    insert_rows(db.session, _NOTICES, rows)


# --- reading -----------------------------------------------------------------------------------
def unread_count(user_id: int) -> int:
    """One COUNT on the partial index of unread notices (the badge on every page)."""
    return db.session.scalar(select(func.count()).select_from(_NOTICES).where(
        _NOTICES.c.user_id == user_id, _NOTICES.c.read_at.is_(None)))


def notices_of(user_id: int, unread_only: bool = False) -> Select:
    """A user's notices, newest first (for paging)."""
    query = select(InboxNotice).where(InboxNotice.user_id == user_id)
    if unread_only:
        query = query.where(InboxNotice.read_at.is_(None))
    return query.order_by(InboxNotice.id.desc())


def notice_for(user, notice_id: int) -> InboxNotice | None:
    """The user's own notice; another user's is None, as if it did not exist."""
    notice = db.session.get(InboxNotice, notice_id)
    return notice if notice is not None and notice.is_for(user) else None


def received_since(user_id: int, kind: str, since: datetime) -> bool:
    """Whether the user was sent a notice of this kind since `since` (e-mailed or not)."""
    return db.session.scalar(select(InboxNotice.id).where(
        InboxNotice.user_id == user_id, InboxNotice.kind == kind,
        InboxNotice.created_at >= since).limit(1)) is not None


def mark_read(notice: InboxNotice) -> None:
    if notice.read_at is None:
        notice.read_at = now_utc()
        db.session.flush()


def mark_all_read(user_id: int) -> int:
    """Mark every unread notice of the user read; returns how many."""
    return db.session.execute(update(InboxNotice).where(
        InboxNotice.user_id == user_id, InboxNotice.read_at.is_(None)).values(
        read_at=now_utc()).execution_options(synchronize_session=False)).rowcount


# --- preferences -------------------------------------------------------------------------------
def save_preferences(user, emailed: list[str], reminders: list[str]) -> rules.Preferences:
    """Store what the preferences form chose: e-mail for the `emailed` groups among those the
    user was shown, and the `reminders` horizons. Audited."""
    shown = [group.key for group in rules.visible_groups(user.role_names())]
    before = preferences_of(user)
    after = before.choose(shown, emailed, reminders)
    if after != before:
        user.notice_preferences = after.stored()  # a new dict: the JSON column sees a change
        audit.record("notices.preferences", actor=user, obj=user, before=before.stored(),
                     after=after.stored())
        db.session.flush()
    return after
