"""Who may see and decide a voucher in which state: role × state × action, pages and API.

Bureau staff (and admins) decide applications; an enterprise's members see its vouchers and
nobody else's; university users have no voucher page. Each cell asserts the exact status and
whether the voucher is shown; where a decision is made, the new state, the audit row and the
notice to the applicant; where it is not, that the voucher and the year's budget are as they
were, no message was queued and nothing was audited.
"""

import pytest
from freezegun import freeze_time

from booking.extensions import db
from booking.subsidies import services
from booking.subsidies.models import Voucher, VoucherBudget
from tests.factories import (
    create_user,
    create_voucher,
    dummy_admin,
    dummy_bureau_staff,
    dummy_sme_member,
)
from tests.moments import MONDAY_2_MAR_8AM, SUNDAY_10_MAY_10AM
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

REQUESTED_FEN = 5_000_000
ROLES = ("anonymous", "applicant", "colleague", "other_enterprise", "other_user", "lab_manager",
         "bureau_staff", "admin")
STATES = ("applied", "issued", "exhausted", "expired", "rejected")
#: the access value of a role that gets the list and sees this voucher in it, or not
SEES, BLIND = "sees", "blind"




DECIDERS = (LOGIN, 403, 403, 403, 403, 403, ACTS, ACTS)
#            anonymous applicant colleague other_ent other_user lab_mgr bureau admin
PAGES = {
    "mine": Action("GET", "/vouchers/", None,
                   (LOGIN, SEES, SEES, BLIND, 403, 403, 403, 403), {}, done=200),
    # the review queue lists applications still to decide, to bureau staff
    "review": Action("GET", "/vouchers/review", None,
                     (LOGIN, 403, 403, 403, 403, 403, SEES, SEES), {}, done=200),
    # every voucher and application, whatever its state, to bureau staff
    "all": Action("GET", "/vouchers/all", None,
                  (LOGIN, 403, 403, 403, 403, 403, SEES, SEES), {}, done=200),
    # only an application is decided: an exhausted voucher, which the state table lets become
    # issued again after a reversal, is not re-approved (it was until issue 22)
    "approve": Action("POST", "/vouchers/{id}/approve", {"amount": "50000"}, DECIDERS,
                      {"applied": "issued"}),
    "reject": Action("POST", "/vouchers/{id}/reject", {"reason": "材料不全"}, DECIDERS,
                     {"applied": "rejected"}),
}
API = {
    "api_list": Action("GET", "/api/v1/vouchers", None,
                       (401, SEES, SEES, BLIND, BLIND, BLIND, SEES, SEES), {}, done=200),
    "api_approve": Action("POST", "/api/v1/vouchers/{id}/approve", {},
                          (401, 403, 403, 403, 403, 403, ACTS, ACTS), {"applied": "issued"},
                          done=200, refused=409),
    "api_reject": Action("POST", "/api/v1/vouchers/{id}/reject", {"reason": "材料不全"},
                         (401, 403, 403, 403, 403, 403, ACTS, ACTS), {"applied": "rejected"},
                         done=200, refused=409),
}
ACTIONS = {**PAGES, **API}


@pytest.fixture(autouse=True)
def may_2026():
    with freeze_time(SUNDAY_10_MAY_10AM):
        yield


def _voucher(applicant, state) -> Voucher:
    voucher = create_voucher(applicant, amount_fen=REQUESTED_FEN,
                             approve=state in ("issued", "exhausted", "expired"))
    if state == "rejected":
        services.reject_voucher(voucher, create_user(role="bureau_staff"), "不符合条件")
    elif state == "exhausted":
        voucher.state, voucher.used_fen = "exhausted", voucher.face_value_fen
    elif state == "expired":
        voucher.state, voucher.valid_until = "expired", MONDAY_2_MAR_8AM
    db.session.commit()
    assert voucher.state == state
    return voucher


ACTORS = {  # role -> who plays it, made only when that role is asked for
    "anonymous": lambda applicant: None,
    "applicant": lambda applicant: applicant,
    "colleague": lambda applicant: create_user(organisation=applicant.organisation),
    "other_enterprise": lambda applicant: dummy_sme_member(),
    "other_user": lambda applicant: create_user(),
    "lab_manager": lambda applicant: create_user(role="lab_manager"),
    "bureau_staff": lambda applicant: dummy_bureau_staff(),
    "admin": lambda applicant: dummy_admin(),
}


def _snapshot(voucher) -> dict:
    db.session.expire_all()
    voucher = db.session.get(Voucher, voucher.id)
    budget = db.session.get(VoucherBudget, voucher.year)
    return {"voucher": (voucher.state, voucher.face_value_fen, voucher.used_fen,
                        voucher.valid_until, voucher.decided_by_id, voucher.decided_at,
                        voucher.decision_reason),
            "committed_fen": budget.committed_fen if budget else 0,
            "messages": messages_queued(), "audit": audit_actions(voucher)}


@pytest.mark.parametrize("action_name", ACTIONS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_voucher_permission_matrix(client, login, api_token, role, state, action_name):
    action = ACTIONS[action_name]
    applicant = dummy_sme_member()
    voucher = _voucher(applicant, state)
    actor = ACTORS[role](applicant)
    headers = sign_in(client, login, api_token, actor, action_name in API)
    before = _snapshot(voucher)

    response = send(client, action.method, action.path.format(id=voucher.id), action.body,
                    headers, action_name in API)

    access = action.access[ROLES.index(role)]
    target = action.moves.get(state) if access == ACTS else None
    if target is not None:
        assert_status(response, action.done)
        _assert_decided(voucher, before, target, actor)
        if action_name in API:
            assert response.get_json()["state"] == target
        else:
            assert flash_categories(client) in (["success"], ["info"])
        return
    if access in (SEES, BLIND):
        assert_status(response, action.done)
        shown = access == SEES and (action_name != "review" or state == "applied")
        assert _lists(response, voucher, action_name) == shown
    else:
        assert_status(response, action.refused if access == ACTS else access)
    assert _snapshot(voucher) == before
    if access == ACTS and action_name in PAGES:
        assert flash_categories(client) == ["danger"]
    elif access == ACTS:
        assert [p["code"] for p in response.get_json()["error"]["problems"]] == ["state"]
    elif access == 403 and action_name in API:
        assert response.get_json()["error"]["code"] == "forbidden"


def _lists(response, voucher, action_name) -> bool:
    if response.is_json:
        return voucher.id in [item["id"] for item in response.get_json()["items"]]
    return f'data-voucher="{voucher.id}"' in response.get_data(as_text=True)


def _assert_decided(voucher, before, target, actor):
    after = _snapshot(voucher)
    state, face_value_fen, _used, _valid, decided_by_id, _at, _reason = after["voucher"]
    assert (state, decided_by_id) == (target, actor.id)
    approved = target == "issued"
    assert face_value_fen == (REQUESTED_FEN if approved else 0)
    assert after["committed_fen"] == before["committed_fen"] + (REQUESTED_FEN if approved else 0)
    assert after["audit"] == [*before["audit"], "voucher.approved" if approved else
                              "voucher.rejected"]
    assert after["messages"] == before["messages"] + 1  # the applicant is told
