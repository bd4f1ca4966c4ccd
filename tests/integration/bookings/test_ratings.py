"""Ratings of completed bookings: written by the bookings area, read by the rankings."""
from datetime import timedelta

import pytest

from booking.bookings import ratings
from tests.moments import MONDAY_3_AUG_10AM


def test_rating_once_per_completed_booking(make):
    user = make.user()
    instrument = make.instrument()
    done = make.placed_booking(instrument, user, MONDAY_3_AUG_10AM, state="completed")
    pending = make.placed_booking(instrument, user, MONDAY_3_AUG_10AM + timedelta(days=1), state="pending")
    other = make.user()
    assert done.can_rate(user) and not pending.can_rate(user)
    assert not done.can_rate(other)
    rating = ratings.rate_booking(done, user, 4, "  清楚  ")
    assert rating.comment == "清楚" and rating.instrument_id == instrument.id
    with pytest.raises(ratings.RatingRefused):
        ratings.rate_booking(done, user, 5, "")
    assert ratings.completed_bookings_of(user) == [(done, rating)]
