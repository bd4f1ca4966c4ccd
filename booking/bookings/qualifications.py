"""Qualifications for self-operated use of an instrument, and the training requests that lead
to them. A qualification lapses after the instrument's number of days without use."""
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.bookings import notifications
from booking.bookings.models import TrainingRequest
from booking.core import audit
from booking.core.clock import now_utc
from booking.extensions import db
from booking.instruments.models import Instrument, Qualification


# --- who is qualified --------------------------------------------------------------------------
def is_qualified(instrument: Instrument, user: User) -> bool:
    return active_qualification(instrument, user, now_utc()) is not None


def active_qualification(instrument: Instrument, user: User, now: datetime
                         ) -> Qualification | None:
    qualification = db.session.scalar(select(Qualification).where(
        Qualification.instrument_id == instrument.id, Qualification.user_id == user.id,
        Qualification.revoked_at.is_(None)))
    lapse = instrument.qualification_lapse_days
    if qualification is None or lapse is None:
        return qualification
    last_used = qualification.last_used_at or qualification.granted_at
    return qualification if last_used + timedelta(days=lapse) >= now else None


def qualifications_of(instrument: Instrument) -> list[Qualification]:
    return list(db.session.scalars(select(Qualification).where(
        Qualification.instrument_id == instrument.id, Qualification.revoked_at.is_(None))
        .options(selectinload(Qualification.user)).order_by(Qualification.granted_at.desc())))


def note_qualification_used(instrument_id: int, user_id: int, at: datetime) -> None:
    """The qualification was used at `at`: its lapse counts from the latest use."""
    db.session.execute(update(Qualification).where(
        Qualification.instrument_id == instrument_id, Qualification.user_id == user_id,
        Qualification.revoked_at.is_(None),
        or_(Qualification.last_used_at.is_(None), Qualification.last_used_at < at))
        .values(last_used_at=at).execution_options(synchronize_session="fetch"))


# --- granting and withdrawing ------------------------------------------------------------------
def grant_qualification(instrument: Instrument, user: User, actor: User) -> Qualification:
    """Grant it, or renew it (the lapse counts again from now); the user is told when it
    starts to hold, not again for a renewal (or a form sent twice)."""
    already = active_qualification(instrument, user, now_utc()) is not None
    qualification = db.session.scalar(select(Qualification).where(
        Qualification.instrument_id == instrument.id, Qualification.user_id == user.id))
    if qualification is None:
        qualification = Qualification(instrument=instrument, user=user)
        db.session.add(qualification)
    qualification.granted_by_id = actor.id
    qualification.granted_at = now_utc()
    qualification.last_used_at = None
    qualification.revoked_at = None
    db.session.flush()
    for request in db.session.scalars(select(TrainingRequest).where(
            TrainingRequest.instrument_id == instrument.id, TrainingRequest.user_id == user.id,
            TrainingRequest.state == "open")):
        _close_training(request, actor, "granted")
    audit.record("qualification.granted", actor=actor, obj=qualification, user_id=user.id)
    if not already:
        notifications.notify_qualification_granted(user, instrument)
    return qualification


def revoke_qualification(qualification: Qualification, actor: User) -> None:
    if qualification.revoked_at is None:
        qualification.revoked_at = now_utc()
        audit.record("qualification.revoked", actor=actor, obj=qualification,
                     user_id=qualification.user_id)
        notifications.notify_qualification_revoked(qualification)


# --- training requests -------------------------------------------------------------------------
def open_training_request(instrument: Instrument, user: User) -> TrainingRequest | None:
    """The user's training request for the instrument the lab has not answered yet."""
    return db.session.scalar(select(TrainingRequest).where(
        TrainingRequest.instrument_id == instrument.id, TrainingRequest.user_id == user.id,
        TrainingRequest.state == "open"))


def request_training(instrument: Instrument, user: User, message: str) -> TrainingRequest:
    request = open_training_request(instrument, user)
    if request is None:
        request = TrainingRequest(instrument=instrument, user=user, message=message[:500])
        db.session.add(request)
        db.session.flush()
        audit.record("training.requested", actor=user, obj=request)
        notifications.notify_training_requested(request)
    return request


def decline_training(request: TrainingRequest, actor: User, reason: str) -> None:
    """`reason`: what the requester reads (and the audit trail keeps)."""
    _close_training(request, actor, "declined", reason=reason[:500])
    notifications.notify_training_declined(request, reason[:500])


def _close_training(request: TrainingRequest, actor: User, state: str, **data) -> None:
    request.state = state
    request.decided_by_id = actor.id
    request.decided_at = now_utc()
    audit.record(f"training.{state}", actor=actor, obj=request, **data)


def open_training_requests(manager: User) -> list[TrainingRequest]:
    """Open requests on instruments of the organisations the user manages, oldest first."""
    query = select(TrainingRequest).join(TrainingRequest.instrument).where(
        TrainingRequest.state == "open")
    if not manager.is_admin:
        query = query.where(Instrument.organisation_id.in_(manager.managed_organisation_ids()))
    return list(db.session.scalars(query.order_by(TrainingRequest.created_at)))
