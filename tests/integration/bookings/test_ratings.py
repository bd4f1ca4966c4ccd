"""Ratings of completed bookings: written by the bookings area, read by the rankings."""
from datetime import timedelta

import pytest

from booking.bookings import ratings
from booking.core.db import utc

IN_Q3 = utc(2026, 8, 3, 2)


def test_rating_once_per_completed_booking(make):
    user = make.user()
    instrument = make.instrument()
    done = make.placed_booking(instrument, user, IN_Q3, state="completed")
    pending = make.placed_booking(instrument, user, IN_Q3 + timedelta(days=1), state="pending")
    other = make.user()
    assert ratings.can_rate(done, user) and not ratings.can_rate(pending, user)
    assert not ratings.can_rate(done, other)
    rating = ratings.rate_booking(done, user, 4, "  清楚  ")
    assert rating.comment == "清楚" and rating.instrument_id == instrument.id
    with pytest.raises(ratings.RatingRefused):
        ratings.rate_booking(done, user, 5, "")
    assert ratings.completed_bookings_of(user) == [(done, rating)]
