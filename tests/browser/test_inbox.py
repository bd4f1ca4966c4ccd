"""The inbox on a phone: the unread badge beside the collapsed menu, the list, reading a
notice (the badge goes down), and the notice settings, none wider than the screen."""
import uuid

import pytest

from booking.accounts.services import get_user_by_email
from booking.core.notifications import notify
from booking.extensions import db
from tests.browser.helpers import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]

STUDENT = "student.dlut@demo.cn"
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def reminder(live_app):
    """An unread reminder to the demo student (other tests may have told them more)."""
    subject = f"提醒：X 射线衍射仪 {uuid.uuid4().hex[:6]}"
    with live_app.app_context():
        notify(get_user_by_email(STUDENT), "booking.reminder",
               lambda: (subject, "您的预约将于明天 10:00 开始。\n地点：化工楼 101"),
               link="/bookings/mine")
        db.session.commit()
    return subject


def unread(page) -> int:
    badge = page.locator("#unread-badge")
    return int(badge.inner_text().split()[0]) if badge.count() else 0


def test_read_a_notice_on_a_phone(live_server, phone_page, reminder):
    page = phone_page
    log_in(page, live_server, STUDENT)
    assert not page.locator("#mainNav").is_visible()  # the menu is collapsed ...
    assert page.locator("#unread-badge").is_visible()  # ... and the count still shows
    before = unread(page)
    assert before >= 1

    page.click("#inbox-link")
    page.wait_for_url(live_server + "/inbox")
    row = page.locator("[data-notice]", has_text=reminder)
    assert "notice-unread" in row.get_attribute("class")
    assert page.evaluate(FITS)
    shot(page, "inbox_phone")

    row.locator(".notice-subject").click()
    page.wait_for_url(lambda url: "/inbox/" in url)
    assert reminder in page.locator("#notice h1").inner_text()
    assert "化工楼 101" in page.locator("#notice").inner_text()
    assert unread(page) == before - 1
    assert page.evaluate(FITS)

    page.click("#back-to-inbox")
    page.wait_for_url(live_server + "/inbox")
    assert "notice-unread" not in page.locator("[data-notice]", has_text=reminder)\
        .get_attribute("class")

    page.goto(live_server + "/account/notices")
    assert page.locator("#notice-settings input[name=emailed]").count() >= 5
    assert page.evaluate(FITS)
    shot(page, "notice_settings_phone")
