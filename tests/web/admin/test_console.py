"""The console: organisations and people, with the denials."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.accounts.models import Organisation, User
from booking.accounts.rules import make_credit_code
from booking.core.audit import AuditEvent
from booking.core.clock import now_utc
from booking.extensions import db
from tests.web.matrix import audit_actions

EN = {"Accept-Language": "en"}
CODE = make_credit_code("12210000MB7654321")


def _org_form(**over):
    return {"kind": "university", "name_zh": "渤海理工大学", "name_en": "Bohai Tech University",
            "credit_code": CODE, "city": "大连", "region_code": "", "short_code": "BHTU",
            **over}


@pytest.mark.parametrize("role,status", [
    ("member", 403), ("student", 403), ("lab_manager", 403), ("finance", 403),
    ("bureau_staff", 200), ("admin", 200)])
def test_console_pages_by_role(client, make, login, role, status):
    login(make.user(role=role))
    for path in ("/admin/organisations", "/admin/organisations/new", "/admin/users",
                 "/admin/users/invite"):
        assert client.get(path).status_code == status, path


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/organisations")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_creates_and_edits_a_university(client, make, login):
    login(make.user(role="admin"))
    response = client.post("/admin/organisations/new", data=_org_form())
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.credit_code == CODE))
    assert (org.kind, org.region_code, org.verified, org.name_en) == (
        "university", "2102", True, "Bohai Tech University")
    response = client.post(f"/admin/organisations/{org.id}/edit",
                           data=_org_form(name_en="Bohai University of Technology"))
    assert response.status_code == 302 and org.name_en == "Bohai University of Technology"
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "organisation.updated")).one()
    assert event.data["before"] == {"name_en": "Bohai Tech University"}


def test_bad_credit_code_and_duplicates_are_refused_on_the_form(client, make, login):
    login(make.user(role="bureau_staff", locale="en"))
    page = client.post("/admin/organisations/new", data=_org_form(credit_code="123"),
                       headers=EN).get_data(as_text=True)
    assert "Invalid unified social credit code" in page
    existing = make.organisation()
    page = client.post("/admin/organisations/new",
                       data=_org_form(credit_code=existing.credit_code), headers=EN)
    assert page.status_code == 200
    assert "already exists" in page.get_data(as_text=True)
    page = client.post("/admin/organisations/new", data=_org_form(city="Springfield"),
                       headers=EN).get_data(as_text=True)
    assert "Region code must be" in page


def test_member_cannot_create_or_deactivate(client, make, login):
    org = make.organisation()
    login(make.user(role="lab_manager", organisation=org))
    assert client.post("/admin/organisations/new", data=_org_form()).status_code == 403
    assert client.post(f"/admin/organisations/{org.id}/deactivate",
                       data={"reason": "x"}).status_code == 403
    assert org.active


def test_deactivating_an_organisation_deactivates_its_people_and_cancels_bookings(
        client, make, login):
    lab = make.instrument()
    org = make.organisation()
    booker = make.user(organisation=org)
    start = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    booking = make.placed_booking(lab, booker, start)
    login(make.user(role="admin"))
    response = client.post(f"/admin/organisations/{org.id}/deactivate",
                           data={"reason": "merged into another university"})
    assert response.status_code == 302
    assert not org.active and not booker.active and booking.state == "cancelled"
    # re-activated, it is told who stays deactivated, and shown them to choose who returns
    again = client.post(f"/admin/organisations/{org.id}/activate")
    assert org.active and not booker.active
    assert again.headers["Location"].endswith(f"/admin/users?org={org.id}&state=inactive")
    listed = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "该机构有 1 人仍处于停用状态" in listed and f"/admin/users/{booker.id}/reactivate" in listed


def test_cities_are_kept_in_one_spelling_and_ones_own_organisation_has_no_deactivate(
        client, make, login):
    bureau = make.organisation(kind="bureau")
    login(make.user(role="admin", organisation=bureau))
    client.post("/admin/organisations/new", data={
        "kind": "university", "name_zh": "大连测试大学", "name_en": "", "credit_code":
        "12210000MB0000001J", "city": "大连市", "region_code": ""})
    made = db.session.scalar(select(Organisation).where(Organisation.name_zh == "大连测试大学"))
    assert (made.city, made.region_code) == ("大连", "2102")
    page = client.get("/admin/organisations").get_data(as_text=True)
    assert f"/admin/organisations/{bureau.id}/deactivate" not in page
    assert f"/admin/organisations/{made.id}/deactivate" in page


def test_a_deactivated_organisations_instruments_leave_the_directory(client, make, login):
    provider = make.organisation(name_zh="撤销测试大学")
    listed = make.instrument(organisation=provider, name_zh="待撤下的电镜")
    assert listed.is_listed
    login(make.user(role="admin"))
    client.post(f"/admin/organisations/{provider.id}/deactivate", data={"reason": "closed"})
    assert not listed.is_public
    assert "instrument.withdrawn" in audit_actions(listed)
    client.post("/logout")
    assert "待撤下的电镜" not in client.get("/").get_data(as_text=True)
    assert client.get(f"/instruments/{listed.id}").status_code == 404


def test_invite_creates_an_account_and_mails_a_link(client, make, login):
    org = make.organisation()
    login(make.user(role="admin"))
    response = client.post("/admin/users/invite", data={
        "email": "New.Manager@bhtu.edu.cn", "name": "王老师", "organisation": org.id,
        "roles": ["lab_manager"], "locale": "zh_CN"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.manager@bhtu.edu.cn"))
    assert user.has_role("lab_manager", org.id)
    from booking.core.notifications import OutboxMessage

    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == user.email)).one()
    assert "/reset-password/" in message.body


def test_an_invitee_is_not_signed_in_yet_until_they_are(client, make, login):
    import re

    from freezegun import freeze_time

    from booking.core.notifications import OutboxMessage

    def links():
        return [re.search(r"(/reset-password/[^ ]+?) ", m.body).group(1)
                for m in db.session.scalars(select(OutboxMessage).where(
                    OutboxMessage.recipient == "li@bhtu.edu.cn").order_by(OutboxMessage.id))]

    org = make.organisation()
    with freeze_time("2026-12-01 02:00:00"):
        admin = login(make.user(role="admin"))
        client.post("/admin/users/invite", data={
            "email": "li@bhtu.edu.cn", "name": "李老师", "organisation": org.id,
            "roles": ["lab_manager"], "locale": "zh_CN"})
    invitee = db.session.scalar(select(User).where(User.email == "li@bhtu.edu.cn"))
    with freeze_time("2026-12-09 02:00:00"):  # eight days on: the first link has lapsed
        login(admin)
        row = _row(client.get("/admin/users?q=li@bhtu").get_data(as_text=True), invitee)
        assert "尚未登录" in row and "resend-invitation" in row and ">有效<" not in row
        client.post(f"/admin/users/{invitee.id}/resend-invitation", data={})
        first, second = links()
        client.post("/logout")
        assert client.get(first).status_code == 302  # lapsed: to "forgot password"
        response = client.post(second, data={"password": "a-new-pass-2026",
                                             "confirm": "a-new-pass-2026"}, follow_redirects=True)
        assert "欢迎，李老师：密码已设置。" in response.get_data(as_text=True)  # and signed in
        assert client.get("/profile").status_code == 200
        login(admin)
        row = _row(client.get("/admin/users?q=li@bhtu").get_data(as_text=True), invitee)
        assert "尚未登录" not in row and "resend-invitation" not in row
        client.post(f"/admin/users/{invitee.id}/resend-invitation", data={})
        assert len(links()) == 2  # signed in: nothing more to send


def test_an_invitation_welcomes_signs_in_and_a_second_link_says_the_password_is_set(
        client, make, login):
    """Reported: the invitee's page was a bare "choose a new password"; once set they were
    sent to log in with an empty form; and the other link of a resent invitation said "this
    reset link is invalid" to someone who never asked for a reset."""
    import re

    from booking.core.notifications import OutboxMessage

    org = make.organisation(name_zh="大连大学")
    login(make.user(role="admin"))
    client.post("/admin/users/invite", data={
        "email": "wang.lei@dlu.edu.cn", "name": "王磊", "organisation": org.id,
        "roles": ["lab_manager", "finance"], "locale": "zh_CN"})
    invitee = db.session.scalar(select(User).where(User.email == "wang.lei@dlu.edu.cn"))
    client.post(f"/admin/users/{invitee.id}/resend-invitation", data={})
    first, second = [re.search(r"(/reset-password/[^ ]+?) ", m.body).group(1)
                     for m in db.session.scalars(select(OutboxMessage).where(
                         OutboxMessage.recipient == invitee.email).order_by(OutboxMessage.id))]
    mail = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == invitee.email)).first()
    assert "角色：财务、实验室管理员" in mail.body  # what they were made
    client.post("/logout")

    page = client.get(first).get_data(as_text=True)
    assert "欢迎，王磊" in page and "您在 大连大学 的账号已开通" in page
    assert "至少 10 个字符，且不能与电子邮箱相同。" in page  # the rule before a failed try
    weak = client.post(first, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 200 and "密码强度不足" in weak.get_data(as_text=True)
    welcomed = client.post(first, data={"password": "a-new-pass-2026",
                                        "confirm": "a-new-pass-2026"}, follow_redirects=True)
    assert "欢迎，王磊：密码已设置。" in welcomed.get_data(as_text=True)
    assert client.get("/profile").status_code == 200  # signed in
    db.session.refresh(invitee)
    assert invitee.last_login_at is not None and invitee.email_confirmed

    client.post("/logout")
    again = client.get(second)
    assert again.status_code == 302 and again.location.endswith("/login?email=wang.lei@dlu.edu.cn")
    login_page = client.get(again.location).get_data(as_text=True)
    assert "您已设置过密码：请用它登录" in login_page
    assert 'value="wang.lei@dlu.edu.cn"' in login_page


def test_only_who_may_manage_an_account_resends_its_invitation(client, make, login):
    org = make.organisation()
    invitee = make.user(organisation=org, role="lab_manager")
    login(make.user(role="lab_manager", organisation=make.organisation()))
    assert client.post(f"/admin/users/{invitee.id}/resend-invitation").status_code == 403


def _row(page: str, user) -> str:
    return page.split(f'id="user-{user.id}"', 1)[1].split("</tr>", 1)[0]


def test_inviting_from_an_organisations_people_proposes_it(client, make, login):
    org = make.organisation()
    login(make.user(role="admin"))
    people = client.get(f"/admin/users?org={org.id}").get_data(as_text=True)
    assert f'href="/admin/users/invite?org={org.id}" id="invite-user"' in people
    page = client.get(f"/admin/users/invite?org={org.id}").get_data(as_text=True)
    assert f'<option selected value="{org.id}">' in page


def test_bureau_staff_cannot_grant_admin(client, make, login):
    org = make.organisation()
    login(make.user(role="bureau_staff", organisation=make.organisation(kind="bureau")))
    response = client.post("/admin/users/invite", data={
        "email": "x@bhtu.edu.cn", "name": "x", "organisation": org.id, "roles": ["admin"],
        "locale": "en"})
    assert response.status_code == 200
    assert db.session.scalar(select(User).where(User.email == "x@bhtu.edu.cn")) is None
    target = make.user(organisation=org)
    client.post(f"/admin/users/{target.id}/roles", data={"roles": ["member", "admin"]})
    assert not target.is_admin
    # the bureau's roles only go to the bureau's people: a university's member who could
    # decide vouchers could approve their own organisation's
    client.post(f"/admin/users/{target.id}/roles", data={"roles": ["member", "bureau_staff"]})
    assert not target.has_role("bureau_staff")
    colleague = make.user(organisation=make.organisation(kind="bureau"))
    client.post(f"/admin/users/{colleague.id}/roles", data={"roles": ["member", "bureau_staff"]})
    assert colleague.has_role("bureau_staff")


def test_the_bureaus_roles_are_for_members_of_a_bureau_only(app, client, make, login):
    sme = make.user(organisation=make.enterprise())
    login(make.user(role="admin"))
    page = client.get(f"/admin/users?q={sme.email}").get_data(as_text=True)
    assert 'name="roles" value="lab_manager"' in page
    assert 'name="roles" value="bureau_staff"' not in page
    client.post(f"/admin/users/{sme.id}/roles", data={"roles": ["member", "bureau_staff"]})
    client.post(f"/admin/users/{sme.id}/roles", data={"roles": ["member", "admin"]})
    db.session.expire_all()
    assert sme.role_names() == ["member"] and not sme.is_bureau
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", "ops@sme.cn", "--password", "a-long-pass-2026",
        "--role", "bureau_staff", "--org", str(sme.organisation_id)])
    assert result.exit_code != 0 and "bureau only" in result.output


def test_role_refusals_say_the_real_reason(client, make, login):
    """Reported: bureau staff saving their own roles unchanged read "you cannot remove your
    own manager role" (they never had it); an admin inviting an admin into a university read
    "you may not grant these roles" (they may: not to a university's member)."""
    bureau = make.organisation(kind="bureau")
    staff = make.user(role="bureau_staff", organisation=bureau)
    login(staff)
    saved = client.post(f"/admin/users/{staff.id}/roles", data={"roles": ["bureau_staff"]},
                        follow_redirects=True).get_data(as_text=True)
    assert "不能撤销您自己的" not in saved and staff.has_role("bureau_staff")
    client.post("/logout")
    login(make.user(role="admin", organisation=bureau))
    page = client.post("/admin/users/invite", data={
        "email": "y@bhtu.edu.cn", "name": "y", "organisation": make.organisation().id,
        "roles": ["admin"], "locale": "en"}).get_data(as_text=True)
    assert "管理员和科技局职员角色仅限科技局人员。" in page


def test_bureau_staff_cannot_deactivate_or_demote_an_admin(client, make, login):
    admin = make.user(role="admin")
    make.user(role="admin")
    login(make.user(role="bureau_staff"))
    assert client.post(f"/admin/users/{admin.id}/deactivate",
                       data={"reason": "x"}).status_code == 403
    client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["member"]})
    assert admin.active and admin.is_admin
    page = client.get(f"/admin/users?q={admin.email}").get_data(as_text=True)
    assert f"/admin/users/{admin.id}/deactivate" not in page  # no button that would be refused


def test_bureau_staff_cannot_revive_an_admin_someone_deactivated(client, make, login):
    from booking.accounts.deactivation import deactivate_user

    admin = make.user(role="admin")
    make.user(role="admin")
    deactivate_user(admin, actor=None, reason="left")
    login(make.user(role="bureau_staff"))
    assert client.post(f"/admin/users/{admin.id}/reactivate").status_code == 403
    assert not admin.active
    assert f"/admin/users/{admin.id}/reactivate" not in client.get(
        f"/admin/users?q={admin.email}&state=inactive").get_data(as_text=True)


def test_the_last_admin_keeps_the_role(client, make, login):
    for user in db.session.scalars(select(User)):  # only the admins made here count
        user.active = not user.is_admin and user.active
    admin = make.user(role="admin")
    login(admin)
    other = make.user(role="admin")
    client.post(f"/admin/users/{other.id}/roles", data={"roles": ["member"]})
    assert not other.is_admin  # another admin remains: fine
    client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["member"]}, headers=EN)
    assert admin.is_admin


def test_an_invited_admin_who_never_signed_in_does_not_let_the_last_one_go(client, make,
                                                                         login):
    """Reported: an admin invited a second admin, then removed their own role before the
    invitation was used (the link lapses in a week): nobody could administer any more."""
    for user in db.session.scalars(select(User)):
        user.active = not user.is_admin and user.active
    admin = make.user(role="admin")
    db.session.commit()
    login(admin)
    client.post("/admin/users/invite", data={
        "email": "second.admin@example.cn", "name": "二号管理员", "organisation":
        admin.organisation_id, "roles": ["admin"], "locale": "zh_CN"})
    invitee = db.session.scalar(select(User).where(User.email == "second.admin@example.cn"))
    assert invitee.is_admin and invitee.invited_at is not None
    refused = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["member"]},
                          headers=EN, follow_redirects=True)
    assert "最后一位在岗管理员必须保留管理员角色。" in refused.get_data(as_text=True)
    assert admin.is_admin
    invitee.last_login_at = invitee.invited_at  # the invitation used: now there are two
    db.session.commit()
    client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["member"]})
    assert not admin.is_admin


def test_a_person_a_lab_registered_at_its_desk_may_be_sent_the_link_again(make):
    from booking.admin.services import awaits_first_sign_in
    from booking.bookings.on_behalf import register_walk_in

    org = make.organisation()
    walk_in = register_walk_in(name="来访者", email="walk.in@example.cn", organisation=org,
                               actor=make.user(role="lab_manager", organisation=org))
    assert awaits_first_sign_in(walk_in)


def test_an_account_made_with_a_password_awaits_no_invitation(app, make):
    """Reported: users made on the command line with a password were listed as not signed in
    yet, with a button to send an invitation they never had."""
    from booking.admin.services import awaits_first_sign_in

    org = make.organisation()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", "cli.user@example.cn", "--name", "命令行用户", "--password",
        "a-long-password-2026", "--org", org.credit_code, "--role", "member"])
    assert result.exit_code == 0, result.output
    made = db.session.scalar(select(User).where(User.email == "cli.user@example.cn"))
    assert made.invited_at is None and not awaits_first_sign_in(made)


def test_deactivated_user_cannot_log_in_or_use_tokens_and_can_be_reactivated(
        client, make, login, api_token):
    from booking.core.notifications import OutboxMessage

    user = make.user(locale="en")
    start = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    future = make.placed_booking(make.instrument(), user, start)
    past = make.placed_booking(make.instrument(), user, start - timedelta(days=5),
                               state="completed")
    headers = api_token(user)
    assert client.get("/api/v1/bookings?mine=1", headers=headers).status_code == 200
    login(make.user(role="admin"))
    assert client.post(f"/admin/users/{user.id}/deactivate",
                       data={"reason": "left the lab"}).status_code == 302
    assert not user.active and future.state == "cancelled" and past.state == "completed"
    notice = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == user.email)).all()[-1]
    assert "account deactivated" in notice.subject and "left the lab" in notice.body
    assert client.get("/api/v1/bookings?mine=1", headers=headers).status_code == 401
    client.post("/logout")
    response = client.post("/login", data={"email": user.email, "password": make.PASSWORD})
    assert response.status_code == 200  # the form again, not a redirect
    login(make.user(role="admin"))
    client.post(f"/admin/users/{user.id}/reactivate")
    assert user.active


def test_a_session_ends_when_its_user_is_deactivated(client, make, login):
    from booking.accounts.deactivation import deactivate_user

    user = make.user()
    login(user)
    assert client.get("/profile").status_code == 200
    deactivate_user(user, actor=None, reason="test")
    db.session.commit()
    assert client.get("/profile").status_code == 302


def test_users_list_searches(client, make, login):
    org = make.organisation(name_zh="渤海理工大学")
    make.user(organisation=org, email="findme@bhtu.edu.cn")
    login(make.user(role="admin"))
    page = client.get("/admin/users?q=findme").get_data(as_text=True)
    assert "findme@bhtu.edu.cn" in page
    assert client.get("/admin/users?role=nonsense").status_code == 400


def test_deactivating_an_organisation_cancels_the_bookings_on_its_instruments(client, make,
                                                                            login):
    """Reported: others' bookings on a deactivated institution's instruments stayed approved,
    their bookers untold; a member could be revived and list the instrument again."""
    from booking.core.notifications import OutboxMessage

    provider = make.organisation(name_zh="撤销测试学院")
    instrument = make.instrument(organisation=provider)
    manager = make.user(role="lab_manager", organisation=provider)
    outsider = make.user(locale="en")
    start = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    theirs = [make.placed_booking(instrument, outsider, start + timedelta(hours=h))
              for h in (0, 2)]
    login(make.user(role="admin"))
    page = client.post(f"/admin/organisations/{provider.id}/deactivate",
                       data={"reason": "merged"}, follow_redirects=True).get_data(as_text=True)
    assert all(b.state == "cancelled" for b in theirs) and "2 " in page
    told = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == outsider.email)).all()
    assert len(told) == 1 and "merged" in told[0].body  # one notice, both bookings listed
    assert told[0].body.count("·") == 2
    response = client.post(f"/admin/users/{manager.id}/reactivate", follow_redirects=True)
    assert not manager.active and "撤销测试学院" in response.get_data(as_text=True)


def test_a_deactivated_user_is_told_once_of_all_their_cancelled_bookings(client, make, login):
    from booking.core.notifications import OutboxMessage

    user = make.user()
    start = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for hours in (0, 2, 4):
        make.placed_booking(make.instrument(), user, start + timedelta(hours=hours))
    login(make.user(role="admin"))
    client.post(f"/admin/users/{user.id}/deactivate", data={"reason": "毕业离校"})
    told = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == user.email)).all()
    assert len(told) == 1 and told[0].body.count("·") == 3 and "毕业离校" in told[0].body


def test_a_deactivated_institutions_instrument_is_not_listed_again(make):
    import pytest as _pytest

    from booking.admin import services as console
    from booking.instruments import services as catalogue

    provider = make.organisation()
    instrument = make.instrument(organisation=provider)
    admin = make.user(role="admin")
    console.set_organisation_active(provider, False, admin, "closed")
    assert not instrument.is_public
    with _pytest.raises(catalogue.CatalogueError) as refused:
        catalogue.update_instrument(instrument, {"is_public": True}, admin)
    assert refused.value.code == "organisation_inactive" and not instrument.is_public


def test_the_bureau_stays_the_bureau(make):
    """Reported: the bureau's own organisation could be edited into an enterprise, its people
    keeping the admin and bureau roles."""
    import pytest as _pytest

    from booking.admin import services as console

    admin = make.user(role="admin")
    bureau = admin.organisation
    assert bureau.kind == "bureau"
    with _pytest.raises(console.ConsoleError):
        console.update_organisation(bureau, {"kind": "enterprise"}, admin)
    university = make.organisation()
    with _pytest.raises(console.ConsoleError):
        console.update_organisation(university, {"kind": "bureau"}, admin)
    assert (bureau.kind, university.kind) == ("bureau", "university")
    console.update_organisation(university, {"kind": "institute"}, admin)  # others may change
    assert university.kind == "institute"


def test_the_tokens_page_shows_the_header_to_send(client, make, login):
    login(make.user(locale="en"))
    assert "Authorization: Bearer &lt;token&gt;" in client.get("/tokens").get_data(as_text=True)
