"""Long lists on a phone (375 x 812): My bookings, with more than one page, filtered by state
and paged, shows each booking's status and cancel button inside the screen, the calendar feed
at the top; the directory keeps its filters behind a button so results are on the first
screen."""
from datetime import timedelta

import pytest

from booking.core.clock import now_utc
from tests.browser.conftest import _csp_violations
from tests.browser.helpers import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]

WIDTH, HEIGHT = 375, 812


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": WIDTH, "height": HEIGHT},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    violations = _csp_violations(page)
    yield page
    context.close()
    assert violations == []


@pytest.fixture(scope="module")
def booker(live_app):
    """A user with 30 upcoming bookings (every third pending, 26 of them approved: two pages
    of pending ones at 5 a page) and a few past ones, on an instrument of a lab of its own."""
    from booking.extensions import db
    from tests.factories import Factory

    make = Factory()
    with live_app.app_context():
        instrument = make.instrument(name_zh="原子力显微镜（长列表测试）",
                                     name_en="AFM (long list test)")
        user = make.user(name="赵列表")
        soon = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        for n in range(30):
            make.placed_booking(instrument, user, soon + timedelta(days=n),
                                state="pending" if n % 3 == 0 else "approved",
                                purpose=f"表面形貌 {n}")
        for n in range(3):
            make.placed_booking(instrument, user, soon - timedelta(days=n + 3), state="completed")
        db.session.commit()
        return {"email": user.email, "password": make.PASSWORD}


def inside_the_screen(locator) -> bool:
    """The element's box lies inside the 375 x 812 viewport (scrolled into view first)."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH and \
        box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT


def test_my_bookings_on_a_phone_filtered_and_paged(live_server, phone, booker):
    page = phone
    log_in(page, live_server, booker["email"], booker["password"])
    page.goto(live_server + "/bookings/mine?per_page=5")
    # the calendar feed first, compact, above the list
    feed = page.locator("#feed").bounding_box()
    assert feed["y"] + feed["height"] < page.locator("#upcoming tbody tr").first.bounding_box()["y"]
    assert feed["height"] < 160
    assert "共 30 条 · 第 1 / 6 页" in page.inner_text(".pager")

    # the state filter hides behind "Filters" on a phone; choosing a state applies it
    assert not page.locator("#f-state").is_visible()
    page.click(".filters-toggle")
    page.locator("#f-state").wait_for(state="visible")
    with page.expect_navigation():
        page.select_option("#f-state", "pending")
    assert "state=pending" in page.url
    assert "共 10 条 · 第 1 / 2 页" in page.inner_text(".pager")
    assert page.locator(".filters-toggle .badge").inner_text() == "1"

    with page.expect_navigation():
        page.locator(".pager .page-next").first.click()
    assert "state=pending" in page.url and "page=2" in page.url and "per_page=5" in page.url
    rows = page.locator("#upcoming tbody tr")
    assert rows.count() == 5
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH  # nothing clipped
    for n in range(rows.count()):
        row = rows.nth(n)
        status = row.locator(".booking-status .state-badge")
        assert status.inner_text() == "待审批"
        assert inside_the_screen(status)
        assert inside_the_screen(row.locator("button", has_text="取消"))
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "long-lists-1-my-bookings-phone")


def test_directory_filters_fold_away_on_a_phone(live_server, phone, booker):
    page = phone
    page.goto(live_server + "/")
    assert not page.locator("#filters").is_visible()
    first = page.locator(".instrument-card").first
    assert first.bounding_box()["y"] < HEIGHT  # a result on the first screen
    shot(page, "long-lists-2-directory-phone")
    page.click(".filters-toggle")
    # Bootstrap sets .show once the unfolding has finished; clicking during it can miss.
    page.locator("#filters.show:not(.collapsing)").wait_for(state="visible")
    page.select_option("#f-mode", "staff_operated")
    page.click("#filters button.btn-primary")
    page.wait_for_url("**mode=staff_operated**")
    assert page.locator(".filters-toggle .badge").inner_text() == "1"
