import re

import pytest
from sqlalchemy import func, select

from booking.accounts.models import Organisation, User
from booking.accounts.rules import make_credit_code
from booking.core.audit import AuditEvent
from booking.extensions import db, limiter


def test_login_with_right_password_then_logout(client, make):
    user = make.user()
    response = client.post("/login", data={"email": user.email.upper(),
                                           "password": make.PASSWORD, "remember": "y"})
    assert response.status_code == 302
    assert "remember_token" in response.headers.get("Set-Cookie", "") or any(
        "remember_token" in h for h in response.headers.getlist("Set-Cookie"))
    page = client.get("/profile").get_data(as_text=True)
    assert user.email in page
    assert client.post("/logout").status_code == 302
    assert client.get("/profile").status_code == 302  # back to login


def test_a_copy_of_the_session_cookie_ends_with_logging_out(app, client, make):
    """Reported: a session cookie copied before logging out still opened /profile after it."""
    user = make.user()
    client.post("/login", data={"email": user.email, "password": make.PASSWORD,
                                "remember": "y"})
    kept = {cookie.key: cookie.value for cookie in client._cookies.values()}
    assert client.get("/profile").status_code == 200
    client.post("/logout")
    thief = app.test_client()
    for key, value in kept.items():
        thief.set_cookie(key, value)
    assert thief.get("/profile").status_code == 302  # to the login page
    again = app.test_client()  # signing in anew works as before
    again.post("/login", data={"email": user.email, "password": make.PASSWORD})
    assert again.get("/profile").status_code == 200


def test_wrong_password_says_so_and_is_audited(client, make):
    user = make.user()
    response = client.post("/login", data={"email": user.email, "password": "nope-nope-nope"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "Wrong e-mail or password." in response.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login.failed"))


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x",
                                    "https://evil.example/x"])
def test_login_redirect_refuses_other_sites(client, make, target):
    user = make.user()
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": make.PASSWORD})
    assert response.headers["Location"] == "/"


def test_failed_logins_are_rate_limited(app, client, make):
    user = make.user()
    app.config["LOGIN_RATE_LIMIT"] = "10 per minute"
    limiter.reset()
    try:
        codes = [client.post("/login", data={"email": user.email, "password": "wrong-guess-1"},
                             headers={"Accept-Language": "en"}).status_code
                 for _ in range(12)]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
        limiter.reset()
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]


def test_probing_addresses_by_registering_is_rate_limited(app, client, make):
    taken = [make.user().email for _ in range(12)]
    app.config["LOGIN_RATE_LIMIT"] = "10 per minute"
    limiter.reset()
    try:
        codes = [client.post(path, data={"email": email, "password": "x"}).status_code
                 for path in ("/register/join", "/register/enterprise") for email in taken[:6]]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
        limiter.reset()
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]


def test_cookies_are_httponly_and_samesite(client, make):
    user = make.user()
    response = client.post("/login", data={"email": user.email, "password": make.PASSWORD})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_missing_csrf_token_is_a_clear_400(app, client, make):
    user = make.user()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"email": user.email, "password": make.PASSWORD},
                               headers={"Accept-Language": "en"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)


def test_join_registration_with_duplicate_email_shows_field_error(client, make):
    user = make.user()
    response = client.post("/register/join", headers={"Accept-Language": "en"}, data={
        "organisation_id": user.organisation_id, "name": "X", "email": user.email,
        "password": "correct-horse-42", "confirm": "correct-horse-42", "locale": "en"})
    assert response.status_code == 200
    assert "already registered" in response.get_data(as_text=True)


def test_the_join_form_takes_no_institution_unasked(client, make):
    make.organisation()
    page = client.get("/register/join", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    assert 'name="organisation_id" required><option value="0">Choose your institution<' in page
    response = client.post("/register/join", headers={"Accept-Language": "en"}, data={
        "organisation_id": "0", "name": "X", "email": "x@dlut.edu.cn",
        "password": "correct-horse-42", "confirm": "correct-horse-42", "locale": "en"})
    assert response.status_code == 200 and "This field is required." in response.get_data(
        as_text=True)
    assert db.session.scalar(select(User).where(User.email == "x@dlut.edu.cn")) is None


def test_registering_signs_in_so_nobody_is_offered_an_invitation(client, make):
    from booking.admin.services import awaits_first_sign_in

    org = make.organisation()
    response = client.post("/register/join", data={
        "organisation_id": org.id, "name": "新同学", "email": " new@dlut.edu.cn ",  # a phone's
        "password": "correct-horse-42", "confirm": "correct-horse-42", "locale": "zh_CN"})
    assert response.status_code == 302  # the space a phone keyboard adds is not an error
    user = db.session.scalar(select(User).where(User.email == "new@dlut.edu.cn"))
    assert user.last_login_at is not None and not awaits_first_sign_in(user)


def _enterprise_form(**overrides):
    data = {"org_name_zh": "星海测试科技有限公司", "credit_code": make_credit_code("91210200MA7654321"),
            "city": "大连", "region_code": "2102", "staff_count": "30", "name": "李总",
            "email": "li@xinghai.cn", "password": "correct-horse-42",
            "confirm": "correct-horse-42", "locale": "zh_CN"}
    return {**data, **overrides}


def test_enterprise_registration_end_to_end(client, make):
    from booking.inbox.models import InboxNotice
    from tests.factories import dummy_bureau_staff

    staff = dummy_bureau_staff()
    response = client.post("/register/enterprise", data=_enterprise_form())
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.name_zh == "星海测试科技有限公司"))
    assert org.kind == "enterprise" and not org.verified and org.staff_count == 30
    page = client.get("/").get_data(as_text=True)
    assert "等待科技局审核" in page  # banner: cannot book yet
    told = db.session.scalar(select(InboxNotice).where(InboxNotice.user_id == staff.id))
    assert told.kind == "organisation.registered" and "星海测试科技有限公司" in told.body
    assert told.link == "/admin/organisations?state=unverified"  # where the bureau looks
    assert org.legal_person  # a company, unless it says it is a team


@pytest.mark.parametrize("city, typed, stored", [
    ("沈阳", "", "2101"), ("沈阳市", "210102", "210102"), ("Shenyang", "", "2101"),
    ("沈阳", "2102", None),  # Dalian's code for a Shenyang company: refused
    ("上海", "", None),  # outside Liaoning the code is needed
    ("上海", "3101", "3101"),
])
def test_the_region_code_follows_the_city(client, city, typed, stored):
    response = client.post("/register/enterprise", data=_enterprise_form(
        city=city, region_code=typed))
    org = db.session.scalar(select(Organisation).where(Organisation.name_zh == "星海测试科技有限公司"))
    assert (org.region_code if org else None) == stored
    assert response.status_code == (302 if stored else 200)
    assert org is None or org.city in ("沈阳", "上海")  # one spelling: 沈阳市, Shenyang: 沈阳


def test_names_keep_no_control_or_bidi_override_characters(client):
    """A name that displays as another one ("…\u202e" reverses what follows) or rings a bell
    is stored without those characters; a password is taken as typed."""
    password = "correct-horse-42\u202e"
    response = client.post("/register/enterprise", data=_enterprise_form(
        org_name_zh="星海测试\u202e科技有限公司\x07", name="李\u2066总\x1b", password=password,
        confirm=password))
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.credit_code == _enterprise_form()[
        "credit_code"]))
    user = db.session.scalar(select(User).where(User.email == "li@xinghai.cn"))
    assert (org.name_zh, user.name) == ("星海测试科技有限公司", "李总")
    assert client.post("/login", data={"email": user.email, "password": password}
                       ).status_code == 302


def test_a_start_up_team_registers_as_not_incorporated(client):
    response = client.post("/register/enterprise", data=_enterprise_form(startup_team="y"))
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.name_zh == "星海测试科技有限公司"))
    assert org.legal_person is False


@pytest.mark.parametrize("field,value,message", [
    ("credit_code", "91210200MA76543210", "统一社会信用代码无效：校验码不符"),
    ("password", "short", "密码强度不足：至少 10 个字符"),
])
def test_registration_says_why_in_chinese_too(client, field, value, message):
    """Reported: "统一社会信用代码无效：check character does not match"."""
    response = client.post("/register/enterprise", data=_enterprise_form(**{field: value}))
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("credit_code", "91210200MA76543210", "check character"),
    ("credit_code", "123", "18 characters"),
    ("region_code", "Dalian", "2 to 6 digits"),
    ("confirm", "something-else-1", "Passwords do not match"),
    ("password", "short", "at least 10 characters"),
    ("org_name_zh", "长" * 201, "200"),
    ("founded_on", "9999-12-31", "Choose a date between 1900-01-01 and"),
    ("founded_on", "0001-01-01", "Choose a date between 1900-01-01 and"),
])
def test_enterprise_registration_rejects_bad_input(client, field, value, message):
    before = db.session.query(Organisation).count()
    response = client.post("/register/enterprise", data=_enterprise_form(**{field: value}),
                           headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.query(Organisation).count() == before
    assert db.session.query(User).filter_by(email="li@xinghai.cn").count() == 0


def test_enterprise_credit_code_taken(client, make):
    org = make.organisation(kind="enterprise")
    response = client.post("/register/enterprise", headers={"Accept-Language": "en"},
                           data=_enterprise_form(credit_code=org.credit_code))
    assert "already registered" in response.get_data(as_text=True)


def test_password_reset_flow_through_pages(client, make):
    from booking.core.notifications import OutboxMessage

    user = make.user()
    assert client.post("/forgot-password", data={"email": user.email + " "}).status_code == 302
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "password.reset"))
    assert message.sent_at is not None and message.transport == "log"
    path = "/reset-password/" + message.body.split("/reset-password/")[1].split()[0]
    response = client.post(path, data={"password": "brand-new-pass-7", "confirm": "brand-new-pass-7"})
    assert response.status_code == 302
    assert client.post("/login", data={"email": user.email, "password": "brand-new-pass-7"}
                       ).status_code == 302
    assert client.get(path).status_code == 302  # used link no longer works


def test_api_token_page_shows_secret_once_and_revokes(client, make, login):
    login(make.user())
    page = client.post("/tokens", data={"name": "laptop", "valid_days": "30"}).get_data(as_text=True)
    secret = page.split('class="token-secret">')[1].split("<")[0]
    assert secret.startswith("ipt_")
    assert secret not in client.get("/tokens").get_data(as_text=True)
    from booking.accounts.models import ApiToken

    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "laptop"))
    assert client.post(f"/tokens/{token.id}/revoke").status_code == 302
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert token.revoked_at is not None


def test_cannot_revoke_someone_elses_token(client, make, login):
    from booking.accounts.services import create_api_token

    other_token, _ = create_api_token(make.user(), "theirs")
    db.session.commit()
    login(make.user())
    assert client.post(f"/tokens/{other_token.id}/revoke").status_code == 403
    assert other_token.revoked_at is None


@pytest.mark.parametrize("path", ["/register/enterprise", "/register/join"])
def test_registering_offers_the_language_the_page_is_read_in(client, path):
    """A visitor reading in English was offered 中文 for their account."""
    client.post("/language", data={"locale": "en"})
    page = client.get(path).get_data(as_text=True)
    assert '<option selected value="en">' in page or 'value="en" selected' in page


def test_the_language_saved_in_the_profile_is_the_one_shown(client, make, login):
    """Reported: after the header's switch to English, choosing 中文 in the profile said
    "Profile saved." and stayed English (the switch's choice outranked the account's)."""
    user = login(make.user())
    client.post("/language", data={"locale": "en"})
    assert "Profile" in client.get("/profile").get_data(as_text=True)
    page = client.post("/profile", follow_redirects=True, data={
        "name": user.name, "phone": "", "locale": "zh_CN", "timezone": "Asia/Shanghai"}
                       ).get_data(as_text=True)
    assert "资料已保存" in page and 'lang="zh-CN"' in page
    assert user.locale == "zh_CN"


def test_a_registered_address_is_confirmed_by_its_link_before_booking(client, make):
    """Registration logged the person in without ever checking the address they typed."""
    from booking.core.notifications import OutboxMessage
    from booking.inbox.models import InboxNotice

    org = make.organisation()
    instrument = make.instrument(organisation=org)
    client.post("/register/join", data={
        "organisation_id": org.id, "name": "新同学", "email": "new@dlut.edu.cn",
        "password": "correct-horse-42", "confirm": "correct-horse-42", "locale": "zh_CN"})
    user = db.session.scalar(select(User).where(User.email == "new@dlut.edu.cn"))
    user.membership_confirmed = True  # the lab manager confirmed them meanwhile
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert 'id="confirm-email-note"' in page and "new@dlut.edu.cn" in page
    from datetime import timedelta

    from booking.core.clock import local_today
    day = local_today() + timedelta(days=7)
    quote = client.get(f"/instruments/{instrument.id}/quote.json", query_string={
        "start": f"{day}T09:00", "end": f"{day}T10:00"}).get_json()
    assert "email_unconfirmed" in [p["code"] for p in quote["problems"]]
    mail = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.kind == "account.confirm_email"))
    link = mail.body.split("http://")[1].split()[0]  # PUBLIC_BASE_URL's, not the request's
    path = link[link.index("/confirm-email/"):]
    client.post("/confirm-email", data={"next": "/"})  # sent again: a second, equal link
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "account.confirm_email")) == 2
    assert client.get(path).status_code == 302
    db.session.refresh(user)
    assert user.email_confirmed and user.can_book
    assert 'id="confirm-email-note"' not in client.get("/").get_data(as_text=True)
    assert "confirm-email" not in str(db.session.scalars(select(InboxNotice.body)).all())
    bad = client.get("/confirm-email/not-a-token", follow_redirects=True)
    assert "确认链接无效或已过期" in bad.get_data(as_text=True)


def test_a_password_reset_revokes_the_accounts_api_tokens(client, make, api_token):
    """Reported: a token made by whoever had the password stayed valid after the owner reset
    it."""
    from booking.core.notifications import OutboxMessage

    user = make.user()
    headers = api_token(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    client.post("/forgot-password", data={"email": user.email})
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "password.reset"))
    path = "/reset-password/" + message.body.split("/reset-password/")[1].split()[0]
    page = client.post(path, data={"password": "brand-new-pass-7", "confirm": "brand-new-pass-7"},
                       follow_redirects=True).get_data(as_text=True)
    assert "API 令牌已随旧密码一并吊销" in page
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_an_unknown_time_zone_is_said_once(client, make, login):
    login(make.user())
    page = client.post("/profile", data={"name": "张三", "locale": "zh_CN",
                                         "timezone": "Mars/Base"}).get_data(as_text=True)
    assert page.count("未知时区") == 1 and "不是有效的选择" not in page


def test_the_time_zone_picker_offers_city_zones(client, make, login):
    """Reported: about 600 raw names, "localtime", "Factory" and "W-SU" among them. The picker
    lists city zones, common ones first; a zone stored under an alias stays valid and shown."""
    user = login(make.user(timezone="PRC"))
    page = client.get("/profile").get_data(as_text=True)
    offered = re.findall(r'<option (?:selected )?value="([^"]+)"', page.split('id="timezone"')[1]
                         .split("</select>")[0])
    assert offered[:2] == ["PRC", "Asia/Shanghai"]  # what they have, then the common ones
    assert '<option selected value="PRC">' in page
    assert {"localtime", "Factory", "W-SU", "Etc/GMT-8"}.isdisjoint(offered)
    assert {"Europe/Paris", "America/Sao_Paulo", "Pacific/Auckland"} <= set(offered)
    saved = client.post("/profile", data={"name": user.name, "locale": "zh_CN",
                                          "timezone": "PRC"})
    assert saved.status_code == 302  # kept as it was: still valid


# --- changing the address ----------------------------------------------------------------------
def _mail(kind, recipient=None):
    from booking.core.notifications import OutboxMessage

    query = select(OutboxMessage).where(OutboxMessage.kind == kind)
    if recipient:
        query = query.where(OutboxMessage.recipient == recipient)
    return db.session.scalars(query.order_by(OutboxMessage.id)).all()


def _change(client, new, password=None, make=None):
    limiter.reset()  # the limit counts per account id, which rolled-back tests reuse
    return client.post("/profile/email", data={
        "em-new_email": new, "em-current": password or make.PASSWORD}, follow_redirects=True)


def test_a_new_address_takes_effect_when_its_link_is_opened(client, make, login):
    """Reported: a researcher who moved institutions had no way to change the address they
    log in with (nor to receive the platform's mail at the new one)."""
    user = login(make.user(email="old@dlut.edu.cn"))
    page = _change(client, " New@DLMU.edu.cn ", make=make).get_data(as_text=True)
    assert "new@dlmu.edu.cn" in page and user.email == "old@dlut.edu.cn"
    [link] = _mail("account.email_change", "new@dlmu.edu.cn")
    assert not _mail("account.email_change", "old@dlut.edu.cn")  # the link goes there only
    assert _mail("account.email_change_requested", "old@dlut.edu.cn")  # the old hears of it
    path = "/change-email/" + link.body.split("/change-email/")[1].split()[0]
    client.post("/logout")
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    db.session.refresh(user)
    assert user.email == "new@dlmu.edu.cn" and user.email_confirmed and "new@dlmu.edu.cn" in page
    assert "请先登录" not in page  # logged out: to the login page, one message
    assert _mail("account.email_changed", "old@dlut.edu.cn")
    assert client.post("/login", data={"email": "new@dlmu.edu.cn", "password": make.PASSWORD}
                       ).status_code == 302
    assert db.session.scalar(select(AuditEvent.data).where(
        AuditEvent.action == "user.email_changed")) == {"before": "old@dlut.edu.cn",
                                                        "after": "new@dlmu.edu.cn"}
    again = client.get(path, follow_redirects=True).get_data(as_text=True)  # used: from differs
    assert "链接无效或已过期" in again


def test_an_address_change_is_refused_without_the_password_or_to_a_taken_address(
        client, make, login):
    make.user(email="taken@dlut.edu.cn")
    user = login(make.user(email="me@dlut.edu.cn"))
    limiter.reset()
    for new, password, said in (("x@dlut.edu.cn", "wrong-password", "当前密码错误"),
                                ("taken@dlut.edu.cn", None, "另一个账户已使用此地址"),
                                ("me@dlut.edu.cn", None, "这已经是您的地址"),
                                ("not-an-address", None, "有效的电子邮箱地址")):
        response = client.post("/profile/email", data={
            "em-new_email": new, "em-current": password or make.PASSWORD})
        assert response.status_code == 422 and said in response.get_data(as_text=True), new
    assert not _mail("account.email_change") and user.email == "me@dlut.edu.cn"


def test_a_change_link_dies_when_the_address_was_taken_meanwhile_or_forged(client, make, login):
    user = login(make.user(email="me@dlut.edu.cn"))
    _change(client, "wanted@dlut.edu.cn", make=make)
    [link] = _mail("account.email_change")
    path = "/change-email/" + link.body.split("/change-email/")[1].split()[0]
    make.user(email="wanted@dlut.edu.cn")  # someone registered it first
    assert "链接无效" in client.get(path, follow_redirects=True).get_data(as_text=True)
    assert client.get("/change-email/forged", follow_redirects=True).status_code == 200
    db.session.refresh(user)
    assert user.email == "me@dlut.edu.cn"


def test_a_change_link_lasts_two_days(client, make, login):
    from freezegun import freeze_time

    with freeze_time("2026-03-02 09:00:00"):
        user = login(make.user(email="me@dlut.edu.cn"))
        _change(client, "later@dlut.edu.cn", make=make)
    [link] = _mail("account.email_change")
    path = "/change-email/" + link.body.split("/change-email/")[1].split()[0]
    with freeze_time("2026-03-04 09:01:00"):
        client.get(path)
    db.session.refresh(user)
    assert user.email == "me@dlut.edu.cn"


def test_address_changes_are_limited_per_account_not_per_campus_address(client, make, login):
    limiter.reset()
    login(make.user(email="me@dlut.edu.cn"))
    answers = [client.post("/profile/email", data={
        "em-new_email": f"n{i}@dlut.edu.cn", "em-current": "wrong"}).status_code
        for i in range(6)]
    assert answers == [422] * 5 + [429]
    client.post("/logout")
    login(make.user(email="neighbour@dlut.edu.cn"))  # the same IP, another person
    assert client.post("/profile/email", data={"em-new_email": "z@dlut.edu.cn",
                                               "em-current": "wrong"}).status_code == 422


def test_an_address_from_campus_sign_on_is_changed_at_the_institution(client, make, login):
    """Each campus sign-in brings the institution's address back (identity._refresh): a
    change made here would be undone at the next sign-in."""
    from booking.identity.models import ExternalIdentity
    from tests.factories.identity import create_provider

    org = make.organisation(name_zh="大连理工大学")
    provider = create_provider("cas", org, server_url="https://cas.example.edu.cn", version="3")
    user = login(make.user(email="me@dlut.edu.cn", organisation=org))  # before the link:
    db.session.add(ExternalIdentity(provider=provider, subject="me", user=user))  # then
    db.session.commit()  # the campus sign-on vouches for it, not a password
    page = client.get("/profile").get_data(as_text=True)
    assert "来自 大连理工大学 的统一身份认证" in page and 'name="em-new_email"' not in page
    refused = _change(client, "else@dlut.edu.cn", make=make)
    assert refused.status_code == 422 and not _mail("account.email_change")
