"""Wait lists in the browser's forms: joining from the booking form, the offer on My wait
list, taking or leaving it, and nobody acting on another's entry."""
import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.bookings.models import Booking, WaitlistEntry
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM

FORM = {"start": "2026-11-24T10:00", "end": "2026-11-24T11:00", "mode": "self_operated",
        "purpose": "XRD"}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


def test_join_from_the_booking_form_then_take_the_offer(client, login, make):
    instrument = make.instrument(requires_approval=False)
    holder, me = make.user(), make.user()
    held = make.placed_booking(instrument, holder, TUESDAY_24_NOV_10AM)
    login(me)
    response = client.post(f"/instruments/{instrument.id}/waitlist", data=FORM)
    assert response.status_code == 302 and response.headers["Location"].endswith("/waitlist")
    entry = db.session.scalar(select(WaitlistEntry))
    assert (entry.user_id, entry.state) == (me.id, "waiting")
    assert f'id="entry-{entry.id}"' in client.get("/waitlist").get_data(as_text=True)
    client.post("/logout")
    login(holder)
    client.post(f"/bookings/{held.id}/cancel", data={})
    client.post("/logout")
    login(me)
    page = client.get("/waitlist").get_data(as_text=True)
    assert 'class="text-success small offer"' in page
    taken = client.post(f"/waitlist/{entry.id}/accept", data={})
    assert taken.status_code == 302
    assert db.session.scalar(select(Booking.user_id).where(Booking.state == "approved")) == me.id


def test_a_free_time_is_booked_not_waited_for(client, login, make):
    instrument = make.instrument()
    login(make.user())
    response = client.post(f"/instruments/{instrument.id}/waitlist", data=FORM,
                           follow_redirects=True)
    assert response.status_code == 200 and db.session.scalar(select(WaitlistEntry)) is None


def test_nobody_acts_on_anothers_entry(client, login, make):
    instrument = make.instrument()
    make.placed_booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
    owner = make.user()
    login(owner)
    client.post(f"/instruments/{instrument.id}/waitlist", data=FORM)
    entry = db.session.scalar(select(WaitlistEntry))
    client.post("/logout")
    login(make.user())
    for action in ("accept", "leave"):
        assert client.post(f"/waitlist/{entry.id}/{action}", data={}).status_code == 404
    assert f"entry-{entry.id}" not in client.get("/waitlist").get_data(as_text=True)
    db.session.refresh(entry)
    assert entry.state == "waiting"


def test_a_reader_abroad_sees_the_time_at_the_instrument_too(client, login, make):
    """Reported: a postdoc whose profile says Europe/Berlin read 03:00–04:00 for a wait on
    10:00 in Dalian, with nothing saying which clock; the order page likewise."""
    instrument = make.instrument(requires_approval=False)
    make.placed_booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
    me = make.user(timezone="Europe/Berlin")
    login(me)
    client.post(f"/instruments/{instrument.id}/waitlist", data=FORM)
    page = client.get("/waitlist").get_data(as_text=True)
    assert "2026-11-24 03:00 – 04:00" in page
    assert "仪器当地时间：2026-11-24 10:00–11:00（Asia/Shanghai）" in page
    me.timezone = "Asia/Shanghai"
    db.session.commit()
    assert "at-instrument" not in client.get("/waitlist").get_data(as_text=True)
