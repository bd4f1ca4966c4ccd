"""Append-only audit log of security-relevant and state-changing actions."""
from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.core.clock import now_utc
from booking.core.db import UTCDateTime, bulk_insert
from booking.core.writes import insert_rows
from booking.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[int | None]
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


def record(action: str, *, actor=None, obj=None, **data) -> None:
    """Write an audit event in the current transaction (committed or rolled back with it).
    A plain INSERT, no ORM object: every state change writes one, on the hottest paths too."""
    insert_rows(db.session, AuditEvent.__table__, [_row(action, actor, obj, data)])


def record_each(action: str, objects, *, actor=None, data_of=lambda obj: {}) -> None:
    """One event per object, written by one executemany INSERT (a series' occurrences):
    `data_of(obj)` gives each event's data."""
    insert_rows(db.session, AuditEvent.__table__,
                [_row(action, actor, obj, data_of(obj)) for obj in objects])


def record_bulk(action: str, object_type: str, events) -> None:
    """Many events of one kind at once, from plain data: (object id, actor id, data) each
    (a bulk settlement). Written with core.db.bulk_insert (COPY on PostgreSQL)."""
    created = now_utc()
    bulk_insert(db.session, AuditEvent.__table__, (
        {"created_at": created, "actor_id": actor_id, "action": action,
         "object_type": object_type, "object_id": object_id, "data": data, "ip": None}
        for object_id, actor_id, data in events))


def _row(action: str, actor, obj, data: dict) -> dict:
    return {
        "created_at": now_utc(),
        "actor_id": getattr(actor, "id", None),
        "action": action,
        "object_type": type(obj).__name__ if obj is not None else None,
        "object_id": getattr(obj, "id", None),
        "data": data,
        "ip": request.remote_addr if has_request_context() else None,
    }

