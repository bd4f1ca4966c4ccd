"""Issue 6 end to end in Chromium: an SME with an issued innovation voucher books an instrument
and sees the voucher's share in the live quote, uses it at the kiosk (check-in, check-out),
finds the voucher deduction on the invoice issued at check-out, pays only the remainder by
card (localstripe, see test_billing.py), and the bureau's quarterly reimbursement statement
for the provider carries the redeemed amount."""
from datetime import timedelta

import pytest

from tests.browser.helpers import DEMO_PASSWORD, follow, log_in, next_half_hour, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]


def _fen(text: str) -> int:
    """'¥1,234.50' or '−¥80.00' -> 123450 / 8000 (the sign is dropped)."""
    digits = text.strip().lstrip("-−").lstrip("¥").replace(",", "")
    yuan, _, jiao = digits.partition(".")
    return int(yuan) * 100 + int((jiao + "00")[:2])


@pytest.fixture
def voucher_setup(shop):
    """An instrument of 大连理工大学 open all week, a kiosk token for it, and an innovation
    voucher issued to the demo SME (applied for and approved through the services)."""
    from sqlalchemy import select

    from booking.accounts.models import Organisation, User
    from booking.extensions import db
    from booking.metering.services import create_instrument_token
    from booking.subsidies import services
    from tests.factories import Factory

    with shop["app"].app_context():
        dlut = db.session.scalar(select(Organisation).where(Organisation.name_zh == "大连理工大学"))
        manager = db.session.scalar(select(User).where(User.email == "manager.dlut@demo.cn"))
        sme = db.session.scalar(select(User).where(User.email == "sme@demo.cn"))
        bureau = db.session.scalar(select(User).where(User.email == "bureau@demo.cn"))
        # check-in opens two hours early: the booking below starts 15-75 minutes from now
        # (the day's last slot ends at 23:30; after 22:45 the next one is at midnight)
        instrument = Factory().instrument(organisation=dlut, hours="always",
                                          check_in_early_minutes=120,
                                          name_zh="场发射扫描电镜（创新券测试）",
                                          name_en="FE-SEM (voucher test)")
        _token, raw = create_instrument_token(instrument, "kiosk", manager)
        voucher = services.apply_for_voucher(sme, amount_fen=2_000_000,
                                             project="复合材料断口形貌表征",
                                             declared_class="sme_science_based", declaration={})
        db.session.commit()
        services.approve_voucher(voucher, bureau)
        db.session.commit()
        return {"instrument_id": instrument.id, "token": raw, "sme_id": sme.id}


def test_voucher_pays_its_share_and_is_reimbursed(shop, voucher_setup, attach_3ds_card, browser,
                                                  page):
    base = shop["url"]
    start = next_half_hour()
    end = start + timedelta(minutes=30)

    # 1. The SME books and sees the voucher's share in the live quote.
    log_in(page, base, "sme@demo.cn")
    page.goto(f"{base}/instruments/{voucher_setup['instrument_id']}/book")
    page.locator(".fc-timegrid").wait_for()
    page.fill("#start", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#end", end.strftime("%Y-%m-%dT%H:%M"))
    page.dispatch_event("#end", "change")
    page.locator("#quote-voucher:not(.d-none)").wait_for()
    fee = _fen(page.inner_text("#quote-fee"))
    share = _fen(page.inner_text("#quote-voucher"))
    payable = _fen(page.inner_text("#quote-payable"))
    assert fee == 20_000  # 30 minutes at the enterprise rate of 400 元/h
    assert 0 < share < fee and payable == fee - share
    page.fill("#purpose", "复合材料断口 SEM 形貌表征")
    shot(page, "voucher-path-1-quote")
    page.click("#book-submit")
    page.wait_for_url(base + "/bookings/mine")
    assert "场发射扫描电镜" in page.locator("#upcoming tbody tr").first.inner_text()

    # 2. The booking is used: check-in and check-out at the instrument's kiosk.
    kiosk_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    kiosk = kiosk_context.new_page()
    kiosk.goto(base + "/kiosk")
    kiosk.fill("#token", voucher_setup["token"])
    kiosk.click("form button[type=submit]")
    kiosk.wait_for_url(base + "/kiosk")
    for expected in ("已签到", "已签退"):
        kiosk.fill("#email", "sme@demo.cn")
        kiosk.fill("#password", DEMO_PASSWORD)
        with kiosk.expect_navigation():
            kiosk.click("#kiosk-submit")
        assert expected in kiosk.locator(".alert-success").inner_text()
    kiosk_context.close()

    # 3. The invoice issued at check-out deducts the voucher; the SME pays the rest by card.
    page.goto(base + "/invoices")
    follow(page, "#invoices a")
    assert _fen(page.inner_text("#invoice-subtotal")) == fee
    voucher_line = page.locator("#voucher-line")
    assert "创新券" in voucher_line.inner_text()
    assert _fen(voucher_line.locator("td").inner_text()) == share
    assert _fen(page.inner_text("#amount-due")) == payable
    assert page.inner_text("#amount-due") in page.inner_text("#pay-button")  # only the rest
    assert "未支付" in page.locator("#invoice-state").inner_text()
    attach_3ds_card(voucher_setup["sme_id"])
    card = page.locator("#card-element")
    for placeholder, value in (("number", "4000002760003184"), ("exp_month", "12"),
                               ("exp_year", "30"), ("cvc", "123"), ("postal_code", "11602")):
        card.locator(f"input[placeholder={placeholder}]").fill(value)
    shot(page, "voucher-path-2-invoice")
    page.click("#pay-button")
    page.get_by_role("button", name="Complete authentication").click()
    page.locator("#invoice-state").get_by_text("已支付").wait_for(timeout=20_000)
    assert page.locator("#pay-form").count() == 0
    shot(page, "voucher-path-3-paid")

    # 4. The redemption waits for the quarter's statement, which is built once the quarter
    #    is over; then the provider's statement includes it.
    log_in(page, base, "bureau@demo.cn")
    page.goto(base + "/vouchers/reimbursements")  # the quarter over; this one is a pill away
    with page.expect_navigation():
        page.click("#quarter-pills a:not(.active)")
    waiting = page.locator("#waiting tbody tr", has_text="大连理工大学")
    assert _fen(waiting.locator("td").nth(2).inner_text()) == share
    assert "季度结束后" in waiting.inner_text()
    with page.expect_navigation():
        page.click("form button.btn-primary")
    assert "尚未结束" in page.locator("#quarter-error").inner_text()
    _build_statements_after_the_quarter(shop["app"])
    page.reload()
    row = page.locator("#statements tbody tr", has_text="大连理工大学")
    cells = row.locator("td")
    assert cells.nth(1).inner_text().strip() == "1"
    assert _fen(cells.nth(2).inner_text()) == share
    shot(page, "voucher-path-4-reimbursement")

    # 5. The bureau pays it by transfer and records the transfer's reference, which the
    #    provider's finance office reads on its statement to match the money received.
    row.locator("input[name=reference]").fill("GK-2026-0701")
    page.once("dialog", lambda dialog: dialog.accept())  # asked first, with the amount
    with page.expect_navigation():
        row.locator("button", has_text="标记为已支付").click()
    row = page.locator("#statements tbody tr", has_text="大连理工大学")
    assert "已支付" in row.inner_text() and "GK-2026-0701" in row.inner_text()
    log_in(page, base, "finance.dlut@demo.cn")
    page.goto(base + "/vouchers/statements")
    assert page.locator(".statement-reference").first.inner_text() == "GK-2026-0701"


def _build_statements_after_the_quarter(app):
    """The bureau's click on the first day of the next quarter (the clock moved on)."""
    from freezegun import freeze_time

    from booking.core.clock import current_quarter, local_today
    from booking.extensions import db
    from booking.subsidies import reimbursements

    with app.app_context():
        quarter = current_quarter(local_today())
        with freeze_time(quarter.end + timedelta(hours=1)):
            assert len(reimbursements.reimburse(quarter.label)) == 1
            db.session.commit()
