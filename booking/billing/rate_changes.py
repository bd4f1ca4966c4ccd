"""Bookings still to come whose estimate a new (or withdrawn) rate changes: their bookers are
told the new estimates, as the lab's confirmation told them the old ones. A booking is priced at
the rate in force when it starts, and what a project account holds for it (and the request its
PI has yet to decide) follows the new estimate (the charge at use is what counts in the end)."""
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.billing import rules
from booking.billing.pricing import customer_class_for, rate_card
from booking.bookings.models import Booking
from booking.bookings.notifications import notify_estimates_changed
from booking.bookings.requests import hold_at_current_fee
from booking.core.clock import now_utc
from booking.extensions import db
from booking.instruments.models import Instrument, Rate

ESTIMATED_STATES = ("pending", "approved")


def answer_rates_changed(instrument: Instrument, *, customer_class: str, since: datetime,
                         before: list[Rate]) -> int:
    """Receiver of instruments' `rates_changed`: tell each booker of the class whose bookings
    from `since` on are estimated differently now, once for all of them; returns how many
    bookers were told."""
    old_cards = [rate_card(r) for r in before]
    new_cards = [rate_card(r) for r in instrument.rates]
    changed: dict[int, list[tuple[Booking, int | None, int]]] = defaultdict(list)
    for booking in _to_come(instrument, since):
        if customer_class_for(instrument, booking.user) != customer_class:
            continue
        old, new = (_estimate(cards, customer_class, booking) for cards in (old_cards, new_cards))
        if old != new and new is not None:
            changed[booking.user_id].append((booking, old, new))
            if booking.project_id is not None:
                hold_at_current_fee(booking)  # the lab's change does not undo the booking
    for estimates in changed.values():
        notify_estimates_changed(estimates)
    return len(changed)


def _to_come(instrument: Instrument, since: datetime) -> list[Booking]:
    """The bookings from `since` on priced by the rate card (time the lab runs for a test
    order is priced on the order)."""
    return list(db.session.scalars(select(Booking).where(
        Booking.instrument_id == instrument.id, Booking.state.in_(ESTIMATED_STATES),
        Booking.billed_separately.is_(False),
        Booking.start_at >= max(since, now_utc())).order_by(Booking.start_at).options(
        selectinload(Booking.user).selectinload(User.organisation))))


def _estimate(cards, customer_class: str, booking: Booking) -> int | None:
    """The booked time's fee by these rate cards (the samples' fee does not change with
    them); None without a rate."""
    card = rules.rate_at(cards, customer_class, booking.start_at)
    if card is None:
        return None
    minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
    return rules.usage_fee_fen(minutes, card)
