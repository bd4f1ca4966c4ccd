"""A blackout over booked time: shown to the lab first, then the bookings it hits are cancelled
without charge and each booker is told why, with the next free times."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.bookings import blackouts
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.instruments import services as instrument_services
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM
from tests.web.matrix import audit_actions

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


@pytest.fixture
def lab(make):
    owner = make.organisation()
    return {"instrument": make.instrument(organisation=owner, requires_approval=True),
            "manager": make.user(role="lab_manager", organisation=owner)}


def _mail_to(user) -> list[str]:
    return db.session.scalars(select(OutboxMessage.body).where(
        OutboxMessage.recipient == user.email, OutboxMessage.subject.contains("unavailable")
    )).all()


def test_cancels_what_it_hits_without_charge_and_tells_each_booker(lab, make):
    instrument, manager = lab["instrument"], lab["manager"]
    first, second, later = make.user(locale="en"), make.user(locale="en"), make.user()
    approved = make.placed_booking(instrument, first, TUESDAY_24_NOV_10AM)  # 10:00-11:00
    pending = make.placed_booking(instrument, second, TUESDAY_24_NOV_10AM + HOUR,
                                  state="pending")  # 11:00-12:00
    untouched = make.placed_booking(instrument, later, TUESDAY_24_NOV_10AM + 3 * HOUR)
    start, end = TUESDAY_24_NOV_10AM, TUESDAY_24_NOV_10AM + 2 * HOUR  # 10:00-12:00
    assert blackouts.hit_by(instrument, start, end) == [approved, pending]
    blackout = instrument_services.add_blackout(instrument, start_at=start, end_at=end,
                                                reason="更换灯丝", actor=manager)
    db.session.flush()
    assert blackouts.cancel_for_blackout(instrument, blackout, manager) == [approved, pending]
    db.session.commit()
    for booking in (approved, pending):
        assert booking.state == "cancelled" and not booking.late_cancel
        assert booking.decision_reason == "更换灯丝"
        assert audit_actions(booking)[-1] == "booking.cancelled"
    assert untouched.state == "approved"
    [to_first] = _mail_to(first)
    assert "更换灯丝" in to_first and "Nothing is charged" in to_first
    # the next free hours from 10:00 on: 12:00-13:00 (after the blackout), then 13:00 is
    # taken by `untouched`, 14:00-15:00 is free
    assert "2026-11-24 12:00–13:00" in to_first and "2026-11-24 14:00–15:00" in to_first
    assert len(_mail_to(second)) == 1 and _mail_to(later) == []


def test_a_booker_hit_several_times_is_told_once(lab, make):
    instrument, manager, booker = lab["instrument"], lab["manager"], make.user(locale="en")
    for day in range(3):  # Tue, Wed, Thu 10:00-11:00, as a series would be
        make.placed_booking(instrument, booker, TUESDAY_24_NOV_10AM + timedelta(days=day))
    start, end = TUESDAY_24_NOV_10AM, TUESDAY_24_NOV_10AM + timedelta(days=3)
    blackout = instrument_services.add_blackout(instrument, start_at=start, end_at=end,
                                                reason="年度保养", actor=manager)
    db.session.flush()
    assert len(blackouts.cancel_for_blackout(instrument, blackout, manager)) == 3
    [mail] = _mail_to(booker)
    assert "Your 3 bookings of" in mail and "年度保养" in mail
    assert [line for line in mail.splitlines() if line.startswith("· ")] == [
        "· 2026-11-24 10:00–11:00", "· 2026-11-25 10:00–11:00", "· 2026-11-26 10:00–11:00"]


def test_a_booking_in_use_is_not_cancelled(lab, make):
    booking = make.placed_booking(lab["instrument"], make.user(), MONDAY_23_NOV_8AM,
                                  state="in_use")
    assert blackouts.hit_by(lab["instrument"], MONDAY_23_NOV_8AM, MONDAY_23_NOV_8AM + HOUR) == []
    assert booking.state == "in_use"


def test_weekly_hours_that_would_leave_bookings_outside_are_refused_and_named(client, login,
                                                                             lab, make):
    """Reported: clearing Thursday's hours left its approved booking standing outside them,
    no one told (special hours for one day were refused so already; weekly hours were not)."""
    instrument, manager = lab["instrument"], lab["manager"]
    booking = make.placed_booking(instrument, make.user(), TUESDAY_24_NOV_10AM)  # 10:00-11:00
    saturday = make.placed_booking(instrument, make.user(),  # outside the hours already
                                   TUESDAY_24_NOV_10AM + timedelta(days=4))
    db.session.commit()
    login(manager)
    url = f"/lab/instruments/{instrument.id}/hours"
    weekdays = {f"hours-day{d}": "08:00-18:00" for d in range(5)}
    refused = client.post(url, data={**weekdays, "hours-day1": ""})  # Tuesdays closed
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"1 个未来的预约在新的开放时间之外（#{booking.id} 2026-11-24 10:00–11:00）" in page
    assert f"#{saturday.id}" not in page
    assert len(instrument.opening_hours) == 5  # unchanged
    assert client.post(url, data={**weekdays, "hours-day1": "10:00-12:00"}).status_code == 302
    db.session.refresh(instrument)
    assert [(h.weekday, f"{h.opens:%H:%M}") for h in instrument.opening_hours][1] == (1, "10:00")


def test_maintenance_names_the_bookings_still_standing_and_their_pages_say_so(client, login,
                                                                             lab, make):
    """Reported: setting an instrument under maintenance said only "saved"; its approved
    bookings stood, and the booker's page said nothing."""
    from tests.web.instruments.test_lab_console import FORM

    instrument, manager = lab["instrument"], lab["manager"]
    booker = make.user()
    soon = make.placed_booking(instrument, booker, TUESDAY_24_NOV_10AM)
    later = make.placed_booking(instrument, make.user(),
                                TUESDAY_24_NOV_10AM + timedelta(days=21))  # past two weeks
    db.session.commit()
    login(manager)
    saved = client.post(f"/lab/instruments/{instrument.id}/edit",
                        data={**FORM, "status": "maintenance"}, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert instrument.status == "maintenance"
    assert f"未来两周仍有 1 个预约（#{soon.id} 2026-11-24 10:00–11:00）" in page
    assert f"#{later.id}" not in page
    assert 'id="under-maintenance"' in client.get(f"/bookings/{soon.id}").get_data(as_text=True)
    login(booker)
    mine = client.get(f"/bookings/{soon.id}").get_data(as_text=True)
    assert "实验室尚未取消此预约：请向实验室确认预约是否照常进行" in mine
