"""Groups pages and the booking form's project (issue 19): who may see and do what, the
student's default project preselected, the quote's remaining budget, the API's project_id,
and the PI's signed link (forged, expired, used once, on PUBLIC_BASE_URL)."""
import re
from datetime import UTC, date, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.bookings import requests
from booking.bookings.models import Booking
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.groups import services
from booking.groups.models import GroupMember, PiApproval, Project
from tests.factories import dummy_lab
from tests.factories.groups import create_group, create_project
from tests.moments import MONDAY_23_NOV_8AM

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(make):
    lab = dummy_lab(requires_approval=True)
    pi = make.user(role="member", organisation=lab.organisation, name="王导师", locale="en")
    student = make.user(role="student", organisation=lab.organisation, name="李同学",
                        locale="en")
    group = create_group(pi, members=[student], approval_mode="always")
    project = create_project(group, budget_fen=50_000, over_budget="pi", default_for=[student])
    return {"lab": lab, "pi": pi, "student": student, "group": group, "project": project}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


ROLES = ("anonymous", "pi", "member", "colleague", "other_org", "finance", "lab_manager")


def _who(role, world, make):
    org = world["lab"].organisation
    return {"anonymous": None, "pi": world["pi"], "member": world["student"],
            "colleague": make.user(organisation=org), "other_org": make.user(),
            "finance": make.user(role="finance", organisation=org),
            "lab_manager": world["lab"].manager}[role]


#                       anonymous pi  member colleague other_org finance lab_manager
VIEW = dict(zip(ROLES, (302, 200, 200, 404, 404, 200, 404), strict=True))
MANAGE = dict(zip(ROLES, (302, 302, 403, 404, 404, 403, 404), strict=True))


@pytest.mark.parametrize("role", ROLES)
def test_group_and_project_pages_by_role(client, login, make, world, role):
    user = _who(role, world, make)
    if user:
        login(user)
    group, project = world["group"], world["project"]
    assert client.get(f"/groups/{group.id}").status_code == VIEW[role]
    assert client.get(f"/projects/{project.id}").status_code == VIEW[role]
    assert client.get(f"/projects/{project.id}/statement.xlsx").status_code == VIEW[role]
    response = client.post(f"/groups/{group.id}/projects", data={
        "number": "NEW-1", "title": "t", "valid_from": "2026-01-01", "valid_until": "2026-12-31",
        "budget": "100.00", "over_budget": "refuse"})
    assert response.status_code == MANAGE[role]
    made = db.session.scalar(select(Project).where(Project.number == "NEW-1"))
    assert (made is not None) == (role == "pi")
    response = client.post(f"/groups/{group.id}/approval", data={"mode": "none"})
    assert response.status_code == MANAGE[role]
    db.session.refresh(group)
    assert group.approval_mode == ("none" if role == "pi" else "always")


def test_invite_accept_request_and_leave(client, login, make, world):
    org = world["lab"].organisation
    newcomer = make.user(role="student", organisation=org)
    outsider = make.user(role="student")
    login(world["pi"])
    refused = client.post(f"/groups/{world['group'].id}/invite", headers=EN,
                          data={"email": "not.yet@example.cn"}, follow_redirects=True)
    assert "Someone new signs in once first" in refused.get_data(as_text=True)  # and then?
    client.post(f"/groups/{world['group'].id}/invite", data={"email": outsider.email})
    client.post(f"/groups/{world['group'].id}/invite", data={"email": newcomer.email})
    members = {m.user_id: m for m in world["group"].members}
    assert outsider.id not in members and members[newcomer.id].state == "invited"
    login(newcomer)
    client.post(f"/groups/members/{members[newcomer.id].id}/accept")
    assert members[newcomer.id].state == "active"
    # the member's own button leaves, and asks as one who leaves (it read "remove 张三?")
    page = client.get(f"/groups/{world['group'].id}").get_data(as_text=True)
    own = page.split(f'data-member="{newcomer.id}"')[1].split("</li>")[0]
    assert "确定退出课题组" in own and "移出" not in own
    asker = make.user(role="student", organisation=org)
    login(asker)
    client.post(f"/groups/{world['group'].id}/join")
    request = db.session.scalar(select(GroupMember).where(GroupMember.user_id == asker.id))
    assert request.state == "requested"
    assert client.get(f"/groups/{world['group'].id}").status_code == 404  # budgets, members
    client.post(f"/groups/members/{request.id}/accept")  # not theirs to accept
    assert request.state == "requested"
    login(world["pi"])
    client.post(f"/groups/members/{request.id}/accept")
    assert request.state == "active"
    login(outsider)
    assert client.post(f"/groups/{world['group'].id}/join").status_code == 404


def test_the_booking_form_preselects_the_default_project_and_the_quote_shows_the_budget(
        client, login, world):
    login(world["student"])
    lab, project = world["lab"], world["project"]
    page = client.get(f"/instruments/{lab.instrument.id}/book", headers=EN).get_data(
        as_text=True)
    assert re.search(rf'<option selected value="{project.id}">|<option value="{project.id}" '
                     rf'selected>', page), "default project preselected"
    quote = client.get(f"/instruments/{lab.instrument.id}/quote.json?start=2026-11-24T10:00"
                       f"&end=2026-11-24T11:00&mode=self_operated&project={project.id}").get_json()
    assert quote["project_remaining_fen"] == 50_000 and quote["project_after_fen"] == 40_000
    assert quote["problems"] == []  # the group's PI approves every request: it says so
    assert [w["code"] for w in quote["warnings"]] == ["pi_decides"]


@pytest.mark.parametrize("over_budget, refused, warned", [
    ("refuse", ["over_limit"], []), ("pi", [], ["over_limit", "pi_decides"])])
def test_the_quote_says_a_limit_refuses_or_sends_to_the_pi(client, login, world, over_budget,
                                                           refused, warned):
    from booking.groups import limits

    world["project"].over_budget = over_budget
    limits.set_limit(world["project"], world["pi"], instrument_id=world["lab"].instrument.id,
                     category=None, limit_fen=5_000)
    db.session.commit()
    login(world["student"])
    quote = client.get(f"/instruments/{world['lab'].instrument.id}/quote.json?start="
                       f"2026-11-24T10:00&end=2026-11-24T11:00&mode=self_operated"
                       f"&project={world['project'].id}", headers=EN).get_json()
    assert [p["code"] for p in quote["problems"]] == refused
    assert [p["code"] for p in quote["warnings"]] == warned
    assert "¥50.00 of it is left" in str(quote)


def test_a_project_is_valid_on_the_bookings_own_day(client, login, world):
    """07:00 in Shanghai is 23:00 UTC the day before: a project valid from that day holds."""
    from datetime import date

    world["project"].valid_from = date(2026, 11, 25)
    db.session.commit()
    login(world["student"])
    quote = client.get(f"/instruments/{world['lab'].instrument.id}/quote.json?start="
                       f"2026-11-25T07:00&end=2026-11-25T08:00&mode=self_operated"
                       f"&project={world['project'].id}").get_json()
    assert "project_expired" not in [p["code"] for p in quote["problems"]]


def test_the_quote_says_a_project_the_user_cannot_charge_is_refused(client, login, make,
                                                                    world):
    stranger = create_project(create_group(make.user(organisation=world["lab"].organisation)),
                              number="OTHER")
    login(world["student"])
    quote = client.get(f"/instruments/{world['lab'].instrument.id}/quote.json?start="
                       f"2026-11-24T10:00&end=2026-11-24T11:00&mode=self_operated"
                       f"&project={stranger.id}").get_json()
    assert [p["code"] for p in quote["problems"]] == ["not_member"]
    assert "project_remaining_fen" not in quote  # nothing of another group's budget


def test_the_calendar_says_a_request_waits_for_the_pi_until_the_pi_decides(client, login,
                                                                          world):
    """On the instrument's calendar too, the student's request reads "waiting for the PI"
    (the lab does not see it yet); the PI's approval reaches a kept calendar at once
    (pi_approvals bump its version, migration 0034) and the browser's copy is replaced."""
    lab = world["lab"]
    login(world["student"])
    client.post(f"/instruments/{lab.instrument.id}/book", data={
        "start": "2026-11-24T10:00", "end": "2026-11-24T11:00", "mode": "self_operated",
        "purpose": "XPS", "project": world["project"].id})
    url = f"/instruments/{lab.instrument.id}/calendar.json?start=2026-11-23T00:00" \
          f"&end=2026-11-30T00:00"
    first = client.get(url)
    assert [b["state"] for b in first.get_json()["own"]] == ["awaiting_pi"]
    book_page = client.get(f"/instruments/{lab.instrument.id}/book").get_data(as_text=True)
    # its word, starting the event's title as "Booked" does
    assert "&#34;awaiting_pi&#34;: &#34;Waiting for the PI&#34;" in book_page
    assert "&#34;approved&#34;: &#34;Approved&#34;" in book_page
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304

    login(world["pi"])
    client.post(f"/groups/approvals/{db.session.scalar(select(PiApproval.id))}/approve")
    login(world["student"])
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200  # not the copy the browser holds
    assert [b["state"] for b in again.get_json()["own"]] == ["pending"]  # now the lab's


def test_booking_from_the_form_goes_to_the_pi_then_the_lab(client, login, world):
    login(world["student"])
    lab = world["lab"]
    response = client.post(f"/instruments/{lab.instrument.id}/book", headers=EN, data={
        "start": "2026-11-24T10:00", "end": "2026-11-24T11:00", "mode": "self_operated",
        "purpose": "XPS", "project": world["project"].id}, follow_redirects=True)
    assert "waiting for your PI" in response.get_data(as_text=True)
    booking = db.session.scalar(select(Booking))
    mine = client.get("/bookings/mine", headers=EN).get_data(as_text=True)
    assert "waiting for the PI" in mine  # not just "pending" like a request at the lab
    assert booking.project_id == world["project"].id
    login(lab.manager)
    assert f'request-{booking.id}' not in client.get("/bookings/queue").get_data(as_text=True)
    login(world["pi"])
    page = client.get("/groups/approvals", headers=EN).get_data(as_text=True)
    assert "李同学" in page
    approval = db.session.scalar(select(PiApproval))
    client.post(f"/groups/approvals/{approval.id}/approve")
    assert approval.state == "approved"
    # the group's spending names whose booking holds the money (the PI's question), and on a
    # phone each line is a card with its amount in sight
    page = client.get(f"/groups/{world['project'].group_id}", headers=EN).get_data(as_text=True)
    assert 'table-stack" id="spending"' in page
    spending = page.split('id="spending"')[1].split("</table>")[0]
    assert "李同学" in spending and 'data-label="Amount"' in spending


def test_the_lab_neither_sees_nor_decides_a_request_before_its_pi(client, login, world,
                                                                   api_token):
    """Not in the queue or its instrument filter, and refused on the page, in bulk and in the
    API; once the PI approved, the lab decides as usual."""
    booking_id = _api_booking(client, world).get_json()["id"]
    manager = world["lab"].manager
    login(manager)
    queue = client.get("/bookings/queue", headers=EN).get_data(as_text=True)
    assert f'id="request-{booking_id}"' not in queue
    assert world["lab"].instrument.name_zh not in queue  # nor in the instrument filter
    page = client.post(f"/bookings/{booking_id}/approve", headers=EN, follow_redirects=True)
    assert "正在等待申请人的导师审批" in page.get_data(as_text=True)  # the manager reads Chinese
    client.post("/bookings/queue/bulk", data={"action": "approve", "ids": [booking_id]})
    client.post(f"/bookings/{booking_id}/reject", data={"reason": "no"})
    assert client.post(f"/api/v1/bookings/{booking_id}/approve",
                       headers=api_token(manager)).status_code == 409
    booking = db.session.get(Booking, booking_id)
    db.session.refresh(booking)
    assert booking.state == "pending"
    login(world["pi"])
    client.post(f"/groups/approvals/{db.session.scalar(select(PiApproval.id))}/approve")
    login(manager)
    queue = client.get("/bookings/queue").get_data(as_text=True)
    assert f'id="request-{booking_id}"' in queue and "导师已批准" in queue  # says the PI agreed
    client.post(f"/bookings/{booking_id}/approve")
    db.session.refresh(booking)
    assert booking.state == "approved"


def test_a_request_decided_without_its_pi_leaves_the_pis_list(client, login, world):
    """Cancelled (or otherwise decided) before the PI did: the PI has nothing left to decide,
    and a late decision changes nothing."""
    booking_id = _api_booking(client, world).get_json()["id"]
    booking = db.session.get(Booking, booking_id)
    requests.move_booking(booking, "expired", None)
    db.session.commit()
    approval = db.session.scalar(select(PiApproval))
    assert approval.state == "withdrawn"
    login(world["pi"])
    assert "李同学" not in client.get("/groups/approvals", headers=EN).get_data(as_text=True)
    client.post(f"/groups/approvals/{approval.id}/reject", data={"reason": "late"})
    db.session.refresh(approval)
    assert approval.state == "withdrawn"


def test_someone_elses_approval_cannot_be_decided(client, login, make, world):
    with freeze_time(MONDAY_23_NOV_8AM):
        _api_booking(client, world)
    approval = db.session.scalar(select(PiApproval))
    for user in (world["student"], world["lab"].manager, make.user()):
        login(user)
        assert client.post(f"/groups/approvals/{approval.id}/approve").status_code == 404
    assert approval.state == "pending"


def _api_booking(client, world, **extra):
    from booking.accounts.services import create_api_token

    _, raw = create_api_token(world["student"], "test")
    db.session.commit()
    return client.post("/api/v1/bookings", headers={"Authorization": f"Bearer {raw}"}, json={
        "instrument_id": world["lab"].instrument.id, "start": "2026-11-24T10:00:00+08:00",
        "end": "2026-11-24T11:00:00+08:00", "purpose": "XPS", "mode": "self_operated", **extra})


def test_the_api_charges_the_default_project_or_the_one_named(client, world, make):
    response = _api_booking(client, world)
    assert response.status_code == 201, response.get_json()
    booking = db.session.get(Booking, response.get_json()["id"])
    assert booking.project_id == world["project"].id and booking.state == "pending"
    stranger = create_project(create_group(make.user(organisation=world["lab"].organisation)),
                              number="OTHER")
    refused = _api_booking(client, world, project_id=stranger.id,
                           start="2026-11-25T10:00:00+08:00", end="2026-11-25T11:00:00+08:00")
    assert refused.status_code == 422
    none = _api_booking(client, world, project_id=None, start="2026-11-26T10:00:00+08:00",
                        end="2026-11-26T11:00:00+08:00")
    assert none.status_code == 201 and none.get_json()["project_id"] is None


def test_a_category_limit_set_on_the_page_refuses_a_booking_over_it(client, login, world):
    """The limit the PI picks from the categories is the one a booking's instrument has (the
    free text of before never matched an instrument's category code)."""
    world["project"].over_budget = "refuse"
    db.session.commit()
    login(world["pi"])
    client.post(f"/projects/{world['project'].id}/limits",
                data={"category": world["lab"].instrument.category, "limit": "1.00"})
    refused = _api_booking(client, world)
    assert refused.status_code == 422
    assert "over_limit" in str(refused.get_json())
    assert db.session.scalar(select(Booking)) is None


def _mail_links(pi) -> dict:
    body = db.session.scalars(select(OutboxMessage.body).where(
        OutboxMessage.recipient == pi.email)).all()[-1]
    return dict(re.findall(r"(Approve|Reject): (\S+)", body))


def test_the_signed_link_is_on_the_public_base_url_and_works_once(app, client, world):
    _api_booking(client, world)
    links = _mail_links(world["pi"])
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert links["Approve"].startswith(base + "/pi/decide/")
    path = links["Reject"][len(base):]
    page = client.get(path, headers=EN)
    assert page.status_code == 200 and "Reject this request" in page.get_data(as_text=True)
    assert db.session.scalar(select(PiApproval.state)) == "pending"  # GET changes nothing
    assert client.post(path, data={"reason": ""}).status_code == 200  # a reason is needed
    assert db.session.scalar(select(PiApproval.state)) == "pending"
    done = client.post(path, data={"reason": "换一台仪器"}, headers=EN).get_data(as_text=True)
    assert done.count("Rejected: the requester is told why.") == 1  # not flashed as well
    assert db.session.scalar(select(PiApproval.state)) == "rejected"
    assert db.session.scalar(select(Booking.state)) == "rejected"
    assert client.get(links["Approve"][len(base):]).status_code == 410  # decided: links dead


def test_the_pi_reads_the_purpose_the_institution_and_an_over_limit(client, login, world):
    from booking.groups import limits

    instrument = world["lab"].instrument
    limits.set_limit(world["project"], world["pi"], instrument_id=None,
                     category=instrument.category, limit_fen=100)
    db.session.commit()
    assert _api_booking(client, world, purpose="XPS 表面分析").status_code == 201
    login(world["pi"])
    card = client.get("/groups/approvals", headers=EN).get_data(as_text=True)
    assert f"{instrument.name_en} · {instrument.organisation.name_en}" in card
    assert "XPS 表面分析" in card and "over a limit" in card
    # reported: the PI approved with no figure in view: what the project has left, this
    # request (held already) counted
    from booking.core.money import format_cny
    from booking.groups.services import budget_of

    budget = budget_of(world["project"])
    left = card[card.index("request-left"):].split("</dd>")[0]
    assert f"{format_cny(budget.remaining_fen)} of {format_cny(budget.budget_fen)}" in left
    mail = db.session.scalars(select(OutboxMessage.body).where(
        OutboxMessage.recipient == world["pi"].email)).all()[-1]
    assert "Purpose: XPS 表面分析" in mail and "exceed one of the project's limits" in mail
    # reported: the booker's words ran into the next sentence ("…钛合金该预约将超出…")
    assert "\nPurpose: XPS 表面分析\n" in mail


def test_the_pi_reads_that_a_request_is_above_the_groups_threshold(client, login, world):
    world["group"].approval_mode, world["group"].approval_threshold_fen = "above_fee", 5_000
    db.session.commit()
    assert _api_booking(client, world).status_code == 201  # ¥100.00
    login(world["pi"])
    assert "above ¥50.00" in client.get("/groups/approvals", headers=EN).get_data(as_text=True)


def test_approving_a_request_its_instrument_confirms_says_it_is_confirmed(client, login,
                                                                          world):
    world["lab"].instrument.requires_approval = False
    db.session.commit()
    _api_booking(client, world)
    login(world["pi"])
    page = client.post(f"/groups/approvals/{db.session.scalar(select(PiApproval.id))}/approve",
                       headers=EN, follow_redirects=True).get_data(as_text=True)
    assert "Approved: the booking is confirmed." in page
    assert db.session.scalar(select(Booking.state)) == "approved"


def test_a_forged_or_expired_link_decides_nothing(client, world):
    _api_booking(client, world)
    path = _mail_links(world["pi"])["Approve"].split("/pi/decide/")[1]
    assert client.post(f"/pi/decide/{path[:-2]}xx").status_code == 410
    with freeze_time(MONDAY_23_NOV_8AM + timedelta(days=3)):
        assert client.post(f"/pi/decide/{path}").status_code == 410
    assert db.session.scalar(select(PiApproval.state)) == "pending"


def test_the_pi_link_email_is_not_kept_in_the_inbox(client, world):
    from booking.inbox.models import InboxNotice

    _api_booking(client, world)
    kept = db.session.scalars(select(InboxNotice).where(
        InboxNotice.user_id == world["pi"].id)).all()
    # the inbox keeps the request without its signed links (they decide without signing in)
    assert [n.kind for n in kept] == ["group.pi_waiting"] and "/pi/decide/" not in kept[0].body
    assert services.pending_for_pi(world["pi"])


def test_the_api_quote_shows_the_projects_remaining_budget(client, world, make):
    from booking.accounts.services import create_api_token

    _, raw = create_api_token(world["student"], "test")
    db.session.commit()
    url = (f"/api/v1/instruments/{world['lab'].instrument.id}/quote?start=2026-11-24T10:00:00"
           f"%2B08:00&end=2026-11-24T11:00:00%2B08:00")
    headers = {"Authorization": f"Bearer {raw}"}
    body = client.get(f"{url}&project_id={world['project'].id}", headers=headers).get_json()
    assert (body["project_remaining_fen"], body["project_after_fen"]) == (50_000, 40_000)
    assert "project_remaining_fen" not in client.get(url, headers=headers).get_json()
    stranger = create_project(create_group(make.user(organisation=world["lab"].organisation)),
                              number="OTHER")
    refused = client.get(f"{url}&project_id={stranger.id}", headers=headers)
    assert refused.status_code == 422


def test_limits_by_instrument_or_category_and_bad_input(client, login, world):
    from booking.groups.models import ProjectLimit

    login(world["pi"])
    instrument = world["lab"].instrument
    url = f"/projects/{world['project'].id}/limits"
    for data in ({"instrument": "#999999", "limit": "10"}, {"instrument": "no such thing",
                                                             "limit": "10"},
                 {"limit": "10"}, {"instrument": f"#{instrument.id}", "category": "analytical",
                                   "limit": "10"},
                 {"category": "imaging", "limit": "10"},  # not a category: it never matched
                 {"category": "analytical", "limit": "-1"}):
        page = client.post(url, data=data, headers=EN)  # shown again, as typed, marked
        assert page.status_code == 200 and "is-invalid" in page.get_data(as_text=True)
    assert db.session.scalar(select(ProjectLimit)) is None
    # chosen from the suggestions, typed as its name (any case), or as a number
    client.post(url, data={"instrument": f"{instrument.name_zh} · 大学 · #{instrument.id}",
                           "limit": "50.00"})
    client.post(url, data={"category": "analytical", "limit": "500.00"})
    assert sorted(limit.limit_fen for limit in world["project"].limits) == [5_000, 50_000]
    client.post(url, data={"instrument": instrument.name_en.upper(), "limit": "60"})
    client.post(url, data={"instrument": str(instrument.id), "limit": "70"})
    db.session.expire_all()
    assert sorted(limit.limit_fen for limit in world["project"].limits) == [7_000, 50_000]
    login(world["student"])
    assert client.post(url, data={"category": "laser", "limit": "1"}).status_code == 403
    db.session.expire_all()
    assert len(world["project"].limits) == 2


def test_an_instrument_name_two_institutions_share_must_be_chosen(client, login, make, world):
    from booking.groups.models import ProjectLimit

    instrument = world["lab"].instrument
    make.instrument(name_zh=instrument.name_zh, name_en="Another")
    login(world["pi"])
    page = client.post(f"/projects/{world['project'].id}/limits", headers=EN, follow_redirects=True,
                       data={"instrument": instrument.name_zh, "limit": "10"})
    assert "Several instruments have that name" in page.get_data(as_text=True)
    assert db.session.scalar(select(ProjectLimit)) is None


def test_the_limits_table_shows_names_use_and_removal(client, login, make, world):
    project, instrument = world["project"], world["lab"].instrument
    services.hold(project, booking_id=1, fee_fen=1_500, instrument_id=instrument.id,
                  category="analytical", description="x")
    limits_url = f"/projects/{project.id}/limits"
    login(world["pi"])
    below = client.post(limits_url, data={"instrument": f"#{instrument.id}", "limit": "10"},
                        headers=EN, follow_redirects=True).get_data(as_text=True)
    assert "already used ¥15.00 there" in below  # set below what is used: said
    client.post(limits_url, data={"instrument": f"#{instrument.id}", "limit": "40"})
    client.post(limits_url, data={"category": "laser", "limit": "100"})
    page = client.get(f"/projects/{project.id}", headers=EN).get_data(as_text=True)
    limits = _limits_table(page)
    assert f"{instrument.name_en} · {world['lab'].organisation.name_en}" in limits
    assert "Lasers" in limits
    assert "¥40.00" in limits and "¥15.00" in limits and "¥25.00" in limits
    assert 'data-suggest="/instruments/suggestions.json"' in page
    laser = next(limit for limit in project.limits if limit.category == "laser")
    remove = f"{limits_url}/{laser.id}/delete"
    for user, status in ((world["student"], 403), (make.user(), 404)):
        login(user)
        assert client.post(remove).status_code == status
    login(world["pi"])
    assert client.post(f"/projects/{project.id}/limits/999999/delete").status_code == 404
    client.post(remove)
    db.session.expire_all()
    assert [limit.category for limit in project.limits] == [None]
    assert "Lasers" not in _limits_table(client.get(f"/projects/{project.id}", headers=EN)
                                         .get_data(as_text=True))


def _limits_table(page: str) -> str:
    return page[page.index('id="limits"'):page.index('id="limit-form"')]


def test_pi_approval_categories_are_ticked_from_the_list(client, login, world):
    group = world["group"]
    group.approval_categories = ["电镜"]  # typed as text before: it never matched
    db.session.commit()
    url = f"/groups/{group.id}/approval"
    login(world["pi"])
    page = client.get(f"/groups/{group.id}", headers=EN).get_data(as_text=True)
    assert 'value="analytical"' in page and "Analytical instruments" in page
    assert "names no category, and ignored: 电镜" in page
    for data in ({"mode": "categories"}, {"mode": "categories", "categories": "imaging"}):
        client.post(url, data=data)
        db.session.expire_all()
        assert group.approval_mode == "always"  # refused: nothing changed
    client.post(url, data={"mode": "categories", "categories": ["laser", "analytical"]})
    db.session.expire_all()
    assert (group.approval_mode, group.approval_categories) == ("categories",
                                                                ["laser", "analytical"])
    client.post(url, data={"mode": "above_fee", "threshold": ""})  # no threshold: refused
    db.session.expire_all()
    assert group.approval_mode == "categories"
    client.post(url, data={"mode": "above_fee", "threshold": "500", "categories": ["nuclear"]})
    client.post(url, data={"mode": "none", "threshold": "", "categories": ["marine"]})
    db.session.expire_all()  # the other modes' settings are kept for a switch back
    assert (group.approval_mode, group.approval_threshold_fen, group.approval_categories) == (
        "none", 50_000, ["laser", "analytical"])
    # what a hidden field holds is not judged: a mode that does not use it is saved
    client.post(url, data={"mode": "always", "threshold": "12.345", "categories": ["x"]})
    client.post(url, data={"mode": "categories", "categories": ["laser", "laser", "marine"]})
    db.session.expire_all()
    assert (group.approval_mode, group.approval_categories) == ("categories",
                                                                ["laser", "marine"])


def test_the_ledger_names_the_instrument_in_the_readers_language_and_local_day(
        client, login, world):
    """A hold made for a booking at 07:00 in Shanghai (23:00 UTC the day before) is dated the
    booking's own day, and an English reader reads the English name."""
    from datetime import time

    from booking.instruments.services import set_opening_hours

    instrument = world["lab"].instrument
    set_opening_hours(instrument, {2: [(time(6), time(18))]}, world["lab"].manager)  # Wed
    db.session.commit()
    assert _api_booking(client, world, start="2026-11-25T07:00:00+08:00",
                        end="2026-11-25T08:00:00+08:00").status_code == 201
    login(world["pi"])
    page = client.get(f"/projects/{world['project'].id}", headers=EN).get_data(as_text=True)
    ledger = page[page.index('id="ledger"'):]
    assert f"{world['lab'].instrument.name_en} 2026-11-25" in ledger
    assert world["lab"].instrument.name_zh not in ledger


def test_a_project_runs_as_long_as_a_grant(client, login, world):
    login(world["pi"])
    client.post(f"/groups/{world['group'].id}/projects", data={
        "number": "NSFC-5Y", "title": "t", "valid_from": "2026-01-01",
        "valid_until": "2030-12-31", "budget": "100.00", "over_budget": "refuse"})
    assert db.session.scalar(select(Project.valid_until).where(Project.number == "NSFC-5Y")) \
        == date(2030, 12, 31)


@pytest.mark.parametrize("change", [
    {"valid_until": "2025-12-31"}, {"budget": "-5"}, {"budget": "abc"}, {"number": ""},
    {"number": "NSFC-22075"},  # taken in this group
    {"over_budget": "maybe"}, {"valid_from": "1800-01-01"}, {"title": "x" * 301},
    {"budget": "12.345"}, {"valid_until": "2037-01-01"},
])
def test_bad_project_input_is_refused_without_a_trace(client, login, world, change):
    login(world["pi"])
    data = {"number": "NEW-2", "title": "t", "valid_from": "2026-01-01",
            "valid_until": "2026-12-31", "budget": "100.00", "over_budget": "refuse", **change}
    response = client.post(f"/groups/{world['group'].id}/projects", data=data,
                           follow_redirects=True)
    page = response.get_data(as_text=True)  # shown again as typed, the field marked
    assert response.status_code == 200 and "is-invalid" in page and "<details open>" in page
    assert len(db.session.scalars(select(Project)).all()) == 1


def test_the_project_statement_has_numbers_and_local_dates(client, login, make, world):
    import io
    from datetime import datetime

    from openpyxl import load_workbook

    project = world["project"]
    invoice = make.issued_invoice(world["lab"].instrument, world["pi"].organisation, 12_345,
                                  datetime(2026, 11, 24, tzinfo=UTC),
                                  customer_user_id=world["student"].id, project_id=project.id)
    services.hold(project, booking_id=7, fee_fen=10_000, instrument_id=world["lab"].instrument.id,
                  category="analytical", description="扫描电镜 2026-11-24")
    services.charge(project.id, invoice_id=invoice.id, amount_fen=12_345, booking_ids=[7],
                    instrument_id=world["lab"].instrument.id, category="analytical",
                    description="DLUT-2026-000003")
    db.session.commit()
    login(world["pi"])
    response = client.get(f"/projects/{project.id}/statement.xlsx", headers=EN)
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Date", "Kind", "Entry details", "Member")
    charged = rows[2]
    assert isinstance(charged[0], datetime) and charged[0].hour == 8  # 00:00 UTC, 08:00 local
    assert charged[8] == 123.45 and charged[10] == 500 - 123.45
    assert charged[7] == "Analytical instruments"  # the category in the reader's language
    assert (rows[0][5], charged[5]) == ("Invoice", invoice.number)  # its number, not its id
    assert charged[3] == "李同学"  # whose use: the invoice's person (a charge names no booking)
    page = client.get(f"/groups/{world['group'].id}", headers=EN).get_data(as_text=True)
    row = page[:page.index("Invoice charged · DLUT-2026-000003")]
    assert row[row.rindex("<tr>"):].count("李同学") == 1  # on the group's spending too
    # a credit back: negative in the download, on the charge's instrument and category
    services.credit(project.id, invoice_id=invoice.id, amount_fen=1_000, description="N-1",
                    charged_invoice_id=invoice.id)
    db.session.commit()
    rows = list(load_workbook(io.BytesIO(client.get(
        f"/projects/{project.id}/statement.xlsx", headers=EN).data)).active.iter_rows(
        values_only=True))
    assert rows[3][1] == "credited" and rows[3][8] == -10 and rows[3][10] == 500 - 113.45
    assert rows[3][6:8] == (world["lab"].instrument.id, "Analytical instruments")
    # the project's page: whose use, and links to the invoices the reader may open
    ledger = client.get(f"/projects/{project.id}", headers=EN).get_data(as_text=True)
    assert ledger.count("李同学") >= 2 and f'href="/invoices/{invoice.id}"' in ledger
    other = make.user(role="student", organisation=world["lab"].organisation)
    db.session.add(GroupMember(group=world["group"], user=other, state="active"))
    db.session.commit()
    login(other)  # a fellow member sees the line, not the other's invoice
    ledger = client.get(f"/projects/{project.id}", headers=EN).get_data(as_text=True)
    assert "李同学" in ledger and f'href="/invoices/{invoice.id}"' not in ledger
    csv = client.get(f"/projects/{project.id}/statement.csv", headers=EN)
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"


SERIES = {"start": "2026-11-24T10:00", "end": "2026-11-24T11:00", "mode": "self_operated",
          "repeat-freq": "weekly", "repeat-interval": "1", "repeat-byweekday": ["TU"],
          "repeat-ends": "count", "repeat-count": "3", "purpose": "weekly XPS"}


def test_the_series_preview_says_a_pi_approved_project_cannot_take_a_series(client, login,
                                                                            world, make):
    """The preview offered "book the free ones" and booking was then refused."""
    login(world["student"])
    url = f"/instruments/{world['lab'].instrument.id}/series.json"
    query = {k: v for k, v in SERIES.items() if k != "purpose"}
    charged = client.get(url, query_string={**query, "project": world["project"].id},
                         headers=EN).get_json()
    assert charged["free"] == 3
    assert [p["code"] for p in charged["problems"]] == ["series_needs_pi"]
    assert client.get(url, query_string=query, headers=EN).get_json()["problems"] == []
    other = create_project(create_group(make.user(organisation=world["lab"].organisation),
                                        approval_mode="always"), number="G-OTHER")
    foreign = client.get(url, query_string={**query, "project": other.id}).get_json()
    assert foreign["problems"] == []  # a project the student may not charge is not asked


def test_a_series_charged_to_a_project_holds_each_date_or_is_refused(client, login, world):
    login(world["student"])
    url = f"/instruments/{world['lab'].instrument.id}/book/series"
    project = world["project"]
    # the group's PI approves every request: a series cannot be asked date by date
    refused = client.post(url, data={**SERIES, "project": project.id}, headers=EN,
                          follow_redirects=True).get_data(as_text=True)
    assert "book these dates one by one" in refused
    assert db.session.scalar(select(Booking)) is None
    world["group"].approval_mode = "none"
    db.session.commit()
    client.post(url, data={**SERIES, "project": project.id})
    made = db.session.scalars(select(Booking)).all()
    assert len(made) == 3 and {b.project_id for b in made} == {project.id}
    assert services.budget_of(project).held_fen == 30_000
    too_much = client.post(url, headers=EN, follow_redirects=True, data={
        **SERIES, "start": "2026-11-25T10:00", "end": "2026-11-25T13:00",
        "repeat-byweekday": ["WE"], "project": project.id})
    assert len(db.session.scalars(select(Booking)).all()) == 3  # 3 × 300 元 > 200 元 left
    assert "alert-danger" in too_much.get_data(as_text=True)
    client.post(url, data={**SERIES, "start": "2026-11-26T10:00", "end": "2026-11-26T11:00",
                           "repeat-byweekday": ["TH"], "project": "0"})
    assert len(db.session.scalars(select(Booking).where(Booking.project_id.is_(None))).all()) == 3


def test_a_limit_names_no_instrument_its_pi_may_not_see(client, login, make, world):
    """Set by number or by exact name, an instrument hidden from the PI (another institution's,
    not listed) is "no such instrument", as it is in the suggestions; one of the PI's own
    institution, unlisted, can be limited."""
    from booking.groups.models import ProjectLimit

    hidden = make.instrument(name_zh="保密设备甲", name_en="Secret one", is_public=False)
    own = make.instrument(organisation=world["lab"].organisation, name_zh="内部设备乙",
                          is_public=False)
    login(world["pi"])
    url = f"/projects/{world['project'].id}/limits"
    for text in (f"#{hidden.id}", "保密设备甲", "secret one"):
        page = client.post(url, data={"instrument": text, "limit": "1"}, headers=EN)
        assert "No instrument has that name or number" in page.get_data(as_text=True)
    assert db.session.scalar(select(ProjectLimit)) is None
    client.post(url, data={"instrument": f"#{own.id}", "limit": "1"})
    assert [limit.instrument_id for limit in world["project"].limits] == [own.id]


def test_a_member_is_offered_only_the_projects_they_may_settle_from(client, login, make,
                                                                     world):
    """Reported: a student was offered 内部转账结算 from a project whose PI approves every
    charge, and was refused only once they had tried."""
    from datetime import datetime

    invoice = make.issued_invoice(world["lab"].instrument, world["lab"].organisation, 10_000,
                                  datetime(2026, 11, 20, tzinfo=UTC),
                                  customer_user_id=world["student"].id)
    login(world["student"])
    page = client.get(f"/invoices/{invoice.id}", headers=EN).get_data(as_text=True)
    assert 'id="settle-refusals"' in page and world["project"].number in page
    assert "needs the approval of the project&#39;s PI" in page
    assert f'action="/invoices/{invoice.id}/settle-internal"' not in page
    assert "ask your PI to add you" not in page
    login(make.user(role="finance", organisation=world["lab"].organisation))
    page = client.get(f"/invoices/{invoice.id}", headers=EN).get_data(as_text=True)
    assert 'id="office-settle-form"' in page and 'id="settle-refusals"' not in page


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_statement_downloads_whatever_the_project_s_number(client, login, world, fmt):
    """Reported: the statement of project 横向2026-003 never arrived (its number went into
    the download's header as such, which carries Latin-1 only); so did 横向"项目"\\2026's."""
    from urllib.parse import quote

    project = world["project"]
    project.number = '横向"项目"\\2026'
    db.session.commit()
    login(world["pi"])
    response = client.get(f"/projects/{project.id}/statement.{fmt}")
    assert response.status_code == 200 and response.data
    disposition = response.headers["Content-Disposition"]
    assert 'filename="project-_______2026.' in disposition
    assert f"filename*=UTF-8''{quote(f'project-{project.number}.{fmt}', safe='')}" in disposition


def test_a_budget_of_nothing_is_told_its_range_not_that_it_is_missing(client, login, world):
    """Reported: a budget of 0 (and a credit of 0) said 'this field is required'."""
    login(world["pi"])
    page = client.post(f"/groups/{world['group'].id}/projects", headers={"Accept-Language": "en"},
                       data={"number": "NEW-0", "title": "t", "valid_from": "2026-01-01",
                             "valid_until": "2026-12-31", "budget": "0",
                             "over_budget": "refuse"}, follow_redirects=True).get_data(as_text=True)
    assert "Number must be between 0.01 and" in page and "This field is required" not in page


def test_the_pi_tops_up_corrects_and_closes_a_project(client, login, make, world):
    """Reported: a project could not be changed after it was made (no top-up, a typo in its
    dates for good) nor closed: junk projects stayed in every member's list."""
    from booking.core.audit import AuditEvent
    from booking.groups.services import chargeable_projects

    project, student = world["project"], world["student"]
    url = f"/projects/{project.id}"
    data = {"number": project.number, "title": "新的题目", "funder": "国家自然科学基金",
            "valid_from": "2026-01-01", "valid_until": "2027-12-31", "budget": "80000.00",
            "over_budget": "pi"}
    login(student)  # a member may read the project, not change it
    assert client.post(f"{url}/edit", data=data).status_code == 403
    assert client.post(f"{url}/close").status_code == 403
    login(world["pi"])
    page = client.get(url).get_data(as_text=True)
    assert 'id="project-edit-form"' in page and f'value="{project.number}"' in page
    assert client.post(f"{url}/edit", data=data).status_code == 302
    assert (project.title, project.budget_fen, project.over_budget) == ("新的题目", 8_000_000, "pi")
    assert str(project.valid_until) == "2027-12-31"
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "project.updated")) is not None
    # never below what it has spent
    services.charge(project.id, invoice_id=make.issued_invoice(
        world["lab"].instrument, world["pi"].organisation, 5_000, None).id, amount_fen=5_000,
        booking_ids=[], instrument_id=None, category="", description="x")
    db.session.commit()
    low = client.post(f"{url}/edit", data={**data, "budget": "10.00"}, headers=EN)
    assert low.status_code == 422 and "less than what the project has spent (¥50.00)" in \
        low.get_data(as_text=True) and project.budget_fen == 8_000_000
    assert client.post(f"{url}/close").status_code == 302 and project.active is False
    assert project not in chargeable_projects(student)  # off the booking form's list
    assert 'id="project-closed"' in client.get(url).get_data(as_text=True)
    assert client.post(f"{url}/reopen").status_code == 302 and project.active is True


def test_removing_a_member_says_what_stays_charged_to_the_group(client, login, world):
    """Reported: a removed member's three bookings stayed charged to the group's project
    (¥375 held) and the PI was told nothing."""
    from booking.core.money import format_cny
    from booking.groups.models import GroupMember

    assert _api_booking(client, world, purpose="XPS").status_code == 201
    held = services.budget_of(world["project"]).held_fen
    member = db.session.scalar(select(GroupMember).where(
        GroupMember.user_id == world["student"].id))
    login(world["pi"])
    page = client.post(f"/groups/members/{member.id}/remove", follow_redirects=True,
                       headers=EN).get_data(as_text=True)
    assert "李同学&#39;s 1 open booking stays charged to the group&#39;s projects" in page
    assert format_cny(held) in page
