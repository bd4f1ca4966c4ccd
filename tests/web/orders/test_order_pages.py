"""Order pages: the form with its quote, submitting, the order page for the customer and the
lab, the lab's actions through forms, labels with QR codes, a sample's page, the report's
downloads (held back until the invoice allows) and the public verification page."""
import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.orders import services
from booking.orders.models import Order
from tests.moments import MONDAY_7_DEC_9AM

EN = {"Accept-Language": "en"}
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def frozen():
    with freeze_time(MONDAY_7_DEC_9AM) as clock:
        yield clock


@pytest.fixture
def lab(make):
    return make.testing_lab()


@pytest.fixture
def sme(make):
    applicant = make.voucher(amount_fen=5_000_000).applicant
    applicant.locale = "en"  # the pages are read in English below
    return applicant


def _form(**changes):
    data = {"samples-0-name": "Powder A", "samples-0-count": "2", "samples-0-state": "powder",
            "samples-1-name": "Film B", "samples-1-count": "1", "samples-1-state": "film",
            "samples-1-hazards": "flammable", "tests": "形貌观察 SEM imaging",
            "other_tests": "XPS depth profile", "leftovers": "dispose", "urgent": "",
            "hazards_acknowledged": "y", "terms": "y", "submit": "Submit order"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_offers_the_capabilities_and_quotes(frozen, client, login, lab, sme):
    login(sme)
    page = client.get(f"/orders/new/{lab.instrument.id}", headers=EN).get_data(as_text=True)
    assert "形貌观察 SEM imaging" in page and "能谱分析 EDS" in page
    response = client.post(f"/orders/new/{lab.instrument.id}", headers=EN,
                           data=_form(submit=None, preview="Update quote"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    # 3 samples × 2 tests × 50 元 + 20 元 set-up = 320 元; the voucher pays 40 %
    assert re.search(r'id="quote-fee">¥320\.00', text)
    assert re.search(r'id="quote-voucher">−¥128\.00', text)
    assert db.session.query(Order).count() == 0


def test_a_quote_without_a_voucher_has_no_voucher_line(frozen, client, make, login, lab):
    """Reported: a university researcher's quote said "Innovation voucher pays −¥0.00"."""
    login(make.user())
    text = client.post(f"/orders/new/{lab.instrument.id}", headers=EN,
                       data=_form(submit=None, preview="Update quote")).get_data(as_text=True)
    assert 'id="quote-fee"' in text and 'id="quote-voucher"' not in text


def test_submitting_creates_the_order_and_shows_it(frozen, client, login, lab, sme):
    login(sme)
    response = client.post(f"/orders/new/{lab.instrument.id}", headers=EN, data=_form())
    assert response.status_code == 302
    order = db.session.query(Order).one()
    assert [s.name for s in order.samples] == ["Powder A", "Film B"]
    assert order.samples[1].hazards == ["flammable"] and order.leftovers == "dispose"
    assert order.tests == ["形貌观察 SEM imaging", "XPS depth profile"]
    page = client.get(response.location, headers=EN).get_data(as_text=True)
    assert order.number in page and 'data-state="submitted"' in page
    # before the lab codes them, each sample's card on a phone is headed by its place, not "—"
    assert "<tr><td>Sample 1</td>" in page and "<tr><td>Sample 2</td>" in page
    assert "lab-actions" not in page  # the customer sees no lab actions
    payable = re.search(r'id="order-payable">([^<]+)<', page).group(1)  # what is left to pay
    assert payable == f"¥{order.payable_fen / 100:,.2f}" and order.voucher_fen > 0


def test_order_states_are_shown_in_the_readers_language(frozen, client, login, lab, sme):
    login(sme)
    client.post(f"/orders/new/{lab.instrument.id}", headers=EN, data=_form())
    order = db.session.query(Order).one()
    assert "submitted" in client.get(f"/orders/{order.id}", headers=EN).get_data(as_text=True)
    login(lab.manager)  # reads Chinese
    for page in (client.get(f"/orders/{order.id}"), client.get("/orders/lab")):
        text = page.get_data(as_text=True)
        assert "已提交" in text and "已完成" in text and ">submitted<" not in text
    assert ">report ready<" not in client.get(f"/orders/{order.id}").get_data(as_text=True)


def test_a_cancelled_order_shows_where_it_stopped(frozen, client, login, make, lab, sme):
    """Reported: a cancelled order's path still offered every step to come."""
    order = make.order(lab.instrument, sme)
    services.cancel_order(order, sme)
    db.session.commit()
    login(sme)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    path = page[page.index('id="order-path"'):page.index("</ol>", page.index('id="order-path"'))]
    assert 'data-step="submitted"' in path and 'id="order-stopped"' in path
    assert 'data-step="accepted"' not in path and 'data-step="completed"' not in path


def test_a_refused_form_lists_every_problem(frozen, client, login, lab, sme):
    login(sme)
    response = client.post(f"/orders/new/{lab.instrument.id}", headers=EN, data=_form(
        terms=None, hazards_acknowledged=None, tests=None, other_tests=""))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Accept the terms" in text and "Hazardous samples are refused" in text
    assert "Name between 1 and 10 tests" in text
    assert db.session.query(Order).count() == 0


def test_the_lab_runs_the_order_through_its_page(frozen, client, login, make, lab, sme):
    order = make.order(lab.instrument, sme, samples=3)
    login(lab.manager)
    base = f"/orders/{order.id}"
    first = client.get(base, headers=EN).get_data(as_text=True)
    assert "order-accept" in first
    assert "客户应付" in first and "您需支付" not in first  # the lab does not pay
    assert client.post(f"{base}/accept").status_code == 302
    sample_id = order.samples[0].id
    client.post(f"{base}/receive", data={"condition": "intact", f"condition-{sample_id}": "wet"})
    db.session.refresh(order)
    assert order.state == "received" and order.samples[0].condition == "wet"
    labels = client.get(f"{base}/labels", headers=EN).get_data(as_text=True)
    assert labels.count("<svg") == 3 and order.samples[0].code in labels
    url = re.search(r'data-url="([^"]+)"', labels).group(1)
    assert url.endswith(f"/orders/samples/{order.samples[0].code}")
    sample_page = client.get(urlsplit(url).path, headers=EN)  # what the QR code opens
    assert sample_page.status_code == 200
    assert order.samples[0].code in sample_page.get_data(as_text=True)
    start = MONDAY_7_DEC_9AM + timedelta(minutes=30)
    client.post(f"{base}/schedule", data={"start": "2026-12-07T09:30", "minutes": "60"})
    assert len(order.bookings) == 1 and order.bookings[0].start_at == start
    told = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.recipient == order.customer_user.email,
        OutboxMessage.kind == "booking.approved"))  # a booking they never asked for: what for
    assert f"The lab booked it for you: Test order {order.number}" in told  # their language
    frozen.move_to(start)
    client.post(f"{base}/start-testing")
    assert order.state == "testing"
    response = client.post(f"{base}/report", content_type="multipart/form-data", data={
        "report": (io.BytesIO(PDF), "report.pdf"), "data": (io.BytesIO(b"a,b\n"), "d.csv")})
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.state == "report_ready" and order.invoice.state == "issued"
    # the lab manager reads the invoice (acting on it is its finance office's)
    assert order.invoice.can_view(lab.manager) and not order.invoice.can_manage(lab.manager)
    page = client.get(base).get_data(as_text=True)
    assert f'id="invoice-link">{order.invoice.number}<' in page
    assert "d.csv</a> <span class=\"small text-muted\">(4 字节)</span>" in page  # not "Bytes"
    # the booking's time and samples the order's price covers: one line, no quantity or price
    # (it read "5 × ¥0.00/样品" and "0.00 × ¥0.00/小时", its words in both languages)
    assert len([line for line in order.invoice.lines if line.included]) == 2
    login(sme)
    invoice_page = client.get(f"/invoices/{order.invoice.id}").get_data(as_text=True)
    assert invoice_page.count('class="line-included') == 1
    assert "· instrument time and samples included in the order's price</td>" in invoice_page
    assert "含在委托费用中 /" not in invoice_page  # the reader's language only
    login(lab.manager)
    client.post(f"{base}/close", data={"outcome": "dispose"})
    assert order.state == "closed"
    verify = client.get("/orders/verify", query_string={"number": order.report_number},
                        headers=EN).get_data(as_text=True)
    assert order.report_number in verify and "report.pdf" not in verify


def _reported(make, lab, sme, frozen, release_on="issued"):
    services.save_settings(lab.instrument, lab.manager, surcharge_percent=0,
                           release_on=release_on)
    order = make.order(lab.instrument, sme)
    services.accept_order(order, lab.manager)
    services.receive_order(order, lab.manager, condition="ok")
    start = MONDAY_7_DEC_9AM + timedelta(minutes=30)
    services.schedule_booking(order, lab.manager, start=start, end=start + timedelta(hours=1))
    frozen.move_to(start)
    services.start_testing(order, lab.manager)
    from werkzeug.datastructures import FileStorage

    from booking.orders import files

    files.store(order, FileStorage(io.BytesIO(PDF), "C:\\报告\\检测报告.pdf"), "report",
                lab.manager)  # a Chinese name, sent with its folder by an old browser
    services.complete_with_report(order, lab.manager, "LAB")
    db.session.commit()
    return order


def test_the_customer_downloads_the_report_once_the_invoice_allows(frozen, client, login,
                                                                    make, lab, sme):
    order = _reported(make, lab, sme, frozen, release_on="paid")
    report = order.files[0]
    login(sme)
    page = client.get(f"/orders/{order.id}", headers=EN).get_data(as_text=True)
    assert "report-locked" in page and "once the invoice is paid" in page
    assert client.get(f"/orders/{order.id}/files/{report.id}").status_code == 403
    from booking.billing.payments import record_bank_transfer

    finance = make.user(role="finance", organisation=lab.organisation)
    record_bank_transfer(order.invoice, finance, "BANK-1")
    db.session.commit()
    response = client.get(f"/orders/{order.id}/files/{report.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert report.filename == "检测报告.pdf"  # its own name, offered on download
    assert "filename*=UTF-8''%E6%A3%80%E6%B5%8B%E6%8A%A5%E5%91%8A.pdf" in response.headers[
        "Content-Disposition"]


def test_verification_of_an_unknown_number_says_so(client):
    response = client.get("/orders/verify?number=XX-R2026-000001", headers=EN)
    assert response.status_code == 404
    assert "No report with this number" in response.get_data(as_text=True)
    assert client.get("/orders/verify", headers=EN).status_code == 200


def test_the_lab_page_shows_the_turnaround(frozen, client, login, make, lab, sme):
    _reported(make, lab, sme, frozen)
    login(lab.manager)
    page = client.get("/orders/lab", headers=EN).get_data(as_text=True)
    assert 'id="turnaround"' in page and f'data-instrument="{lab.instrument.id}"' in page
    assert client.get("/orders/lab?state=bogus").status_code == 400


def test_order_settings(client, login, lab):
    login(lab.manager)
    url = f"/orders/instruments/{lab.instrument.id}/settings"
    assert client.get(url).status_code == 200
    assert client.post(url, data={"surcharge": "300", "release_on": "paid"}).status_code == 422
    assert client.post(url, data={"surcharge": "30", "release_on": "paid"}).status_code == 302
    settings = services.settings_for(lab.instrument)
    assert (settings.urgent_surcharge_percent, settings.release_on) == (30, "paid")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_staff_add_photos_of_a_received_sample(frozen, client, login, make, lab, sme):
    order = make.order(lab.instrument, sme)
    services.accept_order(order, lab.manager)
    services.receive_order(order, lab.manager, condition="ok")
    db.session.commit()
    code = order.samples[0].code
    login(lab.manager)
    response = client.post(f"/orders/samples/{code}/photo", content_type="multipart/form-data",
                           data={"photo": (io.BytesIO(PNG), "jar.png")})
    assert response.status_code == 302
    [photo] = order.files
    assert photo.kind == "photo" and photo.sample_id == order.samples[0].id
    shown = client.get(f"/orders/{order.id}/files/{photo.id}")
    assert shown.status_code == 200 and shown.data == PNG
    assert "attachment" not in shown.headers.get("Content-Disposition", "")
    client.post(f"/orders/samples/{code}/photo", content_type="multipart/form-data",
                data={"photo": (io.BytesIO(b"GIF89a"), "jar.png")})
    assert len(order.files) == 1  # not a PNG: refused
    login(sme)  # the customer sees no photos
    assert client.get(f"/orders/{order.id}/files/{photo.id}").status_code == 403
    assert client.post(f"/orders/samples/{code}/photo", content_type="multipart/form-data",
                       data={"photo": (io.BytesIO(PNG), "x.png")}).status_code == 404


def test_the_labs_scorecard_shows_the_order_turnaround(frozen, client, login, make, lab, sme):
    from booking.rankings import services as rankings

    lab.instrument.purchase_date = MONDAY_7_DEC_9AM.date().replace(year=2020)
    _reported(make, lab, sme, frozen)  # received 09:00, reported 09:30
    frozen.move_to("2027-01-04 02:00:00")  # a quarter's ranking is published once it ended
    snapshot = rankings.compute_snapshot("2026Q4")
    rankings.publish_snapshot(snapshot, None)
    db.session.commit()
    login(lab.manager)
    page = client.get(f"/rankings/2026Q4/institutions/{lab.organisation.id}",
                      headers=EN).get_data(as_text=True)
    # the rankings' turnaround indicator: received 09:00, reported 09:30 -> 0.5 h, full marks
    row = re.search(r'<tr id="indicator-turnaround">.*?</tr>', page, re.S).group(0)
    assert "0.5 h" in row and "2.00 / 2" in row


def test_english_readers_read_the_tests_in_english_and_the_outcome_in_words(
        frozen, client, login, lab, sme):
    """Reported: the English form and order page listed the tests in Chinese (the English list
    was there), and a closed order's history said "dispose"."""
    lab.instrument.capabilities_en = "Surface morphology (SEM)\nElemental analysis (EDS)"
    db.session.commit()
    login(sme)
    form = client.get(f"/orders/new/{lab.instrument.id}").get_data(as_text=True)
    assert 'value="形貌观察 SEM imaging"' in form and "Surface morphology (SEM)" in form
    client.post(f"/orders/new/{lab.instrument.id}", data=_form(other_tests=""))
    order = db.session.query(Order).one()
    assert order.tests == ["形貌观察 SEM imaging"]  # the order names them as the lab does
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "<li>Surface morphology (SEM)</li>" in page
    services.accept_order(order, lab.manager)
    services.receive_order(order, lab.manager, condition="ok")
    order.state = "report_ready"  # the path to it is the services' test's
    services.close_order(order, lab.manager, "dispose")
    db.session.commit()
    closed = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Disposed of" in closed and ">dispose<" not in closed


def test_the_lab_issues_a_voided_invoice_again_from_the_order_page(frozen, client, login, lab,
                                                                  sme, make):
    from booking.billing.invoicing import void_invoice
    from booking.orders import files
    from tests.integration.orders.test_order_services import _pdf, _run_to_testing

    order = make.order(lab.instrument, sme)
    _run_to_testing(order, lab, frozen)
    files.store(order, _pdf(), "report", lab.manager)
    first = services.complete_with_report(order, lab.manager, "LAB")
    void_invoice(first, make.user(role="finance", organisation=lab.organisation), "抬头有误")
    db.session.commit()
    login(lab.manager)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="reissue-form"' in page
    login(sme)  # the customer may not
    assert client.post(f"/orders/{order.id}/reissue-invoice").status_code == 403
    login(lab.manager)
    assert client.post(f"/orders/{order.id}/reissue-invoice").status_code == 302
    db.session.expire_all()
    assert order.invoice.state == "issued" and order.invoice.id != first.id
    assert 'id="reissue-form"' not in client.get(f"/orders/{order.id}").get_data(as_text=True)
