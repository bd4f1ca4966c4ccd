"""Work pages on a phone (390 px), in Chinese and in English: the navigation bar keeps one row
(the bell with its unread count pushed the menu button under the brand in English), and no
list is cut off or squeezed to a character a line: each shows its rows as cards."""
import pytest

from tests.browser.helpers import follow, log_in

pytestmark = [pytest.mark.browser, pytest.mark.committing]

PAGES = {
    "manager.dlut@demo.cn": ["/groups/", "members", "/ratings"],  # "members": the user menu's
    "finance.dlut@demo.cn": ["/finance/overdue", "/finance/close"],
    "bureau@demo.cn": ["/vouchers/reimbursements", "/vouchers/links", "/vouchers/dashboard",
                       "/bureau/directory-quality", "/reports/bulletin"],
}

OVERFLOWING = """() => [...document.querySelectorAll('.table-responsive, main nav')]
    .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.id || e.className)"""


@pytest.mark.parametrize("email", PAGES)
def test_work_pages_fit_a_phone(live_server, phone_page, email):
    page = phone_page
    log_in(page, live_server, email)
    members = page.locator("#user-menu ~ .dropdown-menu a[href$='/members']")
    paths = [members.get_attribute("href") if path == "members" else path
             for path in PAGES[email]]
    for locale in ("en", "zh_CN"):  # Chinese last: the choice is kept on the shared demo account
        page.goto(live_server + "/")
        page.click(".navbar-toggler")
        page.locator("#mainNav.show").wait_for()
        follow(page, f"#language-switch button[value={locale}]")
        for path in paths:
            page.goto(live_server + path)
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
