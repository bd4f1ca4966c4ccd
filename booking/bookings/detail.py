"""One booking on a page of its own: what was asked, what became of it, and what it costs,
from the estimate before use to the invoice lines after the month's close."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from booking.accounts.models import User
from booking.billing.lists import lines_of_booking
from booking.billing.models import InvoiceLine
from booking.billing.pricing import (
    NoRate,
    billable_minutes_of_bookings,
    late_cancellation_fee_fen,
    no_show_fee_fen,
    quote_booking,
)
from booking.billing.rules import Quote
from booking.bookings.models import Booking
from booking.bookings.notifications import local_range
from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.groups import services as groups
from booking.groups.models import PiApproval, Project
from booking.metering.models import UsageSession
from booking.metering.services import sessions_of_booking
from booking.orders.models import Order
from booking.orders.services import order_of_booking

#: states whose charge is still to come from use: the page shows an estimate
ESTIMATED_STATES = ("pending", "approved", "in_use")

STEP_LABELS = {
    "requested": _l("Requested"), "approved": _l("Approved by the lab"),
    "approved_automatically": _l("Confirmed (no approval needed)"),
    "rejected": _l("Rejected by the lab"), "cancelled": _l("Cancelled"),
    "cancelled_by_lab": _l("Cancelled by the lab"),
    "late_cancelled": _l("Cancelled after the free-cancellation deadline"),
    "pi_approved": _l("Approved by the PI"), "pi_rejected": _l("Declined by the PI"),
    "pi_expired": _l("The PI did not answer in time"),
    "moved": _l("Moved to another time"),
}


PI_DECISION_MOVES_WITHIN = timedelta(seconds=5)  # the PI's decision and the move it makes


@dataclass(frozen=True)
class Step:
    """One dated event of the booking's history."""
    at: datetime
    code: str
    who: User | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return str(STEP_LABELS[self.code])


@dataclass
class BookingPage:
    booking: Booking
    steps: list[Step]
    sessions: list[UsageSession]
    lines: list[InvoiceLine]  # what invoices charged for it
    estimate: Quote | None  # before use: the fee at today's rates
    no_rate: bool  # no price is set for the booker's customer class
    penalty_fen: int | None  # a no-show's or late cancellation's charge, not invoiced yet
    billable_minutes: int | None  # used, not invoiced yet
    awaiting_pi: bool
    project: Project | None
    order: Order | None  # the test order whose invoice pays for the booking's time


def booking_page(booking: Booking, timezone: str) -> BookingPage:
    """`timezone`: the reader's, in which the page gives its times (a move's too)."""
    sessions = sessions_of_booking(booking)
    lines = lines_of_booking(booking.id, [s.id for s in sessions])
    approval = groups.pi_approval_of(booking.id)
    order = order_of_booking(booking.id) if booking.billed_separately else None
    charged_here = not lines and not booking.billed_separately  # else the invoice or order
    estimate, no_rate = _estimate(booking) if charged_here and \
        booking.state in ESTIMATED_STATES else (None, False)
    return BookingPage(
        booking, history(booking, approval, moves_of(booking.id), timezone), sessions, lines,
        estimate, no_rate,
        _penalty(booking) if charged_here else None,
        billable_minutes_of_bookings([booking.id]).get(booking.id, 0)
        if charged_here and booking.state == "completed" else None,
        booking.state == "pending" and approval is not None and approval.state == "pending",
        groups.get_project(booking.project_id), order)


def history(booking: Booking, approval: PiApproval | None, moves=(),
            timezone: str | None = None) -> list[Step]:
    """The booking's dated steps, oldest first (its use is listed apart, session by session).
    `moves`: its booking.rescheduled audit events, which keep what each move reset (the time
    it was requested, the lab's approval), their times in `timezone` (the reader's; else the
    instrument's)."""
    requested_at = min([datetime.fromisoformat(m.data["requested_at"]) for m in moves
                        if "requested_at" in m.data] + [booking.created_at])
    steps = [Step(requested_at, "requested", booking.user)]
    for move in moves:
        steps += _move_steps(move, timezone or booking.instrument.timezone)
    pi_decided = approval is not None and approval.state not in ("pending", "withdrawn")
    if pi_decided:
        steps.append(Step(approval.decided_at, f"pi_{approval.state}", approval.pi,
                          approval.reason))
    # the PI's decision moves the booking too (rejected, or approved where the lab need not
    # approve) in the same moment: that move is the PI's step above, not the lab's. A PI who
    # is also the instrument's lab manager decides for the lab later, as a step of its own.
    by_pi = pi_decided and booking.decided_by_id == approval.pi_id and \
        booking.decided_at is not None and \
        abs(booking.decided_at - approval.decided_at) < PI_DECISION_MOVES_WITHIN
    if booking.decided_at is not None and not by_pi:
        if booking.state == "rejected":
            steps.append(Step(booking.decided_at, "rejected", booking.decided_by,
                              booking.decision_reason))
        elif booking.decided_by is None:
            steps.append(Step(booking.decided_at, "approved_automatically"))
        else:
            steps.append(Step(booking.decided_at, "approved", booking.decided_by))
    if booking.cancelled_at is not None:
        steps.append(Step(booking.cancelled_at, "late_cancelled" if booking.late_cancel
                          else "cancelled_by_lab" if _by_lab(booking) else "cancelled",
                          booking.cancelled_by, booking.decision_reason))
    return sorted(steps, key=lambda step: step.at)


def _move_steps(move: AuditEvent, timezone: str) -> list[Step]:
    """The approval a move took back (the lab approves the new time again), then the move."""
    data, steps = move.data, []
    if data.get("approved_at"):
        decider = db.session.get(User, data["approved_by"]) if data.get("approved_by") else None
        steps.append(Step(datetime.fromisoformat(data["approved_at"]),
                          "approved" if decider else "approved_automatically", decider))
    before, after = ([datetime.fromisoformat(data[key]) for key in keys]
                     for keys in (("before_start", "before_end"), ("start", "end")))
    steps.append(Step(move.created_at, "moved", db.session.get(User, move.actor_id)
                      if move.actor_id else None,
                      _("From %(before)s to %(after)s", before=local_range(*before, timezone),
                        after=local_range(*after, timezone))))
    return steps


def moves_of(booking_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "Booking", AuditEvent.object_id == booking_id,
        AuditEvent.action == "booking.rescheduled").order_by(AuditEvent.id)))


def _by_lab(booking: Booking) -> bool:
    """Cancelled by someone else than the booker. Bookings cancelled before the canceller was
    recorded tell by the reason, which only the lab gives (requests.cancel_booking)."""
    if booking.cancelled_by_id is not None:
        return booking.cancelled_by_id != booking.user_id
    return bool(booking.decision_reason)


def _estimate(booking: Booking) -> tuple[Quote | None, bool]:
    try:
        return quote_booking(booking.instrument, booking.user, booking.start_at,
                             booking.end_at, booking.mode, booking.sample_count), False
    except NoRate:
        return None, True


def _penalty(booking: Booking) -> int | None:
    if booking.state == "no_show":
        return no_show_fee_fen(booking)
    if booking.state == "cancelled" and booking.late_cancel:
        return late_cancellation_fee_fen(booking)
    return None
