"""Notices kept in a user's inbox. (A user's preferences are a column of users, read with
the user: see accounts.models.User.notice_preferences and inbox.rules.Preferences.)"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from booking.core.clock import now_utc
from booking.core.db import UTCDateTime
from booking.core.notifications import SUBJECT_LENGTH
from booking.extensions import db


class InboxNotice(db.Model):
    __tablename__ = "inbox_notices"
    __table_args__ = (
        Index("ix_inbox_notices_user_id", "user_id", "id"),  # a user's page, newest first
        # the badge on every page counts these: the few unread among all ever received
        Index("ix_inbox_notices_unread", "user_id", sqlite_where=text("read_at IS NULL"),
              postgresql_where=text("read_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(SUBJECT_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300), default="")  # a path on this site, or ""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    def is_for(self, user) -> bool:
        return user.is_authenticated and user.id == self.user_id
