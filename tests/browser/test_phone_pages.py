"""Work pages on a phone (390 px), in Chinese and in English: the navigation bar keeps one row
(the bell with its unread count pushed the menu button under the brand in English), no list
is cut off or squeezed to a character a line (each shows its rows as cards), and a
breadcrumb keeps one line."""
import pytest

from tests.browser.helpers import follow, log_in

pytestmark = [pytest.mark.browser, pytest.mark.committing]

PAGES = {
    "manager.dlut@demo.cn": ["group", "members", "/ratings", "xps"],
    "finance.dlut@demo.cn": ["/finance/overdue", "/finance/close"],
    "bureau@demo.cn": ["/vouchers/reimbursements", "/vouchers/links", "/vouchers/dashboard",
                       "/bureau/directory-quality", "/reports/bulletin"],
}

OVERFLOWING = """() => [...document.querySelectorAll('.table-responsive, main nav')]
    .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.id || e.className)"""


def _resolved(page, live_server, live_app, path: str) -> str:
    """"group": the first of the user's research groups (else the approvals page);
    "members": the user menu's link to the organisation's members; "xps": the booking page
    of an instrument with a long English name (its breadcrumb wrapped)."""
    if path == "group":  # or, for someone in no group, the PI's approvals page
        page.goto(live_server + "/groups")
        links = page.locator("main a[href^='/groups/']")
        return links.first.get_attribute("href") if links.count() else "/groups/approvals"
    if path == "members":
        return page.locator("#user-menu ~ .dropdown-menu a[href$='/members']").get_attribute(
            "href")
    if path == "xps":
        from tests.factories import Factory

        with live_app.app_context():
            instrument = Factory().instrument(name_zh="X射线光电子能谱仪（手机测试）",
                                              name_en="X-ray photoelectron spectrometer")
            return f"/instruments/{instrument.id}/book"
    return path


@pytest.mark.parametrize("email", PAGES)
def test_work_pages_fit_a_phone(live_server, live_app, phone_page, email):
    page = phone_page
    log_in(page, live_server, email)
    paths = [_resolved(page, live_server, live_app, path) for path in PAGES[email]]
    for locale in ("en", "zh_CN"):  # Chinese last: the choice is kept on the shared demo account
        page.goto(live_server + "/")
        page.click(".navbar-toggler")
        page.locator("#mainNav.show").wait_for()
        follow(page, f"#language-switch button[value={locale}]")
        for path in paths:
            assert page.goto(live_server + path).ok, path
            brand, toggler = (page.locator(s).bounding_box()
                              for s in (".navbar-brand", ".navbar-toggler"))
            assert abs(brand["y"] - toggler["y"]) < brand["height"], (locale, path)
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), path
            assert page.evaluate(OVERFLOWING) == [], (locale, path)
            # a stacked list: cells under their labels, none narrower than a few characters
            narrowest = page.evaluate("""() => Math.min(1e9, ...[...document.querySelectorAll(
                'table.table-stack > tbody > tr > td')].filter((td) => td.offsetParent)
                .map((td) => td.getBoundingClientRect().width))""")
            assert narrowest > 200, (locale, path, narrowest)
            # a breadcrumb keeps one line (wrapped, a line began with its "/")
            tops = page.evaluate("""() => new Set([...document.querySelectorAll(
                '.breadcrumb-item')].map((li) => Math.round(li.getBoundingClientRect().top))).size""")
            assert tops <= 1, (locale, path)


def test_the_queue_selects_all_on_a_phone(live_server, live_app, phone_page):
    """Reported: the request queue's select-all box sat in the table's heading, which a phone
    does not show: the lab ticked each request by hand."""
    from datetime import timedelta

    from sqlalchemy import select

    from booking.accounts.models import User
    from booking.core.clock import now_utc
    from tests.factories import Factory

    with live_app.app_context():  # two requests of its own to decide, whatever ran before
        make = Factory()
        manager = live_app.extensions["sqlalchemy"].session.scalar(
            select(User).where(User.email == "manager.dlut@demo.cn"))
        instrument = make.instrument(organisation=manager.organisation, requires_approval=True)
        for day in (3, 4):
            make.placed_booking(instrument, make.user(), now_utc() + timedelta(days=day),
                                state="pending")
    page = phone_page
    log_in(page, live_server, "manager.dlut@demo.cn")
    page.goto(live_server + "/bookings/queue")
    rows = page.locator("#queue .row-check")
    assert rows.count() > 1 and page.locator("#select-all").is_hidden()
    page.check("#select-all-phone")
    assert all(rows.nth(i).is_checked() for i in range(rows.count()))
    page.uncheck("#select-all-phone")
    assert not any(rows.nth(i).is_checked() for i in range(rows.count()))
