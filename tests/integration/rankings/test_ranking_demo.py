"""The demo seed: ratings for completed bookings (the bookings area's), a published and a
pending quarter."""
from datetime import date

from freezegun import freeze_time

from booking.bookings import demo as bookings_demo
from booking.bookings.models import Rating
from booking.core.db import utc
from booking.extensions import db
from booking.rankings import demo, services


@freeze_time("2026-11-23 05:00:00")
def test_seed_rates_bookings_and_ranks_two_quarters(make):
    uni = make.organisation()
    instrument = make.instrument(organisation=uni, purchase_date=date(2020, 1, 1))
    user = make.user()
    for day in range(1, 21):
        make.placed_booking(instrument, user, utc(2026, 8, day, 1), state="completed")
    bookings_demo.seed("small")  # the instrument has bookings: only ratings are added
    demo.seed("small")
    rated = db.session.query(Rating).count()
    assert 0 < rated < 20
    q2, q3 = services.get_snapshot("2026Q2"), services.get_snapshot("2026Q3")
    assert q2.is_published and not q3.is_published
    assert q3.reward_pool_fen == demo.DEMO_POOL_FEN
    bookings_demo.seed("small")  # idempotent
    demo.seed("small")
    assert db.session.query(Rating).count() == rated
    assert services.get_snapshot("2026Q3").id == q3.id
