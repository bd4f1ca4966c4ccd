"""Ratings of completed bookings by their bookers (1-5 stars and a comment, once each). The
bookings area writes them; the rankings area only reads them as an indicator."""
from sqlalchemy import select

from booking.accounts.models import User
from booking.bookings.models import Booking, Rating
from booking.core import audit
from booking.core.problems import Problem, Refused, _l
from booking.extensions import db


class RatingRefused(Refused):
    """A booking is rated once (Booking.can_rate says who may, and when)."""

    conflicts = frozenset({"already_rated"})

    def __init__(self):
        super().__init__(Problem("already_rated", _l("This booking has already been rated.")))


def rating_of(booking: Booking) -> Rating | None:
    return db.session.scalar(select(Rating).where(Rating.booking_id == booking.id))


def rate_booking(booking: Booking, user: User, stars: int, comment: str) -> Rating:
    if rating_of(booking) is not None:
        raise RatingRefused()
    rating = Rating(booking_id=booking.id, instrument_id=booking.instrument_id,
                    user_id=user.id, stars=stars, comment=comment.strip())
    db.session.add(rating)
    db.session.flush()
    audit.record("booking.rated", actor=user, obj=rating, booking_id=booking.id, stars=stars)
    return rating


def completed_bookings_of(user: User) -> list[tuple[Booking, Rating | None]]:
    return list(db.session.execute(
        select(Booking, Rating).outerjoin(Rating, Rating.booking_id == Booking.id)
        .where(Booking.user_id == user.id, Booking.state == "completed")
        .order_by(Booking.start_at.desc()).limit(200)))
