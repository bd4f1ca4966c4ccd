"""Who may open what: the denials, not only the happy path."""
import pytest

from booking.extensions import db


@pytest.mark.parametrize("role,status", [
    ("member", 403), ("student", 403), ("lab_manager", 403), ("finance", 403),
    ("bureau_staff", 200), ("admin", 200),
])
def test_organisation_verification_needs_bureau_role(client, make, login, role, status):
    login(make.user(role=role))
    assert client.get("/organisations").status_code == status


def test_member_cannot_verify_an_enterprise(client, make, login):
    pending = make.organisation(kind="enterprise", verified=False)
    login(make.user(role="member"))
    assert client.post(f"/organisations/{pending.id}/verify").status_code == 403
    db.session.refresh(pending)
    assert not pending.verified


def test_bureau_staff_verifies_an_enterprise(client, make, login):
    pending = make.organisation(kind="enterprise", verified=False)
    login(make.user(role="bureau_staff"))
    assert client.post(f"/organisations/{pending.id}/verify").status_code == 302
    db.session.refresh(pending)
    assert pending.verified


def test_manager_sees_own_members_but_not_another_organisations(client, make, login):
    mine, theirs = make.organisation(), make.organisation()
    newcomer = make.user(organisation=mine, confirmed=False)
    outsider = make.user(organisation=theirs, confirmed=False)
    login(make.user(role="lab_manager", organisation=mine))
    page = client.get(f"/organisations/{mine.id}/members").get_data(as_text=True)
    assert newcomer.email in page
    # how colleagues join, with the link to send them (from the site's address, not the request)
    assert 'id="how-to-join"' in page and \
        f'id="join-url">{client.application.config["PUBLIC_BASE_URL"]}/register/join<' in page
    assert client.get(f"/organisations/{theirs.id}/members").status_code == 403
    assert client.post(f"/organisations/{theirs.id}/members/{outsider.id}/confirm"
                       ).status_code == 403
    assert client.post(f"/organisations/{mine.id}/members/{outsider.id}/confirm"
                       ).status_code == 404
    assert client.post(f"/organisations/{mine.id}/members/{newcomer.id}/confirm"
                       ).status_code == 302
    assert newcomer.membership_confirmed and not outsider.membership_confirmed


def test_plain_member_cannot_list_members(client, make, login):
    user = make.user(role="member")
    login(user)
    assert client.get(f"/organisations/{user.organisation_id}/members").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/organisations")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_manager_appoints_a_lab_manager_in_own_organisation(client, make, login):
    org = make.organisation()
    member = make.user(organisation=org)
    login(make.user(role="lab_manager", organisation=org))
    response = client.post(f"/organisations/{org.id}/members/{member.id}/roles",
                           data={"roles": ["member", "lab_manager"]})
    assert response.status_code == 302
    assert member.role_names() == ["lab_manager", "member"]


@pytest.mark.parametrize("roles", [["bureau_staff"], ["admin"], []])
def test_manager_cannot_grant_bureau_or_admin_or_empty(client, make, login, roles):
    org = make.organisation()
    member = make.user(organisation=org)
    login(make.user(role="lab_manager", organisation=org))
    client.post(f"/organisations/{org.id}/members/{member.id}/roles", data={"roles": roles})
    db.session.refresh(member)
    assert member.role_names() == ["member"]


def test_a_manager_does_not_grant_themselves_a_role(client, make, login):
    """Reported: a lab manager made themselves finance too (who bills then records payment)."""
    org = make.organisation()
    manager = login(make.user(role="lab_manager", organisation=org))
    page = client.post(f"/organisations/{org.id}/members/{manager.id}/roles",
                       data={"roles": ["lab_manager", "finance"]}, follow_redirects=True)
    assert "新角色须由他人授予" in page.get_data(as_text=True)
    db.session.refresh(manager)
    assert manager.role_names() == ["lab_manager"]
    other = make.user(role="lab_manager", organisation=org)  # a colleague may
    client.post("/logout")
    login(other)
    client.post(f"/organisations/{org.id}/members/{manager.id}/roles",
                data={"roles": ["lab_manager", "finance"]})
    db.session.refresh(manager)
    assert manager.role_names() == ["finance", "lab_manager"]


def test_roles_of_another_organisation_cannot_be_changed(client, make, login):
    other = make.organisation()
    outsider = make.user(organisation=other)
    login(make.user(role="lab_manager"))
    assert client.post(f"/organisations/{other.id}/members/{outsider.id}/roles",
                       data={"roles": ["lab_manager"]}).status_code == 403
    assert outsider.role_names() == ["member"]


def test_admin_grants_bureau_role(client, make, login):
    bureau = make.organisation(kind="bureau")
    person = make.user(organisation=bureau)
    login(make.user(role="admin"))
    client.post(f"/organisations/{bureau.id}/members/{person.id}/roles",
                data={"roles": ["bureau_staff"]})
    assert person.role_names() == ["bureau_staff"]
