"""Issue 20 end to end in Chromium: an SME submits a test order (送样委托单) with three samples
and sees the voucher's share in the quote; the lab accepts, receives the samples, prints their
labels and opens one label's QR link (the sample's staff page), schedules a staff-operated
booking, runs the tests on it and uploads the report; the SME follows every state, pays the
invoice (voucher share deducted) by card through localstripe and downloads the report; an
anonymous visitor verifies the report number."""
import re
from urllib.parse import urlsplit

import pytest

from tests.browser.helpers import follow, log_in, next_half_hour, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _fen(text: str) -> int:
    digits = text.strip().lstrip("-−").lstrip("¥").replace(",", "")
    yuan, _, jiao = digits.partition(".")
    return int(yuan) * 100 + int((jiao + "00")[:2])


@pytest.fixture
def order_setup(shop):
    """An instrument of 大连理工大学 that takes orders (50 元 a sample and test, 20 元 set-up,
    check-in an hour early) and an innovation voucher issued to the demo SME."""
    from sqlalchemy import select

    from booking.accounts.models import Organisation, User
    from booking.extensions import db
    from booking.subsidies import services
    from tests.factories import Factory

    with shop["app"].app_context():
        dlut = db.session.scalar(select(Organisation).where(Organisation.name_zh == "大连理工大学"))
        sme = db.session.scalar(select(User).where(User.email == "sme@demo.cn"))
        bureau = db.session.scalar(select(User).where(User.email == "bureau@demo.cn"))
        instrument = Factory().instrument(  # testing starts on a booking 15-75 minutes ahead
            organisation=dlut, hours="always", check_in_early_minutes=120,
            per_sample_fee_fen=5_000, capabilities="形貌观察\n能谱分析",
            name_zh="场发射扫描电镜（送样测试）", name_en="FE-SEM (test orders)")
        for rate in instrument.rates:
            rate.setup_fee_fen = 2_000
        voucher = services.apply_for_voucher(sme, amount_fen=2_000_000, project="粉体形貌表征",
                                             declared_class="sme_science_based", declaration={})
        db.session.commit()
        services.approve_voucher(voucher, bureau)
        db.session.commit()
        return {"instrument_id": instrument.id, "sme_id": sme.id}


def _state(page) -> str:
    return page.locator("#order-state [data-state]").get_attribute("data-state")


def test_an_order_from_form_to_verified_report(shop, order_setup, attach_3ds_card, browser,
                                               page, tmp_path):
    base = shop["url"]

    # 1. The SME fills the order form: three samples, one test, the quote with the voucher.
    log_in(page, base, "sme@demo.cn")
    page.goto(f"{base}/instruments/{order_setup['instrument_id']}")
    page.click("#order-link")
    for row, (name, state) in enumerate((("二氧化硅粉末", "powder"), ("氧化铝陶瓷片", "solid"),
                                         ("ITO 薄膜", "film"))):
        page.fill(f"#samples-{row}-name", name)
        page.select_option(f"#samples-{row}-state", state)
    page.check("#samples-2-hazards-3")  # flammable
    page.check("#tests-0")
    page.check("#hazards_acknowledged")
    follow(page, "#order-preview")
    fee, share = _fen(page.inner_text("#quote-fee")), _fen(page.inner_text("#quote-voucher"))
    assert fee == 3 * 5_000 + 2_000 and 0 < share < fee
    assert _fen(page.inner_text("#quote-payable")) == fee - share
    page.check("#terms")
    shot(page, "order-path-1-form")
    page.click("#order-submit")
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    order_url = page.url
    number = page.inner_text("#order-number")
    assert _state(page) == "submitted"

    # 2. The lab accepts, receives the samples and prints their labels.
    staff = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    lab = staff.new_page()
    log_in(lab, base, "manager.dlut@demo.cn")
    lab.goto(base + "/orders/lab")
    shot(lab, "order-path-2-lab-queue")
    follow(lab, f"#lab-orders a:text('{number}')")
    follow(lab, "#order-accept")
    assert _state(lab) == "accepted"
    lab.locator("#receive-form input[name^=condition-]").first.fill("瓶盖略有破损")
    lab.fill("#condition", "包装完好，三份样品齐全")
    follow(lab, "#order-receive")
    assert _state(lab) == "received"
    follow(lab, "#print-labels")
    labels = lab.locator("#labels .sample-label")
    assert labels.count() == 3 and lab.locator("#labels svg").count() == 3
    shot(lab, "order-path-2-labels")
    code = labels.first.get_attribute("data-code")
    qr_url = labels.first.get_attribute("data-url")
    lab.goto(base + urlsplit(qr_url).path)  # what scanning the label opens
    assert lab.inner_text("#sample-code") == code
    assert "瓶盖略有破损" in lab.inner_text("main")

    # 3. The lab schedules a staff-operated booking, tests on it and uploads the report.
    follow(lab, "#sample-order")
    lab.fill("#start", next_half_hour().strftime("%Y-%m-%dT%H:%M"))
    lab.fill("#minutes", "30")
    follow(lab, "#order-schedule")
    assert lab.locator("#order-bookings li").count() == 1
    follow(lab, "#order-start-testing")
    assert _state(lab) == "testing"
    report = tmp_path / "report.pdf"
    report.write_bytes(PDF)
    data = tmp_path / "spectra.csv"
    data.write_text("energy,counts\n1.2,300\n")
    lab.set_input_files("#report", str(report))
    lab.set_input_files("#data", str(data))
    lab.once("dialog", lambda dialog: dialog.accept())  # neither can be withdrawn: asked first
    follow(lab, "#order-upload-report")
    assert _state(lab) == "report_ready"
    report_number = lab.inner_text("#report-number")
    shot(lab, "order-path-3-report")

    # 4. The SME has followed every state; it pays the invoice with the voucher deducted.
    page.goto(order_url)
    states = [li.get_attribute("data-state") for li in page.locator("#order-events li").all()]
    assert states == ["submitted", "accepted", "received", "testing", "report_ready"]
    assert page.locator("#report-files a").count() == 2  # released: the invoice is issued
    follow(page, "#invoice-link")
    assert _fen(page.inner_text("#invoice-subtotal")) == fee
    assert _fen(page.locator("#voucher-line td").inner_text()) == share
    assert _fen(page.inner_text("#amount-due")) == fee - share
    attach_3ds_card(order_setup["sme_id"])
    card = page.locator("#card-element")
    for placeholder, value in (("number", "4000002760003184"), ("exp_month", "12"),
                               ("exp_year", "30"), ("cvc", "123"), ("postal_code", "11602")):
        card.locator(f"input[placeholder={placeholder}]").fill(value)
    page.click("#pay-button")
    page.get_by_role("button", name="Complete authentication").click()
    page.locator("#invoice-state").get_by_text("已支付").wait_for(timeout=20_000)

    # 5. ... and downloads the report.
    page.goto(order_url)
    with page.expect_download() as download:
        page.click("#report-files a[data-kind=report]")
    assert open(download.value.path(), "rb").read() == PDF
    shot(page, "order-path-4-customer")

    # 6. The lab closes the order; the SME sees it closed.
    lab.goto(order_url)
    lab.check("#outcome-0")
    lab.once("dialog", lambda dialog: dialog.accept())
    follow(lab, "#order-close")
    assert _state(lab) == "closed"
    page.reload()
    assert _state(page) == "closed"
    page.goto(base + "/orders/")
    assert number in page.inner_text("#orders")
    shot(page, "order-path-4-my-orders")
    staff.close()

    # 7. Anyone verifies the report number: number, date and lab, no content.
    visitor = browser.new_context(locale="zh-CN").new_page()
    visitor.goto(base + "/orders/verify")
    visitor.fill("#number", report_number)
    follow(visitor, "#verify-form button")
    assert visitor.inner_text("#verify-number") == report_number
    assert "大连理工大学" in visitor.inner_text("#verify-lab")
    assert visitor.locator("a[href*='/files/']").count() == 0
    shot(visitor, "order-path-5-verified")
    visitor.context.close()
