"""The voucher path in a real browser: the SME applies, bureau staff approve a smaller amount,
a large enterprise is told why it is not eligible."""

import pytest

from tests.browser.helpers import follow, log_in, nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]







def test_sme_applies_and_bureau_approves(live_server, page):
    log_in(page, live_server, "sme@demo.cn")
    page.click("nav >> text=创新券")
    page.wait_for_url(live_server + "/vouchers/")
    assert "科技型中小企业" in page.locator("#eligibility-ok").inner_text()
    page.fill("#amount", "30000")
    page.fill("#project", "新型复合材料的扫描电镜与 XRD 表征")
    page.select_option("#declared_class", "sme_science_based")
    page.click("#apply-form button[type=submit]")
    page.wait_for_url(live_server + "/vouchers/")
    assert "申请已提交" in page.locator(".alert-success").inner_text()
    row = page.locator("#my-vouchers tbody tr").first
    assert "审核中" in row.inner_text() and "¥30,000.00" in row.inner_text()
    shot(page, "vouchers-1-applied")

    log_in(page, live_server, "bureau@demo.cn")
    nav_to(page, "/vouchers/review")  # 创新券审核, in the bureau's menu
    pending = page.locator("#queue tbody tr", has_text="大连海创新材料科技有限公司").first
    pending.locator("input[name=amount]").fill("20000")
    pending.locator(".approve-form input[name=reason]").fill("设备费预算偏高，核减至两万元")
    shot(page, "vouchers-2-queue")
    pending.locator("button[name=approve]").click()
    page.wait_for_url(live_server + "/vouchers/review")
    assert "已批准" in page.locator(".alert-success").inner_text()
    assert "¥20,000.00" in page.locator("#decided").inner_text()
    shot(page, "vouchers-3-approved")
    page.click("main >> text=统计看板")
    page.wait_for_url(live_server + "/vouchers/dashboard")
    assert page.locator("#chart-burn-down").is_visible()
    assert "¥20,000.00" in page.locator("#burn-down").inner_text()
    shot(page, "vouchers-4-dashboard")
    page.click("text=政策")
    page.wait_for_url(live_server + "/vouchers/policy")
    assert page.locator("#publish").count() == 0  # the draft equals the published version
    shot(page, "vouchers-5-policy")

    log_in(page, live_server, "sme@demo.cn")
    page.goto(live_server + "/vouchers/")
    row = page.locator("#my-vouchers tbody tr", has_text="已发放").first
    assert "¥20,000.00" in row.inner_text() and "40%" in row.inner_text()


def test_large_enterprise_sees_why_it_is_not_eligible(live_server, page):
    log_in(page, live_server, "bigco@demo.cn")
    page.goto(live_server + "/vouchers/")
    problems = page.locator("#eligibility-problems").inner_text()
    assert "不属于任何可申领类别" in problems
    page.fill("#amount", "10000")
    page.fill("#project", "大型铸件无损检测")
    follow(page, "#apply-form button[type=submit]")
    assert "不符合所申报类别" in page.locator(".alert-danger").first.inner_text()
    assert "暂无创新券" in page.locator("#my-vouchers").inner_text()
