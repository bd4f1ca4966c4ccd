"""The inbox page, reading and marking notices, the unread badge, the notice settings, and the
denials: a user never sees or marks another user's notices."""
import re

import pytest
from sqlalchemy import select

from booking.core.notifications import Notice, deliver, notify
from booking.extensions import db
from booking.inbox import services
from booking.inbox.models import InboxNotice
from tests.sql import statements
from tests.web.matrix import LOGIN


def tell(user, count=1, kind="booking.approved"):
    """`count` notices to `user` with subjects s0, s1, ... (one INSERT)."""
    deliver([Notice(user, kind, f"s{n}", f"body {n}\nsee https://example.cn/x") for n in
             range(count)])
    db.session.commit()


def own_notices(user) -> list[InboxNotice]:
    return list(db.session.scalars(select(InboxNotice).where(InboxNotice.user_id == user.id)
                                   .order_by(InboxNotice.id)))


def badge(page: str) -> str | None:
    found = re.search(r'id="unread-badge">([^<]+)<', page)
    return found and found.group(1)


# --- who may -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/inbox"), ("GET", "/inbox/{id}"), ("POST", "/inbox/{id}/read"),
    ("POST", "/inbox/read-all"), ("GET", "/account/notices"), ("POST", "/account/notices")])
@pytest.mark.parametrize("who", ["anonymous", "owner", "other"])
def test_permission_matrix(client, login, make, method, path, who):
    """Anonymous visitors log in first; another user's notice is a 404 (it exists for nobody
    else), and their own-notice lists and settings only ever show their own."""
    owner = make.user()
    tell(owner)
    notice = own_notices(owner)[0]
    if who != "anonymous":
        login(owner if who == "owner" else make.user())
    response = client.open(path.format(id=notice.id), method=method)
    expected = {"anonymous": LOGIN,
                "other": 404 if "{id}" in path else (302 if method == "POST" else 200),
                "owner": 302 if method == "POST" else 200}[who]
    if expected == LOGIN:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == expected
    db.session.refresh(notice)
    read = who == "owner" and (path.endswith("/read") or path == "/inbox/{id}" or
                               path.endswith("read-all"))
    assert notice.is_unread is not read


def test_another_users_inbox_never_shows_or_clears_mine(client, login, make):
    mine, theirs = make.user(), make.user()
    tell(mine, 2)
    tell(theirs)
    login(theirs)
    page = client.get("/inbox").get_data(as_text=True)
    assert page.count("data-notice=") == 1
    assert all(f'data-notice="{n.id}"' not in page for n in own_notices(mine))
    client.post("/inbox/read-all")
    assert services.unread_count(mine.id) == 2 and services.unread_count(theirs.id) == 0


# --- the list ------------------------------------------------------------------------------------
def test_newest_first_twenty_a_page_and_unread_only(client, login, make):
    user = login(make.user())
    tell(user, 25)
    first = client.get("/inbox").get_data(as_text=True)
    subjects = re.findall(r'class="notice-subject[^"]*"[^>]*>(?:<span[^>]*>[^<]*</span>)?(s\d+)<',
                          first)
    assert subjects == [f"s{n}" for n in range(24, 4, -1)]
    assert "/inbox?page=2" in first and "1 / 2" in first
    second = client.get("/inbox?page=2").get_data(as_text=True)
    assert second.count("data-notice=") == 5 and "/inbox?page=1" in second
    for notice in own_notices(user)[:24]:
        services.mark_read(notice)
    db.session.commit()
    unread = client.get("/inbox?unread=1").get_data(as_text=True)
    assert unread.count("data-notice=") == 1 and 'class="notice-subject' in unread
    everything = client.get("/inbox").get_data(as_text=True)
    assert everything.count("notice-unread") == 1  # the unread one stands out
    # the preview keeps the body's lines apart (they ran together: "退还部分费用 款项已退还")
    assert "body 24 · see https://example.cn/x" in everything
    assert client.get("/inbox?page=-1").status_code == 400  # page 0 is the first: below


def test_an_empty_inbox_says_so(client, login, make):
    login(make.user())
    page = client.get("/inbox").get_data(as_text=True)
    assert 'id="notices"' in page and "data-notice=" not in page
    assert 'id="mark-all-read"' not in page and badge(page) is None


# --- the badge -----------------------------------------------------------------------------------
def test_the_navigation_shows_the_unread_count(client, login, make):
    user = login(make.user())
    assert badge(client.get("/").get_data(as_text=True)) is None
    tell(user, 3)
    assert badge(client.get("/").get_data(as_text=True)) == "3"
    tell(user, 97)
    assert badge(client.get("/bookings/mine").get_data(as_text=True)) == "99+"
    client.post("/inbox/read-all")
    assert badge(client.get("/").get_data(as_text=True)) is None




def test_the_count_is_one_query_on_pages_and_none_on_json(client, login, make, api_token):
    user = login(make.user())
    tell(user)
    instrument = make.instrument()
    with statements() as page:
        client.get("/inbox")
    assert sum("inbox_notices" in s and "count(" in s.lower() for s in page) == 2  # badge, paging
    with statements() as other_page:
        client.get("/bookings/mine")
    assert sum("inbox_notices" in s for s in other_page) == 1
    headers = api_token(user)
    with statements() as json:
        calendar = client.get(f"/instruments/{instrument.id}/calendar.json", query_string={
            "start": "2026-11-23T00:00:00", "end": "2026-11-30T00:00:00"})
        api = client.get("/api/v1/bookings?mine=1", headers=headers)
    assert (calendar.status_code, api.status_code) == (200, 200)
    assert [s for s in json if "inbox_notices" in s] == []


# --- reading -------------------------------------------------------------------------------------
def test_opening_a_notice_shows_it_and_marks_it_read(client, login, make):
    user = login(make.user())
    notify(user, "invoice.paid", lambda: ("Paid", "Thanks.\nSee https://example.cn/i/1"),
           link="/invoices/1")
    db.session.commit()
    notice = own_notices(user)[0]
    page = client.get(f"/inbox/{notice.id}").get_data(as_text=True)
    assert 'id="notice"' in page and "Thanks." in page
    assert '<a href="https://example.cn/i/1" rel="nofollow noopener">' in page  # linked
    assert 'href="/invoices/1"' in page
    db.session.refresh(notice)
    assert not notice.is_unread
    assert client.get(f"/inbox/{notice.id}").status_code == 200  # read again: no change


def test_a_notice_never_links_off_the_site(client, login, make):
    user = login(make.user())
    notify(user, "booking.approved", lambda: ("s", "b"), link="//evil.example/x")
    db.session.commit()
    page = client.get(f"/inbox/{own_notices(user)[0].id}").get_data(as_text=True)
    assert "evil.example" not in page


def test_mark_one_read_and_go_back_to_the_same_page(client, login, make):
    user = login(make.user())
    tell(user, 2)
    first, second = own_notices(user)
    response = client.post(f"/inbox/{first.id}/read", data={"next": "/inbox?page=1"})
    assert response.headers["Location"] == "/inbox?page=1"
    assert not db.session.get(InboxNotice, first.id).is_unread
    assert db.session.get(InboxNotice, second.id).is_unread
    away = client.post(f"/inbox/{second.id}/read", data={"next": "https://evil.example/"})
    assert away.headers["Location"] == "/inbox"


# --- settings ------------------------------------------------------------------------------------
def switches(page: str, name: str) -> dict[str, bool]:
    """{value: checked} of the checkboxes named `name`."""
    return {value: "checked" in attrs for attrs, value in re.findall(
        rf'<input([^>]*?)name="{name}"[^>]*?value="([^"]+)"', page)}


def test_settings_show_the_switches_that_concern_the_user(client, login, make):
    login(make.user(role="student"))
    page = client.get("/account/notices").get_data(as_text=True)
    emailed = switches(page, "emailed")
    assert "work" not in emailed and all(emailed.values())  # everything e-mailed by default
    assert {"decisions", "lab_changes", "reminders", "billing", "training"} <= emailed.keys()
    assert switches(page, "reminders") == {"24h": True, "1h": False}
    login(make.user(role="lab_manager"))
    assert "work" in switches(client.get("/account/notices").get_data(as_text=True), "emailed")


def test_settings_are_saved(client, login, make):
    user = login(make.user())
    response = client.post("/account/notices", data={
        "emailed": ["decisions", "reminders"], "reminders": ["1h", "24h"]})
    assert response.status_code == 302
    db.session.refresh(user)
    chosen = services.preferences_of(user)
    assert chosen.reminders == {"1h", "24h"}
    assert "billing" in chosen.email_off and "decisions" not in chosen.email_off
    page = client.get("/account/notices").get_data(as_text=True)
    assert switches(page, "emailed")["billing"] is False
    assert switches(page, "reminders") == {"24h": True, "1h": True}
    client.post("/account/notices", data={"submit": "Save"})  # everything off
    db.session.refresh(user)
    assert services.preferences_of(user).reminders == set()
    assert services.preferences_of(user).email_off >= {"decisions", "reminders"}


@pytest.mark.parametrize("data", [{"emailed": ["decisions", "nonsense"]},
                                  {"emailed": ["work"]},  # not shown to a member
                                  {"reminders": ["3d"]}])
def test_settings_refuse_a_choice_not_offered(client, login, make, data):
    user = login(make.user())
    response = client.post("/account/notices", data=data)
    assert response.status_code == 200
    assert "alert-danger" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.notice_preferences is None


def test_settings_need_the_csrf_token(app, client, login, make):
    user = login(make.user())
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/account/notices", data={"reminders": ["1h"]})
        marked = client.post("/inbox/read-all")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400 and marked.status_code == 400
    db.session.refresh(user)
    assert user.notice_preferences is None


def test_the_account_menu_links_the_settings(client, login, make):
    login(make.user())
    page = client.get("/").get_data(as_text=True)
    assert 'href="/account/notices"' in page and 'id="inbox-link"' in page


def test_a_page_past_the_last_shows_the_last(client, login, make):
    """Reported: /inbox?page=14 of 13 showed "14 / 13" and an empty list."""
    user = make.user()
    tell(user, count=25)  # two pages of 20
    login(user)
    page = client.get("/inbox?page=14").get_data(as_text=True)
    assert "s0" in page and "14 /" not in page


def test_page_zero_is_the_first(client, login, make):
    user = make.user()
    tell(user, count=2)
    login(user)
    page = client.get("/inbox?page=0")
    assert page.status_code == 200 and "s1" in page.get_data(as_text=True)
