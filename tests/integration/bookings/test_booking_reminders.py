"""Reminders before a booking starts: due per the booker's choice, once per booking and
horizon, in the booker's language and timezone, kept in the inbox even with e-mail off."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.bookings.models import BookingReminder
from booking.bookings.reminders import send_booking_reminders
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.inbox import services as inbox
from booking.inbox.models import InboxNotice
from tests.moments import TUESDAY_24_NOV_10AM as START

HOUR = timedelta(hours=1)


@pytest.fixture
def booked(make):
    """An approved booking at START, made three days before by an English speaker in Berlin."""
    instrument = make.instrument(name_en="Field-emission SEM", location="化学楼 101",
                                 location_en="Chemistry 101")  # the reader's language
    booker = make.user(locale="en", timezone="Europe/Berlin")
    with freeze_time(START - 72 * HOUR):
        booking = make.placed_booking(instrument, booker, START)
    return booking


def run_at(moment) -> int:
    with freeze_time(moment):
        count = send_booking_reminders()
    db.session.commit()
    return count


def reminders_to(user) -> list[InboxNotice]:
    return list(db.session.scalars(select(InboxNotice).where(
        InboxNotice.user_id == user.id, InboxNotice.kind == "booking.reminder")))


def mails(user) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == user.email, OutboxMessage.kind == "booking.reminder")))


def test_a_day_ahead_once_in_the_bookers_language_and_timezone(booked):
    assert run_at(START - 25 * HOUR) == 0
    assert run_at(START - 24 * HOUR + timedelta(minutes=5)) == 1
    assert run_at(START - 23 * HOUR) == 0  # never twice
    assert run_at(START - HOUR / 2) == 0  # the 1-hour reminder is not wanted by default
    [mail] = mails(booked.user)
    # 02:00 UTC is 03:00 in Berlin in November
    assert "starts on 2026-11-24 03:00–04:00 (Europe/Berlin)" in mail.body
    assert "Field-emission SEM" in mail.subject and "Chemistry 101" in mail.body
    assert "http://localhost/bookings/mine" in mail.body  # built on PUBLIC_BASE_URL
    [notice] = reminders_to(booked.user)
    assert (notice.subject, notice.link) == (mail.subject, f"/bookings/{booked.id}")


def test_an_hour_ahead_as_well_when_chosen(booked):
    inbox.save_preferences(booked.user, emailed=["reminders"], reminders=["24h", "1h"])
    assert run_at(START - 20 * HOUR) == 1
    assert run_at(START - HOUR - timedelta(minutes=1)) == 0
    assert run_at(START - HOUR + timedelta(minutes=2)) == 1
    assert run_at(START - HOUR / 2) == 0
    assert run_at(START + HOUR / 2) == 0
    horizons = db.session.scalars(select(BookingReminder.horizon).where(
        BookingReminder.booking_id == booked.id).order_by(BookingReminder.id)).all()
    assert horizons == ["24h", "1h"] and len(mails(booked.user)) == 2


def test_no_reminders_chosen_none_sent(booked):
    inbox.save_preferences(booked.user, emailed=["reminders"], reminders=[])
    assert run_at(START - 20 * HOUR) == 0 and run_at(START - HOUR / 2) == 0


def test_e_mail_off_keeps_the_reminder_in_the_inbox(booked):
    inbox.save_preferences(booked.user, emailed=["decisions"], reminders=["24h"])
    assert run_at(START - 20 * HOUR) == 1
    assert len(reminders_to(booked.user)) == 1 and mails(booked.user) == []


@pytest.mark.parametrize("state", ["pending", "cancelled", "rejected"])
def test_only_approved_bookings_are_reminded_of(make, state):
    booker = make.user()
    with freeze_time(START - 72 * HOUR):
        make.placed_booking(make.instrument(), booker, START, state=state)
    assert run_at(START - 20 * HOUR) == 0


def test_inactive_users_are_not_reminded(booked):
    booked.user.active = False
    db.session.commit()
    assert run_at(START - 20 * HOUR) == 0


def test_a_booking_made_within_a_day_gets_no_day_ahead_reminder(make):
    booker = make.user()
    with freeze_time(START - 5 * HOUR):
        make.placed_booking(make.instrument(), booker, START)
    assert run_at(START - 4 * HOUR) == 0


def test_a_moved_booking_is_reminded_of_again(booked):
    assert run_at(START - 20 * HOUR) == 1
    booked.start_at, booked.end_at = START + 48 * HOUR, START + 49 * HOUR
    db.session.commit()
    assert run_at(START - 19 * HOUR) == 0  # the new start is two days away
    assert run_at(START + 48 * HOUR - 20 * HOUR) == 1
    assert "2026-11-26 03:00" in mails(booked.user)[-1].body


def test_the_database_refuses_a_second_record_of_the_same_reminder(booked):
    """Two runs racing: the second insert fails and its transaction rolls back, e-mail too."""
    assert run_at(START - 20 * HOUR) == 1
    savepoint = db.session.begin_nested()
    db.session.add(BookingReminder(booking_id=booked.id, horizon="24h", start_at=START))
    with pytest.raises(IntegrityError):
        db.session.flush()
    savepoint.rollback()


def test_notify_reminders_command(app, booked):
    with freeze_time(START - 20 * HOUR):
        result = app.test_cli_runner().invoke(args=["notify", "reminders"])
    assert result.exit_code == 0, result.output
    assert "queued 1 reminder(s) of bookings starting soon" in result.output
    assert len(mails(booked.user)) == 1
    with freeze_time(START - 19 * HOUR):
        again = app.test_cli_runner().invoke(args=["notify", "reminders"])
    assert "queued 0 reminder(s) of bookings" in again.output
