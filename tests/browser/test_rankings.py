"""Bureau staff compute, review and publish a quarter's ranking; the public page shows it; the
manager of 大连理工大学 sees the institution's scorecard."""
from datetime import date, timedelta

import pytest

from booking.core.db import utc
from tests.browser.helpers import follow, log_in, nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]



@pytest.fixture(scope="module")
def shared_instruments(live_app):
    """Large instruments of two demo universities, used in 2026Q3 by the demo SME."""
    from sqlalchemy import select

    from booking.accounts.models import Organisation
    from booking.accounts.services import get_user_by_email
    from booking.extensions import db
    from tests.factories import Factory

    make = Factory()
    with live_app.app_context():
        def org(name):
            return db.session.scalar(select(Organisation).where(Organisation.name_zh == name))

        sme_user = get_user_by_email("sme@demo.cn")
        busy = make.instrument(organisation=org("大连理工大学"), name_zh="场发射扫描电镜（排名测试）",
                               purchase_date=date(2019, 5, 1))
        make.instrument(organisation=org("大连理工大学"), name_zh="激光共聚焦显微镜（排名测试）",
                        purchase_date=date(2019, 5, 1))
        make.instrument(organisation=org("辽宁科技大学"), name_zh="透射电镜（排名测试）",
                        purchase_date=date(2018, 3, 1))
        for day in range(12):
            make.usage_session(busy, sme_user, utc(2026, 7, 6, 1) + timedelta(days=day),
                               minutes=360)






def test_bureau_publishes_a_quarter_and_the_manager_sees_the_scorecard(
        live_server, browser, page, shared_instruments):
    log_in(page, live_server, "bureau@demo.cn")
    nav_to(page, "/bureau/rankings")
    page.fill("#period", "2026Q3")
    page.click("#compute-form button[type=submit]")
    page.wait_for_url(lambda url: "period=2026Q3" in url)
    table = page.locator("#ranking-table")
    assert "大连理工大学" in table.inner_text() and "辽宁科技大学" in table.inner_text()
    assert page.locator("#snapshot-state").inner_text() == "未发布"
    assert page.locator("#chart-scores").is_visible()

    assert page.locator("#pool-form").count() == 0  # a quarter monitors: no reward pool
    assert "奖励资金随年度排名发放" in page.locator("#monitoring-only").inner_text()
    shot(page, "rankings-1-review")

    with page.expect_download() as download:
        page.click("#export-xlsx")
    assert download.value.suggested_filename == "ranking-2026Q3.xlsx"

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#publish-form button")
    page.wait_for_load_state()
    assert page.locator("#snapshot-state").inner_text() == "已发布"
    assert page.locator("#publish-form").count() == 0
    shot(page, "rankings-2-published")

    # on a 1280 px laptop every column, the reward's last, shows without scrolling, in English
    # too (its headings made the table 110 px too wide there)
    for width in (1280, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        for locale in ("en", "zh_CN"):
            follow(page, f"#language-switch button[value={locale}]")
            assert page.locator("#ranking-table").evaluate(
                "table => table.parentElement.scrollWidth <= table.parentElement.clientWidth"
            ), (width, locale)

    page.goto(live_server + "/bureau/rankings/policy")  # test turnaround beside decision speed
    assert page.locator("#weight_turnaround").input_value() == "2"
    assert page.locator("#weight_decision_speed").input_value() == "4"
    shot(page, "rankings-2b-policy")

    visitor = browser.new_context(locale="zh-CN").new_page()
    visitor.goto(live_server + "/rankings")
    assert "2026Q3" in visitor.locator("h1").inner_text()
    public_table = visitor.locator("#ranking-table").inner_text()
    assert "大连理工大学" in public_table and "辽宁科技大学" in public_table
    shot(visitor, "rankings-3-public")
    visitor.context.close()

    manager = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    manager_page = manager.new_page()
    log_in(manager_page, live_server, "manager.dlut@demo.cn")
    manager_page.goto(live_server + "/rankings")
    follow(manager_page, "text=本单位考核结果")
    assert manager_page.locator("#scorecard-title").inner_text() == "大连理工大学"
    assert manager_page.locator("#what-would-raise li").count() >= 1
    assert "场发射扫描电镜（排名测试）" in manager_page.locator("#instrument-table").inner_text()
    assert "大连海创新材料科技有限公司" in manager_page.locator("#client-list").inner_text()
    # no test order reported in the quarter: the turnaround indicator earns full marks
    assert "2.00 / 2" in manager_page.locator("#indicator-turnaround").inner_text()
    shot(manager_page, "rankings-4-scorecard")
    manager.close()
