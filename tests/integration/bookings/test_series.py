"""Recurring series against the real database: one transaction books the free occurrences
(each guarded by the no-overlap check), the lab decides a series as one, the booker cancels
one, this and following, or all, and the feeds carry every occurrence."""
from datetime import date, timedelta

import pytest
from freezegun import freeze_time
from icalendar import Calendar
from sqlalchemy import func, select

from booking.bookings import feeds, ical, requests, series
from booking.bookings.models import Booking, BookingSeries
from booking.bookings.recurrence import Repeat
from booking.core.audit import AuditEvent
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM

WEEKLY_4 = Repeat("weekly", count=4)  # Tue 24 Nov, 1, 8 and 15 Dec, 10:00-12:00


@pytest.fixture
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def lab(make, frozen):
    owner = make.organisation(name_zh="大连理工大学测试")
    manager = make.user(role="lab_manager", organisation=owner, locale="en")
    instrument = make.instrument(organisation=owner, requires_approval=True)
    student = make.user(role="student", organisation=owner, locale="en")
    return instrument, manager, student


def book_series(instrument, user, repeat=WEEKLY_4, start=TUESDAY_24_NOV_10AM, hours=2):
    result = series.create_series(instrument, user, start=start,
                                  end=start + timedelta(hours=hours), mode="self_operated",
                                  purpose="Weekly group XRD", samples=0, repeat=repeat)
    db.session.commit()
    return result


def mail_to(user):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user.email)
                              .order_by(OutboxMessage.id)).all()


def actions(obj):
    return [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id)
        .order_by(AuditEvent.id))]


def test_a_series_is_one_row_and_an_ordinary_booking_per_occurrence(lab):
    instrument, manager, student = lab
    result = book_series(instrument, student)
    assert [b.start_at for b in result.created] == [
        TUESDAY_24_NOV_10AM + timedelta(weeks=n) for n in range(4)]
    assert {(b.state, b.series_id, b.purpose) for b in result.created} == {
        ("pending", result.series.id, "Weekly group XRD")}
    assert result.refused == []
    stored = db.session.get(BookingSeries, result.series.id)
    assert (stored.freq, stored.every, stored.times, stored.timezone) == (
        "weekly", 1, 4, "Asia/Shanghai")
    assert [b.id for b in stored.bookings] == [b.id for b in result.created]
    assert actions(stored) == ["series.created"]
    assert actions(result.created[2]) == ["booking.requested"]
    told = mail_to(manager)
    assert len(told) == 1 and told[0].kind == "booking.pending"  # once, for the series
    assert "4 bookings" in told[0].body and "weekly" in told[0].body


def test_an_instrument_without_approval_confirms_the_series_at_once(make, frozen):
    instrument = make.instrument(requires_approval=False)
    user = make.user(locale="en")
    result = book_series(instrument, user, Repeat("weekly", 1, ("TU", "TH"), count=3))
    assert [(b.state, b.start_at.day) for b in result.created] == [
        ("approved", 24), ("approved", 26), ("approved", 1)]
    assert [m.subject for m in mail_to(user)] == ["Booking series confirmed"]


def test_a_clash_mid_series_refuses_that_occurrence_only(make, lab, frozen):
    instrument, _, student = lab
    other = make.user(organisation=instrument.organisation)
    held = make.booking(instrument, other, TUESDAY_24_NOV_10AM + timedelta(weeks=2, hours=1))
    frozen.tick(timedelta(hours=1))
    result = book_series(instrument, student)
    assert len(result.created) == 3
    [refused] = result.refused
    assert refused.start == TUESDAY_24_NOV_10AM + timedelta(weeks=2)
    assert [p.code for p in refused.problems] == ["booking_clash"]
    assert "pending approval" in refused.problems[0].message  # what holds it, not who
    assert db.session.get(Booking, held.id).state == "pending"


def test_a_slot_taken_after_the_check_is_refused_by_the_database(make, lab, monkeypatch):
    """Between the check and the insert another transaction takes a slot (on PostgreSQL
    nothing locks it): the one statement fails, and the occurrences go in one savepoint each,
    so only the taken one is refused and the series stands. (Run it on PostgreSQL too: there a
    failed statement aborts the whole transaction unless a savepoint holds it.)"""
    instrument, _, student = lab
    other = make.user(organisation=instrument.organisation)
    make.booking(instrument, other, TUESDAY_24_NOV_10AM + timedelta(weeks=1))
    monkeypatch.setattr(series, "_held", lambda *args: [])  # the check sees a free slot
    result = book_series(instrument, student)
    assert [b.start_at.day for b in result.created] == [24, 8, 15]
    assert [(o.start.day, [p.code for p in o.problems]) for o in result.refused] == [
        (1, ["booking_clash"])]
    assert db.session.scalar(select(func.count()).select_from(Booking).where(
        Booking.series_id == result.series.id)) == 3


def test_nothing_is_written_when_no_occurrence_is_free(make, lab):
    instrument, _, student = lab
    sunday = TUESDAY_24_NOV_10AM + timedelta(days=5)  # Sun 29 Nov: closed on Sundays
    with pytest.raises(series.NothingToBook) as refused:
        series.create_series(instrument, student, start=sunday, end=sunday + timedelta(hours=2),
                             mode="self_operated", purpose="x", samples=0,
                             repeat=Repeat("weekly", count=3))
    assert refused.value.code == "outside_opening_hours" and refused.value.http_status == 422
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BookingSeries)) == 0


def test_a_wrong_rule_is_refused_with_its_reason(lab):
    instrument, _, student = lab
    with pytest.raises(requests.BookingRefused) as refused:
        book_series(instrument, student, Repeat("weekly", count=60))
    assert refused.value.code == "repeat_too_long"


def test_the_lab_approves_the_series_as_one_and_the_booker_is_told_once(make, lab, frozen):
    instrument, manager, student = lab
    result = book_series(instrument, student)
    requests.approve_booking(result.created[0], manager)  # one decided singly first
    db.session.commit()
    frozen.tick(timedelta(minutes=5))
    decided = series.decide_series(result.series, manager, approve=True)
    db.session.commit()
    assert [b.id for b in decided] == [b.id for b in result.created[1:]]
    assert {(b.state, b.decided_by_id) for b in result.series.bookings} == {
        ("approved", manager.id)}
    assert [m.subject for m in mail_to(student)] == ["Booking confirmed",
                                                     "Booking series approved"]
    assert "3 bookings" in mail_to(student)[-1].body
    assert actions(result.series)[-1] == "series.approved"
    assert series.decide_series(result.series, manager, approve=True) == []  # nothing left


def test_rejecting_a_series_needs_a_reason_and_frees_every_slot(make, lab):
    instrument, manager, student = lab
    result = book_series(instrument, student)
    with pytest.raises(requests.ReasonRequired):
        series.decide_series(result.series, manager, approve=False, reason="  ")
    series.decide_series(result.series, manager, approve=False, reason="Group slot moved")
    db.session.commit()
    assert {(b.state, b.decision_reason) for b in result.series.bookings} == {
        ("rejected", "Group slot moved")}
    assert mail_to(student)[-1].subject == "Booking series declined"
    assert "Group slot moved" in mail_to(student)[-1].body
    assert book_series(instrument, make.user(organisation=instrument.organisation)).refused == []


def test_pending_series_are_listed_for_their_lab_only(make, lab):
    instrument, manager, student = lab
    result = book_series(instrument, student)
    [waiting] = series.pending_series(manager)
    assert (waiting.series.id, waiting.pending, waiting.first, waiting.last) == (
        result.series.id, 4, TUESDAY_24_NOV_10AM, TUESDAY_24_NOV_10AM + timedelta(weeks=3))
    stranger = make.user(role="lab_manager")
    assert series.pending_series(stranger) == []


def test_cancel_one_then_this_and_following_then_all(make, frozen):
    """Each occurrence follows the late-cancel rule on its own: only the one starting within
    the 24-hour deadline is late."""
    instrument = make.instrument(requires_approval=False)
    user = make.user()
    result = book_series(instrument, user, Repeat("weekly", count=6))
    first, second, third, *_ = result.created
    requests.cancel_booking(second, user)  # one occurrence, as any booking
    cancelled = series.cancel_series(result.series, user, since=result.created[3])
    assert [b.start_at.day for b in cancelled] == [15, 22, 29]  # 8 Dec, 15, 22 and 29 Dec
    assert not any(b.late_cancel for b in cancelled)
    frozen.tick(timedelta(hours=4))  # Mon 12:00: the first starts in 22 hours
    rest = series.cancel_series(result.series, user)
    db.session.commit()
    assert [b.id for b in rest] == [first.id, third.id]
    assert [b.late_cancel for b in rest] == [True, False]  # within 24 hours: late
    assert {b.state for b in result.series.bookings} == {"cancelled"}
    assert actions(result.series) == ["series.created", "series.cancelled", "series.cancelled"]
    assert series.cancel_series(result.series, user) == []


def test_cancelling_all_leaves_what_has_begun(make, frozen):
    instrument = make.instrument(requires_approval=False)
    user = make.user()
    result = book_series(instrument, user, Repeat("weekly", count=3))
    frozen.move_to(TUESDAY_24_NOV_10AM + timedelta(minutes=30))  # the first is running
    cancelled = series.cancel_series(result.series, user)
    assert [b.id for b in cancelled] == [b.id for b in result.created[1:]]
    assert result.created[0].state == "approved"


def test_the_feeds_carry_every_occurrence_with_its_own_state(make, frozen):
    instrument = make.instrument(requires_approval=False)
    user = make.user()
    result = book_series(instrument, user, Repeat("daily", until=date(2026, 11, 26)))
    requests.cancel_booking(result.created[1], user)
    db.session.commit()
    private = Calendar.from_ical(ical.private_feed("mine", feeds.feed_bookings(user), str,
                                                   "zh_CN"))
    status = {str(e["uid"]): str(e["status"]) for e in private.walk("VEVENT")}
    assert status == {ical.booking_uid(b): "CANCELLED" if b.state == "cancelled" else "CONFIRMED"
                      for b in result.created}
    assert len(status) == 3  # Tue 24, Wed 25, Thu 26 Nov
    public = Calendar.from_ical(ical.public_feed("x", feeds.public_feed_bookings(instrument),
                                                 "Booked"))
    assert [e.decoded("dtstart") for e in public.walk("VEVENT")] == [
        result.created[0].start_at, result.created[2].start_at]


def test_undecided_occurrences_expire_with_one_notice(make, lab, frozen):
    instrument, _, student = lab
    result = book_series(instrument, student)
    single = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=3))
    frozen.tick(timedelta(hours=49))  # past the 48-hour approval timeout
    assert requests.expire_pending() == 5
    db.session.commit()
    assert {b.state for b in result.series.bookings} == {"expired"}
    assert single.state == "expired"
    subjects = [m.subject for m in mail_to(student)]
    assert subjects.count("Booking series requests expired") == 1
    assert subjects.count("Booking request expired") == 1  # the single booking


def test_when_every_free_slot_was_taken_meanwhile_nothing_stays(make, lab, monkeypatch):
    instrument, _, student = lab
    other = make.user(organisation=instrument.organisation)
    for week in range(2):
        make.booking(instrument, other, TUESDAY_24_NOV_10AM + timedelta(weeks=week))
    monkeypatch.setattr(series, "_held", lambda *args: [])
    with pytest.raises(series.NothingToBook) as refused:
        book_series(instrument, student, Repeat("weekly", count=2))
    assert refused.value.http_status == 409
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BookingSeries)) == 0
