"""A lab manager publishes an instrument through the web UI; a visitor finds it by a
two-character Chinese query, an abbreviation and a filter; bureau staff export the directory."""
import os

import pytest

from tests.browser.helpers import follow, log_in, nav_to

pytestmark = [pytest.mark.browser, pytest.mark.committing]

NAME = "场发射扫描电子显微镜（浏览器测试）"


def _shot(page, name):
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        os.makedirs(shots, exist_ok=True)
        page.screenshot(path=os.path.join(shots, f"catalogue-{name}.png"), full_page=True)




def _publish(page, live_server):
    log_in(page, live_server, "manager.dlut@demo.cn")
    nav_to(page, "/lab")  # 实验室管理, in the lab's menu
    page.click("text=新增仪器")
    page.fill("#name_zh", NAME)
    page.fill("#name_en", "Field-emission SEM (browser test)")
    page.fill("#model", "SU8220")
    page.fill("#manufacturer", "Hitachi")
    page.select_option("#category", "analytical")
    page.fill("#original_value", "4800000")
    page.fill("#contact_name", "陈明")
    page.fill("#contact_phone", "0411-84708888")
    page.fill("#description", "<b>高分辨</b>形貌观察")
    _shot(page, "1-new-instrument")
    follow(page, "#instrument-form button[type=submit], #instrument-form input[type=submit]")
    assert "仪器已发布" in page.locator(".alert-success").inner_text()

    page.select_option("#rate-customer_class", "enterprise")
    page.fill("#rate-hourly", "480")
    page.fill("#rate-valid_from", "2026-01-01")
    follow(page, "#rate-form input[type=submit]")
    assert "收费标准已添加" in page.locator(".alert-success").inner_text()
    page.fill("#hours-day0", "08:30-12:00, 13:30-17:30")
    page.fill("#hours-day1", "08:30-12:00, 11:00-17:30")
    follow(page, "#hours-form input[type=submit]")
    assert "重叠" in page.locator("#hours-form").inner_text()
    page.fill("#hours-day1", "08:30-12:00")
    follow(page, "#hours-form input[type=submit]")
    assert "开放时间已保存" in page.locator(".alert-success").inner_text()
    _shot(page, "2-setup")
    page.goto(live_server + "/lab")
    assert NAME in page.locator("#console").inner_text()
    _shot(page, "3-console")


def test_publish_find_and_export(live_server, page):
    _publish(page, live_server)
    page.context.clear_cookies()

    page.goto(live_server + "/")
    page.fill("#hero-search input[name=q]", "电镜")
    page.press("#hero-search input[name=q]", "Enter")
    page.wait_for_load_state()
    assert NAME in page.locator("#results").inner_text()
    _shot(page, "4-search-dianjing")

    page.goto(live_server + "/?q=SEM")
    page.select_option("#f-city", "大连")
    page.select_option("#f-category", "analytical")
    page.click("#filters button")
    page.wait_for_load_state()
    assert NAME in page.locator("#results").inner_text()
    page.click(f"text={NAME}")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == NAME
    assert "<b>高分辨</b>" in page.locator("#specs").inner_text()  # shown as text, not markup
    assert "¥480.00" in page.locator("#rates").inner_text()
    assert page.locator("#calendar h2").count() == 1
    _shot(page, "5-detail")

    log_in(page, live_server, "bureau@demo.cn")
    page.goto(live_server + "/?q=电镜")
    with page.expect_download() as download:
        page.click("#export >> text=CSV")
    path = download.value.path()
    assert NAME in open(path, encoding="utf-8-sig").read()
    page.goto(live_server + "/bureau/directory-quality")
    _shot(page, "6-quality")


def test_directory_on_a_phone(live_server, phone_page):
    page = phone_page
    page.goto(live_server + "/?q=核磁")
    assert page.locator("#hero-search").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    _shot(page, "7-phone")
