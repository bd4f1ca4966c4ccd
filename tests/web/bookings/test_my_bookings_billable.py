from freezegun import freeze_time

from booking.core.db import utc


@freeze_time("2026-06-10 08:00:00")
def test_completed_booking_shows_its_billable_minutes(client, make, login):
    user = make.user()
    instrument = make.instrument()  # rounding 15 min, minimum 30 min
    booking = make.placed_booking(instrument, user, utc(2026, 6, 8, 1), minutes=60,
                                  state="completed")
    make.usage_session(instrument, user, utc(2026, 6, 8, 1, 5), minutes=38, booking=booking)
    login(user)
    page = client.get("/bookings/mine?when=past").get_data(as_text=True)
    assert "计费时长：45 分钟" in page  # 38 minutes used, rounded up to the 15-minute step
