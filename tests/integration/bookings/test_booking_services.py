"""Booking workflows against the real database: rules, the no-overlap guard, transitions,
audit records and outbox messages."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError

from booking.bookings import calendar, qualifications, requests, rules
from booking.bookings.models import Booking, TrainingRequest
from booking.core.audit import AuditEvent
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM
from tests.sql import statements


@pytest.fixture
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def lab(make, frozen):
    owner = make.organisation(name_zh="大连理工大学测试")
    manager = make.user(role="lab_manager", organisation=owner, locale="en")
    instrument = make.instrument(organisation=owner, requires_approval=True)
    student = make.user(role="student", organisation=owner)
    return instrument, manager, student


def actions(obj):
    return [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id)
        .order_by(AuditEvent.id))]


def mail_to(user):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user.email)
                              .order_by(OutboxMessage.id)).all()


def test_request_is_pending_and_the_managers_are_told(make, lab):
    instrument, manager, student = lab
    booking = make.booking(instrument, student, TUESDAY_24_NOV_10AM)
    assert booking.state == "pending" and booking.organisation_id == student.organisation_id
    assert actions(booking) == ["booking.requested"]
    assert mail_to(manager)[-1].kind == "booking.pending"
    assert "asked for" in mail_to(manager)[-1].body  # the manager reads English
    from booking.inbox.models import InboxNotice

    notice = db.session.scalar(select(InboxNotice).where(InboxNotice.user_id == manager.id))
    assert notice.link == "/bookings/queue"  # from the notice to the request


def test_auto_approved_instrument_confirms_at_once_in_chinese(make, frozen):
    instrument = make.instrument()
    user = make.user()
    booking = make.booking(instrument, user, TUESDAY_24_NOV_10AM)
    assert booking.state == "approved" and booking.decided_at == MONDAY_23_NOV_8AM
    assert mail_to(user)[-1].subject == "预约已确认"


def test_rules_are_checked_and_all_problems_listed(make, lab):
    instrument, _, student = lab
    with pytest.raises(requests.BookingRefused) as refused:
        requests.create_booking(instrument, student, start=TUESDAY_24_NOV_10AM + timedelta(minutes=10),
                                end=TUESDAY_24_NOV_10AM + timedelta(hours=12), mode="self_operated",
                                purpose="x")
    assert {p.code for p in refused.value.problems} == {
        "slot_grid", "max_length", "outside_opening_hours"}


def test_unverified_organisation_and_unconfirmed_member_are_refused(make, frozen):
    instrument = make.instrument()
    outsider = make.user(organisation=make.organisation(kind="enterprise", verified=False),
                         confirmed=False)
    with pytest.raises(requests.BookingRefused) as refused:
        make.booking(instrument, outsider, TUESDAY_24_NOV_10AM)
    assert {p.code for p in refused.value.problems} == {"organisation_unverified",
                                                        "membership_unconfirmed"}


def test_overlapping_occupying_bookings_are_refused_by_the_database(make, lab):
    instrument, _, student = lab
    other = make.user(organisation=instrument.organisation)
    first = make.booking(instrument, student, TUESDAY_24_NOV_10AM, minutes=60)
    with pytest.raises(requests.BookingClash):
        make.booking(instrument, other, TUESDAY_24_NOV_10AM + timedelta(minutes=30), minutes=60)
    db.session.rollback()
    assert make.booking(instrument, other, TUESDAY_24_NOV_10AM + timedelta(hours=1)).state == "pending"
    requests.cancel_booking(first, student)
    db.session.commit()
    assert make.booking(instrument, other, TUESDAY_24_NOV_10AM).state == "pending"  # freed by cancelling


def test_the_guard_also_covers_updates_and_direct_inserts(make, lab):
    instrument, _, student = lab
    first = make.placed_booking(instrument, student, TUESDAY_24_NOV_10AM, state="cancelled")
    make.placed_booking(instrument, student, TUESDAY_24_NOV_10AM, state="approved")
    first.state = "approved"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        make.placed_booking(instrument, student, TUESDAY_24_NOV_10AM - timedelta(minutes=30), state="in_use")
    db.session.rollback()
    other_instrument = make.instrument(organisation=instrument.organisation)
    assert make.placed_booking(other_instrument, student, TUESDAY_24_NOV_10AM).id


def test_bookings_last_at_most_a_week_and_long_ones_still_clash(make, lab):
    """The database refuses bookings over 7 days; the overlap guard, which only searches the
    week before a new booking, still finds a week-long booking that reaches into it."""
    instrument, _, student = lab
    week = 7 * 24 * 60
    with pytest.raises(IntegrityError):
        make.placed_booking(instrument, student, TUESDAY_24_NOV_10AM, minutes=week + 30, state="approved")
    db.session.rollback()
    long_one = make.placed_booking(instrument, student, TUESDAY_24_NOV_10AM, minutes=week, state="approved")
    with pytest.raises(IntegrityError):  # starts in the last half hour of the week-long one
        make.placed_booking(instrument, student, long_one.end_at - timedelta(minutes=30),
                            state="approved")
    db.session.rollback()
    assert make.placed_booking(instrument, student, long_one.end_at, state="approved").id
    assert [b.id for b in calendar.bookings_between(
        instrument, long_one.end_at - timedelta(minutes=1), long_one.end_at)] == [long_one.id]


def test_start_must_precede_end(make, lab):
    instrument, _, student = lab
    with pytest.raises(IntegrityError):
        make.placed_booking(instrument, student, TUESDAY_24_NOV_10AM, minutes=0, state="completed")
    db.session.rollback()


def test_approve_and_reject(make, lab):
    instrument, manager, student = lab
    first = make.booking(instrument, student, TUESDAY_24_NOV_10AM)
    second = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=2))
    requests.approve_booking(first, manager)
    with pytest.raises(requests.ReasonRequired):
        requests.reject_booking(second, manager, "  ")
    requests.reject_booking(second, manager, "Instrument reserved for calibration")
    db.session.commit()
    assert (first.state, first.decided_by_id, first.sequence) == ("approved", manager.id, 1)
    assert second.decision_reason == "Instrument reserved for calibration"
    assert actions(second) == ["booking.requested", "booking.rejected"]
    assert [m.kind for m in mail_to(student)] == ["booking.approved", "booking.rejected"]
    with pytest.raises(rules.CannotApprove):
        requests.approve_booking(second, manager)


def test_bulk_decisions(make, lab):
    instrument, manager, student = lab
    bookings = [make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=h))
                for h in range(3)]
    with pytest.raises(requests.ReasonRequired):
        requests.decide_bookings(bookings, manager, approve=False)
    assert requests.decide_bookings(bookings[:2], manager, approve=True) == 2
    assert requests.decide_bookings(bookings[2:], manager, approve=False, reason="full") == 1
    assert [b.state for b in bookings] == ["approved", "approved", "rejected"]


def test_cancel_before_and_after_the_deadline(make, lab, frozen):
    instrument, manager, student = lab
    early = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(days=2))
    late = make.booking(instrument, student, TUESDAY_24_NOV_10AM)
    requests.approve_booking(late, manager)
    requests.cancel_booking(early, student)
    requests.cancel_booking(late, student)  # 26 h before, deadline 24 h: still free...
    assert not late.late_cancel
    booking = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=3))
    requests.approve_booking(booking, manager)
    other = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=5))
    requests.approve_booking(other, manager)
    frozen.tick(timedelta(hours=10))  # ...but now only 19 h remain
    requests.cancel_booking(booking, student)
    assert (booking.state, booking.late_cancel, booking.cancelled_at) == (
        "cancelled", True, MONDAY_23_NOV_8AM + timedelta(hours=10))
    with pytest.raises(rules.CannotCancel):
        requests.cancel_booking(booking, student)
    requests.cancel_booking(other, manager, "Lab closed")  # the lab's doing: never charged
    assert (other.state, other.late_cancel) == ("cancelled", False)
    assert mail_to(student)[-1].kind == "booking.cancelled"


def test_undecided_requests_expire(make, lab, frozen):
    instrument, _, student = lab
    booking = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(days=3))
    frozen.tick(timedelta(hours=47))
    assert requests.expire_pending() == 0
    frozen.tick(timedelta(hours=2))
    assert requests.expire_pending() == 1
    assert booking.state == "expired" and mail_to(student)[-1].kind == "booking.expired"
    assert requests.expire_pending() == 0


def test_qualification_gates_self_operated_use(make, frozen):
    instrument = make.instrument(requires_qualification=True, qualification_lapse_days=30)
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    user = make.user()
    with pytest.raises(requests.BookingRefused) as refused:
        make.booking(instrument, user, TUESDAY_24_NOV_10AM)
    assert [p.code for p in refused.value.problems] == ["qualification_required"]
    assert make.booking(instrument, user, TUESDAY_24_NOV_10AM, mode="staff_operated").state == "approved"

    request = qualifications.request_training(instrument, user, "PhD project on zeolites")
    assert qualifications.request_training(instrument, user, "again") is request
    assert qualifications.open_training_requests(manager) == [request]
    assert mail_to(manager)[-1].kind == "training.requested"
    qualification = qualifications.grant_qualification(instrument, user, manager)
    assert request.state == "granted"
    assert make.booking(instrument, user, TUESDAY_24_NOV_10AM + timedelta(hours=2)).state == "approved"

    frozen.tick(timedelta(days=31))  # unused for longer than the lapse
    assert not qualifications.is_qualified(instrument, user)
    qualifications.grant_qualification(instrument, user, manager)
    qualifications.revoke_qualification(qualification, manager)
    assert not qualifications.is_qualified(instrument, user)
    assert mail_to(user)[-1].kind == "qualification.revoked"


def test_a_request_is_not_approved_once_its_bookers_qualification_is_withdrawn(make, frozen):
    """Reported: the lab withdrew a qualification, then approved the person's pending
    self-operated request from the queue without a word."""
    instrument = make.instrument(requires_qualification=True, requires_approval=True)
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    user = make.user(name="张伟")
    qualification = qualifications.grant_qualification(instrument, user, manager)
    request = make.booking(instrument, user, TUESDAY_24_NOV_10AM)
    assert request.state == "pending"
    qualifications.revoke_qualification(qualification, manager)
    with pytest.raises(requests.NoLongerQualified) as refused:
        requests.approve_booking(request, manager)
    assert "张伟" in str(refused.value) and request.state == "pending"
    requests.reject_booking(request, manager, "资格已撤销")  # the way out stays open
    assert request.state == "rejected"


def test_declined_training(make, frozen):
    instrument = make.instrument(requires_qualification=True)
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    request = qualifications.request_training(instrument, make.user(), "")
    qualifications.decline_training(request, manager, "本学期培训已满")
    assert db.session.get(TrainingRequest, request.id).state == "declined"
    assert qualifications.open_training_requests(manager) == []


def test_queue_is_oldest_first_and_only_for_the_managers_organisation(make, lab, frozen):
    instrument, manager, student = lab
    later = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=4))
    frozen.tick(timedelta(minutes=5))
    newest = make.booking(instrument, student, TUESDAY_24_NOV_10AM)
    assert requests.approval_queue(manager) == [later, newest]
    stranger = make.user(role="lab_manager")
    assert requests.approval_queue(stranger) == []


def test_calendar_view_uses_a_fixed_number_of_queries(make, lab):
    instrument, _, student = lab
    other = make.user(organisation=instrument.organisation)

    def queries_for_week():
        db.session.expire_all()
        instrument_id, _ = instrument.id, student.is_authenticated  # loaded before counting
        selects = []
        engine = db.session.get_bind()

        def listener(conn, cursor, statement, *args):
            if statement.startswith("SELECT"):  # not the test harness's SAVEPOINT
                selects.append(statement)

        event.listen(engine, "before_cursor_execute", listener)
        try:
            _, view = calendar.calendar_view(instrument_id, student, MONDAY_23_NOV_8AM,
                                             MONDAY_23_NOV_8AM + timedelta(days=7))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(selects), view

    make.booking(instrument, student, TUESDAY_24_NOV_10AM)
    few, view = queries_for_week()
    for day in range(1, 4):
        for hour in range(0, 8, 2):
            make.placed_booking(instrument, other, TUESDAY_24_NOV_10AM + timedelta(days=day, hours=hour))
    many, view = queries_for_week()
    # the instrument's row, then its hours, exceptions, blackouts and bookings in one statement,
    # then which of the reader's own requests (one, pending) wait for their PI
    assert [b.state for b in view.own] == ["pending"]
    assert few == many == 3
    assert len(view.others) == 12 and [b.user_id for b in view.own] == [student.id]
    assert all(not (s < TUESDAY_24_NOV_10AM + timedelta(hours=1) and TUESDAY_24_NOV_10AM < e)
               for s, e in view.free)


def test_booking_visibility_predicates(make, lab):
    instrument, manager, student = lab
    booking = make.booking(instrument, student, TUESDAY_24_NOV_10AM)
    stranger = make.user(role="lab_manager")
    assert booking.can_view(student) and not booking.can_decide(student)
    assert booking.can_view(manager) and booking.can_decide(manager)
    assert not booking.can_view(stranger) and not booking.can_decide(stranger)
    assert db.session.get(Booking, booking.id).minutes == 60


def test_flask_bookings_expire_command(app, make, lab, frozen):
    instrument, _, student = lab
    booking = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(days=3))
    frozen.tick(timedelta(hours=49))
    result = app.test_cli_runner().invoke(args=["bookings", "expire"])
    assert result.exit_code == 0 and "expired 1 pending" in result.output
    assert booking.state == "expired"


def test_staff_operated_booking_keeps_its_samples_and_the_database_bounds_them(make, lab):
    instrument, _, student = lab
    booking = make.booking(instrument, student, TUESDAY_24_NOV_10AM, mode="staff_operated", samples=12)
    db.session.expire(booking)
    assert booking.sample_count == 12
    with pytest.raises(requests.BookingRefused) as refused:
        make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=2), mode="staff_operated",
                     samples=0)
    assert [p.code for p in refused.value.problems] == ["samples_required"]
    with pytest.raises(requests.BookingRefused) as refused:
        make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=2), samples=3)
    assert [p.code for p in refused.value.problems] == ["samples_self_operated"]
    savepoint = db.session.begin_nested()
    booking.sample_count = rules.MAX_SAMPLES + 1  # ck_bookings_sample_count
    with pytest.raises(IntegrityError):
        db.session.flush()
    savepoint.rollback()


def test_a_new_booking_joins_the_session_as_loaded(make, lab):
    """requests._insert writes with a Core INSERT ... RETURNING and attaches the row: the
    booking is persistent with every column read back, nothing pending, and it is tracked."""
    instrument, _, student = lab
    booking = requests.create_booking(instrument, student, start=TUESDAY_24_NOV_10AM,
                                      end=TUESDAY_24_NOV_10AM + timedelta(hours=1),
                                      mode="self_operated", purpose="XRD")
    state = inspect(booking)
    assert state.persistent and not (db.session.new or db.session.dirty)
    assert not state.unloaded & set(state.mapper.column_attrs.keys())  # relationships are lazy
    with statements() as seen:
        assert (booking.state, booking.sequence, booking.late_cancel) == ("pending", 0, False)
        assert booking.start_at == TUESDAY_24_NOV_10AM and booking.purpose == "XRD"
        assert booking.instrument is instrument and booking.user is student  # identity map
    assert seen == []
    booking.purpose = "XRD, powder"
    db.session.flush()
    db.session.expire(booking)
    assert booking.purpose == "XRD, powder"


def test_renewing_a_qualification_does_not_tell_the_user_twice(make, frozen):
    instrument = make.instrument(requires_qualification=True)
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    user = make.user()
    qualifications.grant_qualification(instrument, user, manager)
    qualifications.grant_qualification(instrument, user, manager)  # the form sent twice
    assert [m.kind for m in mail_to(user)].count("qualification.granted") == 1
