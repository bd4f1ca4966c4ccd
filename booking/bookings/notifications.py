"""What bookers and labs are told about bookings, qualifications and training. Each message is
composed inside its recipient's locale (not the acting user's) and queued in the same
transaction: sent after the commit, never if it rolls back."""
from flask_babel import gettext as _
from sqlalchemy import select

from booking.accounts.models import Role, User
from booking.bookings.models import Booking, TrainingRequest
from booking.core.clock import to_local
from booking.core.notifications import notify
from booking.extensions import db
from booking.instruments.models import Instrument, Qualification


def lab_managers(organisation_id: int) -> list[User]:
    """The active lab managers of an organisation: who hears of its requests."""
    return list(db.session.scalars(select(User).join(Role).where(
        Role.organisation_id == organisation_id, Role.name == "lab_manager",
        User.active.is_(True))))


def _about(booking: Booking, user: User) -> dict:
    """The booking as `user` reads it: instrument name, local time and zone, reason."""
    start = to_local(booking.start_at, user.timezone)
    end = to_local(booking.end_at, user.timezone)
    return {"instrument": booking.instrument.display_name(user.locale),
            "when": f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({user.timezone})",
            "reason": booking.decision_reason}


# --- to the booker ------------------------------------------------------------------------------
def notify_booking_approved(booking: Booking) -> None:
    booker = booking.user
    notify(booker, "booking.approved", lambda: (
        _("Booking confirmed"),
        _("Your booking of %(instrument)s on %(when)s is confirmed.", **_about(booking, booker))))


def notify_booking_rejected(booking: Booking) -> None:
    booker = booking.user
    notify(booker, "booking.rejected", lambda: (
        _("Booking request declined"),
        _("Your request for %(instrument)s on %(when)s was declined: %(reason)s",
          **_about(booking, booker))))


def notify_booking_cancelled(booking: Booking) -> None:
    """The lab cancelled the booking (a booker cancelling their own is not told)."""
    booker = booking.user
    notify(booker, "booking.cancelled", lambda: (
        _("Booking cancelled"),
        _("Your booking of %(instrument)s on %(when)s was cancelled by the lab. %(reason)s",
          **_about(booking, booker))))


def notify_cancelled_by_blackout(booking: Booking, free_times) -> None:
    """The lab closed the instrument over the booking: why, that nothing is charged, and the
    next free times of the same length."""
    booker = booking.user

    def compose():
        times = "; ".join(_local_range(start, end, booker.timezone) for start, end in free_times)
        return (_("Booking cancelled: instrument unavailable"),
                _("Your booking of %(instrument)s on %(when)s was cancelled because the "
                  "instrument is unavailable: %(reason)s. Nothing is charged.",
                  **_about(booking, booker))
                + "\n\n" + (_("Free times you could book instead: %(times)s.", times=times)
                             if times else _("There is no free time in the next two weeks.")))

    notify(booker, "booking.cancelled", compose)


def _local_range(start, end, timezone: str) -> str:
    return f"{to_local(start, timezone):%Y-%m-%d %H:%M}–{to_local(end, timezone):%H:%M}"


def notify_booking_expired(booking: Booking) -> None:
    booker = booking.user
    notify(booker, "booking.expired", lambda: (
        _("Booking request expired"),
        _("Your request for %(instrument)s on %(when)s was not decided in time and has "
          "expired.", **_about(booking, booker))))


# --- to the lab ---------------------------------------------------------------------------------
def notify_booking_requested(booking: Booking) -> None:
    """A request waits for approval: every manager of the instrument's organisation."""
    for manager in lab_managers(booking.instrument.organisation_id):
        notify(manager, "booking.pending", lambda manager=manager: (
            _("New booking request"),
            _("%(requester)s asked for %(instrument)s on %(when)s.",
              requester=booking.user.name, **_about(booking, manager))))


def notify_training_requested(request: TrainingRequest) -> None:
    instrument, requester = request.instrument, request.user
    for manager in lab_managers(instrument.organisation_id):
        notify(manager, "training.requested", lambda manager=manager: (
            _("Training requested"),
            _("%(requester)s asks to be trained on %(instrument)s.",
              instrument=instrument.display_name(manager.locale), requester=requester.name)))


# --- qualifications and training -----------------------------------------------------------------
def notify_qualification_granted(user: User, instrument: Instrument) -> None:
    notify(user, "qualification.granted", lambda: (
        _("Qualification granted"),
        _("You may now operate %(instrument)s yourself.",
          instrument=instrument.display_name(user.locale))))


def notify_qualification_revoked(qualification: Qualification) -> None:
    user, instrument = qualification.user, qualification.instrument
    notify(user, "qualification.revoked", lambda: (
        _("Qualification withdrawn"),
        _("Your qualification for %(instrument)s was withdrawn.",
          instrument=instrument.display_name(user.locale))))


def notify_training_declined(request: TrainingRequest) -> None:
    user = request.user
    notify(user, "training.declined", lambda: (
        _("Training request declined"),
        _("Your training request for %(instrument)s was declined.",
          instrument=request.instrument.display_name(user.locale))))
