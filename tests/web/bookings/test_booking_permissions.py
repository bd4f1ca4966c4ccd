"""Who may do what to a booking in which state: role × state × action, on the pages and the API.

Each cell asserts the exact status. Where the booking moves, it asserts the new state, the
audit row and the notice to the requester; where it does not (a refused role, or a state the
action cannot leave), that the booking is as it was, no message was queued and nothing was
audited.
"""

import pytest
from freezegun import freeze_time

from booking.bookings.models import Booking
from booking.extensions import db
from tests.factories import (
    create_placed_booking,
    create_user,
    dummy_admin,
    dummy_bureau_staff,
    dummy_lab,
)
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM
from tests.web.matrix import (
    ACTS,
    LOGIN,
    Action,
    assert_status,
    audit_actions,
    flash_categories,
    messages_queued,
    send,
    sign_in,
)

ROLES = ("anonymous", "requester", "other_user", "lab_manager", "other_lab_manager",
         "bureau_staff", "admin")
STATES = ("pending", "approved", "in_use", "completed", "cancelled", "rejected")




REASON = "样品未到"
MOVE_ON_CANCEL = {"pending": "cancelled", "approved": "cancelled"}
#                                anonymous requester other lab_mgr other_mgr bureau admin
PAGES = {
    "view": Action("GET", "/bookings/{id}.ics", None,
                   (LOGIN, 200, 404, 200, 404, 404, 200), {}, 200, None),
    "cancel": Action("POST", "/bookings/{id}/cancel", {"reason": REASON},
                     (LOGIN, ACTS, 404, ACTS, 404, 404, ACTS), MOVE_ON_CANCEL, 302, 302),
    "approve": Action("POST", "/bookings/{id}/approve", {},
                      (LOGIN, 403, 404, ACTS, 404, 404, ACTS), {"pending": "approved"}, 302, 302),
    "reject": Action("POST", "/bookings/{id}/reject", {"reason": REASON},
                     (LOGIN, 403, 404, ACTS, 404, 404, ACTS), {"pending": "rejected"}, 302, 302),
}
API = {
    "api_view": Action("GET", "/api/v1/bookings/{id}", None,
                       (401, 200, 404, 200, 404, 404, 200), {}, 200, None),
    "api_cancel": Action("POST", "/api/v1/bookings/{id}/cancel", {"reason": REASON},
                         (401, ACTS, 404, ACTS, 404, 404, ACTS), MOVE_ON_CANCEL, 200, 409),
    "api_approve": Action("POST", "/api/v1/bookings/{id}/approve", {},
                          (401, 403, 404, ACTS, 404, 404, ACTS), {"pending": "approved"}, 200, 409),
    "api_reject": Action("POST", "/api/v1/bookings/{id}/reject", {"reason": REASON},
                         (401, 403, 404, ACTS, 404, 404, ACTS), {"pending": "rejected"}, 200, 409),
}
ACTIONS = {**PAGES, **API}


ACTORS = {  # role -> who plays it, made only when that role is asked for
    "anonymous": lambda lab, requester: None,
    "requester": lambda lab, requester: requester,
    "other_user": lambda lab, requester: create_user(),
    "lab_manager": lambda lab, requester: lab.manager,
    "other_lab_manager": lambda lab, requester: create_user(role="lab_manager"),
    "bureau_staff": lambda lab, requester: dummy_bureau_staff(),
    "admin": lambda lab, requester: dummy_admin(),
}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


def _record(booking: Booking) -> tuple:
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    return (booking.state, booking.sequence, booking.decided_by_id, booking.decided_at,
            booking.decision_reason, booking.cancelled_at, booking.late_cancel,
            booking.updated_at)


@pytest.mark.parametrize("action_name", ACTIONS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_booking_permission_matrix(client, login, api_token, role, state, action_name):
    action = ACTIONS[action_name]
    lab = dummy_lab()
    requester = create_user()
    booking = create_placed_booking(lab.instrument, requester, TUESDAY_24_NOV_10AM, state=state)
    actor = ACTORS[role](lab, requester)
    headers = sign_in(client, login, api_token, actor, action_name in API)
    before, queued, trail = _record(booking), messages_queued(), audit_actions(booking)

    response = send(client, action.method, action.path.format(id=booking.id), action.body,
                    headers, action_name in API)

    access = action.access[ROLES.index(role)]
    target = action.moves.get(state) if access == ACTS else None
    if target is None:  # refused, or the state does not allow it: nothing happened
        assert_status(response, action.refused if access == ACTS else access)
        assert _record(booking) == before
        assert messages_queued() == queued
        assert audit_actions(booking) == trail
        if access == ACTS and action_name in PAGES:
            assert flash_categories(client) in (["danger"], ["warning"])
        if access == 200:
            _assert_shows(response, booking, state)
        return
    assert_status(response, action.done)
    assert _record(booking)[0] == target
    assert audit_actions(booking) == [*trail, f"booking.{target}"]
    told_requester = actor.id != requester.id  # the requester is not told of their own cancel
    assert messages_queued() == queued + told_requester
    if action_name in API:
        assert response.get_json()["state"] == target
    else:
        assert flash_categories(client) in (["success"], ["info"])


def _assert_shows(response, booking, state):
    if response.is_json:
        assert (response.get_json()["id"], response.get_json()["state"]) == (booking.id, state)
    else:
        assert response.mimetype == "text/calendar"
        assert f"booking-{booking.id}@" in response.get_data(as_text=True)
