import pytest

from tests.browser.helpers import follow, log_in, nav_to

pytestmark = [pytest.mark.browser, pytest.mark.committing]


def test_log_in_through_the_form_and_switch_language(live_server, page):
    page.goto(live_server + "/login")
    assert page.locator("h1").inner_text() == "登录"
    page.fill("#email", "student.dlut@demo.cn")
    page.fill("#password", "demo-pass-2026")
    page.click("form button[type=submit]")
    page.wait_for_url(live_server + "/")
    nav = page.locator("nav")
    assert "仪器目录" in nav.inner_text() and "张伟" in nav.inner_text()

    page.click("#language-switch button[value=en]")
    page.wait_for_load_state()
    assert "Instruments" in page.locator("nav").inner_text()
    assert page.locator("html").get_attribute("lang") == "en"

    page.click("#language-switch button[value=zh_CN]")
    page.wait_for_load_state()
    assert "仪器目录" in page.locator("nav").inner_text()


def test_wrong_password_shows_message(live_server, page):
    page.goto(live_server + "/login")
    page.fill("#email", "student.dlut@demo.cn")
    page.fill("#password", "not-the-password")
    follow(page, "form button[type=submit]")
    assert "邮箱或密码错误" in page.locator(".alert-danger").inner_text()


def test_bureau_navigation_and_phone_menu(live_server, phone_page):
    page = phone_page
    page.goto(live_server + "/login")
    page.fill("#email", "bureau@demo.cn")
    page.fill("#password", "demo-pass-2026")
    page.click("form button[type=submit]")
    page.wait_for_url(live_server + "/")
    assert not page.locator("#mainNav").is_visible()  # collapsed on a phone
    page.click(".navbar-toggler")
    page.locator("#mainNav.show").wait_for()  # opened: .show comes when the slide has ended
    nav_to(page, "/admin/organisations")  # the console (issue 16), in the bureau's menu
    assert "大连理工大学" in page.content()


def test_a_lab_managers_menu_keeps_one_row_on_a_laptop(live_server, browser):
    """1366 px, the commonest laptop width, in either language: a lab's work pages are one menu
    (its eleven entries side by side took two rows in English), which opens on a click."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    log_in(page, live_server, "manager.dlut@demo.cn")
    for locale, lab in (("en", "Lab"), ("zh_CN", "实验室")):  # Chinese last: the account keeps it
        follow(page, f"#language-switch button[value={locale}]")
        entries = page.locator("#mainNav .navbar-nav.me-auto > .nav-item > .nav-link")
        tops = {round(box["y"]) for box in (entries.nth(i).bounding_box()
                                            for i in range(entries.count()))}
        assert len(tops) == 1, (locale, tops)
        assert not page.locator("#mainNav a[href='/bookings/queue']").is_visible()
        page.click(f"#mainNav .dropdown-toggle:has-text('{lab}')")
        follow(page, "#mainNav a[href='/bookings/queue']")
        assert page.locator(f"#mainNav .dropdown-toggle.active:has-text('{lab}')").count() == 1
    context.close()
