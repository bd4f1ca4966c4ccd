"""Bookings (requested through the service, or written directly in a state) and ratings."""
from datetime import timedelta

from booking.extensions import db


def create_booking(instrument, user, start, minutes=60, mode="self_operated",
                   purpose="XRD of catalyst samples", samples=None):
    """A booking requested through the real service (every rule applies). `samples`:
    by default 1 for a staff-operated booking, 0 for a self-operated one."""
    from booking.bookings.requests import create_booking as request_booking

    if samples is None:
        samples = 1 if mode == "staff_operated" else 0
    booking = request_booking(instrument, user, start=start,
                              end=start + timedelta(minutes=minutes), mode=mode,
                              purpose=purpose, samples=samples)
    db.session.commit()
    return booking


def create_placed_booking(instrument, user, start, minutes=60, state="approved", **fields):
    """A booking written directly in `state` (no booking rules), for metering/billing."""
    from booking.bookings.models import Booking

    booking = Booking(instrument=instrument, user=user, organisation_id=user.organisation_id,
                      start_at=start, end_at=start + timedelta(minutes=minutes), state=state,
                      **fields)
    db.session.add(booking)
    db.session.commit()
    return booking


def create_rating(booking, stars=5, comment="", **fields):
    from booking.bookings.models import Rating

    rating = Rating(booking_id=booking.id, instrument_id=booking.instrument_id,
                    user_id=booking.user_id, stars=stars, comment=comment, **fields)
    db.session.add(rating)
    db.session.commit()
    return rating
