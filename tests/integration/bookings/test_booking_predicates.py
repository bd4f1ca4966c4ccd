"""The booking's own answers to who may do what, state by state (Booking.can_*), the refusals
as the one `Refused` type, and notices composed in each recipient's language."""
import pytest
from flask_login import AnonymousUserMixin
from freezegun import freeze_time
from sqlalchemy import select

from booking.bookings import qualifications, requests, rules
from booking.core.notifications import OutboxMessage
from booking.core.problems import Refused
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM

WHO = ("booker", "lab_manager", "admin", "other_manager", "stranger", "anonymous")
LAB = {"lab_manager", "admin"}


@pytest.fixture
def people(make):
    owner = make.organisation()
    instrument = make.instrument(organisation=owner, requires_approval=True)
    return instrument, {
        "booker": make.user(), "lab_manager": make.user(role="lab_manager", organisation=owner),
        "admin": make.user(role="admin"), "other_manager": make.user(role="lab_manager"),
        "stranger": make.user(), "anonymous": AnonymousUserMixin()}


@pytest.mark.parametrize("state", rules.STATES)
@pytest.mark.parametrize("who", WHO)
def test_predicates_by_role_and_state(make, people, who, state):
    instrument, users = people
    booking = make.placed_booking(instrument, users["booker"], TUESDAY_24_NOV_10AM, state=state)
    user = users[who]
    viewer = who == "booker" or who in LAB
    assert booking.can_view(user) is viewer
    assert booking.can_manage(user) is (who in LAB)
    assert booking.can_decide(user) is (who in LAB and state == "pending")
    assert booking.can_cancel(user) is (viewer and state in ("pending", "approved"))
    assert booking.can_rate(user) is (who == "booker" and state == "completed")


def test_refusals_are_one_type_with_the_api_answers(make, people):
    instrument, users = people
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = make.booking(instrument, users["booker"], TUESDAY_24_NOV_10AM)
        with pytest.raises(requests.BookingClash) as clash:
            make.booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
        db.session.rollback()
        with pytest.raises(requests.ReasonRequired) as no_reason:
            requests.reject_booking(booking, users["lab_manager"], " ")
        requests.approve_booking(booking, users["lab_manager"])
        with pytest.raises(rules.CannotApprove) as again:
            requests.approve_booking(booking, users["lab_manager"])
    answers = [(e.value.api_code or e.value.code, e.value.http_status)
               for e in (clash, no_reason, again)]
    assert answers == [("booking_clash", 409), ("reason_required", 422),
                       ("illegal_transition", 409)]
    assert all(isinstance(e.value, Refused) for e in (clash, no_reason, again))
    assert str(again.value) == "The booking is approved: it cannot become approved."


def _last_mail(user) -> OutboxMessage:
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user.email)
                              .order_by(OutboxMessage.id.desc())).first()


def test_notices_are_in_the_recipients_language(make):
    """An English-speaking manager acts; the Chinese-speaking booker is told in Chinese, and
    the other way round."""
    owner = make.organisation()
    instrument = make.instrument(organisation=owner, requires_approval=True,
                                 requires_qualification=True)
    manager = make.user(role="lab_manager", organisation=owner, locale="en")
    booker = make.user(locale="zh_CN")
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = make.booking(instrument, booker, TUESDAY_24_NOV_10AM, mode="staff_operated")
        assert "asked for" in _last_mail(manager).body
        requests.reject_booking(booking, manager, "Sample missing")
        assert _last_mail(booker).subject == "预约申请未获批准"
        qualifications.request_training(instrument, booker, "")
        assert _last_mail(manager).subject == "Training requested"
        qualification = qualifications.grant_qualification(instrument, booker, manager)
        qualifications.revoke_qualification(qualification, manager)
        assert _last_mail(booker).subject == "上机资格已撤销"
