"""The invoice PDF embeds every font (pdffonts), shows the provider's bank details and tax
number, and renders to an image (pdftoppm): poppler-utils, installed by .ci/run."""
import shutil
import subprocess  # noqa: S404 - poppler's tools, fixed arguments

import pytest

from booking.billing.dunning import save_settings
from booking.core.money import format_cny
from booking.extensions import db
from tests.web.billing.test_billing_api import sold  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(not shutil.which("pdffonts"),
                                reason="poppler-utils (pdffonts, pdftoppm) not installed")


def _run(*command: str) -> str:
    return subprocess.run([shutil.which(command[0]), *command[1:]],  # noqa: S603 - fixed args
                          capture_output=True, text=True, check=True).stdout


def _pdf(client, login, sold, tmp_path):  # noqa: F811
    save_settings(sold["invoice"].provider_id, sold["finance"], bank_name="中国银行大连高新园区支行",
                  bank_account="2640 6888 0123", tax_number="12210000400000123X",
                  block_overdue_days=None)
    db.session.commit()
    login(sold["customer"])
    response = client.get(f"/invoices/{sold['invoice'].id}.pdf")
    assert response.status_code == 200
    path = tmp_path / "invoice.pdf"
    path.write_bytes(response.data)
    return path


def test_every_font_is_embedded_and_the_bank_details_are_printed(client, login, sold,  # noqa: F811
                                                                  tmp_path):
    path = _pdf(client, login, sold, tmp_path)
    fonts = _run("pdffonts", str(path)).splitlines()[2:]
    assert fonts, "the PDF names its fonts"
    for row in fonts:
        assert row.split()[-5] == "yes", row  # emb column: every font embedded
    text = _run("pdftotext", "-layout", str(path), "-")
    for needle in ("中国银行大连高新园区支行", "2640 6888 0123", "12210000400000123X",
                   sold["invoice"].number, "·", "¥", "Amount due"):
        assert needle in text, needle
    assert "\ufffd" not in text
    line = next(iter(sold["invoice"].lines))  # a unit price says per what, as on the page
    assert f"{format_cny(line.unit_price_fen)}/h" in text


def test_the_invoice_renders_to_an_image(client, login, sold, tmp_path):  # noqa: F811
    path = _pdf(client, login, sold, tmp_path)
    _run("pdftoppm", "-png", "-r", "60", "-singlefile", str(path), str(tmp_path / "page"))
    image = (tmp_path / "page.png").read_bytes()
    assert image.startswith(b"\x89PNG") and len(image) > 10_000


def test_a_paid_invoices_pdf_is_a_receipt_not_a_request_to_pay(client, login, sold,  # noqa: F811
                                                               tmp_path):
    """Reported: the PDF of a paid invoice carried no mark of payment and still asked for a
    bank transfer."""
    from booking.billing.payments import record_bank_transfer

    unpaid = _run("pdftotext", str(_pdf(client, login, sold, tmp_path)), "-")
    assert "Please pay by bank transfer" in unpaid
    record_bank_transfer(sold["invoice"], sold["finance"], "BANK-2026-77")
    db.session.commit()
    paid = _run("pdftotext", str(_pdf(client, login, sold, tmp_path)), "-")
    assert "Please pay by bank transfer" not in paid
    assert f"Paid: {sold['invoice'].paid_on.isoformat()}" in paid
    assert "Amount paid" in paid and "Amount due" not in paid
    from booking.billing.invoicing import credit_note

    note = credit_note(sold["invoice"], 1_000, "一个样品失败", sold["finance"], settled=True)
    db.session.commit()
    path = tmp_path / "note.pdf"
    path.write_bytes(client.get(f"/invoices/{note.id}.pdf").data)
    refunded = _run("pdftotext", str(path), "-")
    assert f"Refunded: {note.paid_on.isoformat()}" in refunded and "退款日期" in refunded


def test_a_credit_note_deducted_from_an_open_invoice_is_printed_on_both(client, login, sold,  # noqa: F811
                                                                       tmp_path):
    from booking.billing.invoicing import credit_note

    note = credit_note(sold["invoice"], 1_000, "一个样品失败", sold["finance"])
    db.session.commit()
    invoice = " ".join(_run("pdftotext", str(_pdf(client, login, sold, tmp_path)), "-").split())
    assert "已抵扣红字冲销单 Credit notes deducted -¥10.00" in invoice
    assert "Outstanding ¥390.00" in invoice and "Please pay by bank transfer" in invoice
    path = tmp_path / "note.pdf"
    path.write_bytes(client.get(f"/invoices/{note.id}.pdf").data)
    printed = " ".join(_run("pdftotext", str(path), "-").split())
    assert "Deducted from the invoice -¥10.00" in printed
    assert f"Deducted on: {note.paid_on.isoformat()}" in printed and "Refunded" not in printed


def test_a_project_invoices_pdf_asks_for_no_bank_transfer(client, login, sold, make,  # noqa: F811
                                                          tmp_path):
    from tests.factories.groups import create_group, create_project

    pi = make.user(organisation=sold["owner"])
    project = create_project(create_group(pi), number="NSFC-2026-07")
    instrument = sold["invoice"].lines[0].instrument
    invoice = make.issued_invoice(instrument, sold["owner"], 5_000, sold["invoice"].issued_at,
                                  customer_user_id=pi.id, project_id=project.id)
    login(pi)
    path = tmp_path / "project.pdf"
    path.write_bytes(client.get(f"/invoices/{invoice.id}.pdf").data)
    text = " ".join(_run("pdftotext", str(path), "-").split())
    assert "settled by internal transfer" in text and "Please pay by bank transfer" not in text


def test_the_pdfs_lines_say_what_the_page_says_in_both_languages(client, login, sold,  # noqa: F811
                                                                 tmp_path):
    """Reported: the PDF dropped "no-show" and "late cancellation" from its lines, priced
    samples without "per sample", and glued English words onto Chinese names. Each line keeps
    its description as issued, the English one under it, and its kind in both languages."""
    from booking.billing.models import InvoiceLine

    invoice = sold["invoice"]
    instrument = invoice.lines[0].instrument
    instrument.name_en = "Scanning electron microscope"
    for kind, quantity, unit in (("no_show", 1, 12_000), ("late_cancel", 1, 12_000),
                                 ("samples", 6, 20_000)):
        db.session.add(InvoiceLine(invoice_id=invoice.id, kind=kind, quantity=quantity,
                                   description=f"{instrument.name_zh} 2026-03-02 10:00",
                                   unit_price_fen=unit, amount_fen=0,
                                   instrument_id=instrument.id))
    db.session.commit()
    text = " ".join(_run("pdftotext", str(_pdf(client, login, sold, tmp_path)), "-").split())
    for needle in ("未到场 no-show", "逾时取消 late cancellation",
                   "送样检测 Samples sent in (6 个样品 6 samples)", "¥200.00/样品 sample",
                   "Scanning electron microscope 2026-03-02 10:00"):
        assert needle in text, needle


def test_a_month_close_s_pdf_names_its_month(client, login, sold, tmp_path):  # noqa: F811
    """Reported: the page said the billing period, the PDF (what goes to the customer's
    accounts) did not."""
    from sqlalchemy import update

    from booking.billing.models import Invoice

    db.session.execute(update(Invoice).where(Invoice.id == sold["invoice"].id)
                       .values(period="2026-03"))
    db.session.commit()
    db.session.expire(sold["invoice"])
    text = _run("pdftotext", "-layout", str(_pdf(client, login, sold, tmp_path)), "-")
    assert "Period" in text and "2026-03" in text
