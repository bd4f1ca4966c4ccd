"""Invoice as a PDF (A4) with bilingual labels (中文 English), set wholly in one embedded
TrueType font (WenQuanYi Micro Hei, subset: every font of the file is embedded, so "·" and
"¥" read the same in any viewer). The font comes from the bulletin's helper
(booking.reports.pdf.font_name, Debian's fonts-wqy-microhei). The provider's bank details and
tax number come from its finance settings, for customers paying by bank transfer."""
from io import BytesIO
from xml.sax.saxutils import escape

from flask_babel import force_locale, format_datetime, ngettext
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from booking.billing.dunning import settings_of
from booking.billing.models import Invoice
from booking.billing.reports import voucher_returned_fen
from booking.core.money import format_cny
from booking.core.problems import _l


def _styles(font: str) -> dict[str, ParagraphStyle]:
    text = ParagraphStyle("text", fontName=font, bulletFontName=font, fontSize=9, leading=12.5)
    return {"text": text, "small": ParagraphStyle("small", parent=text, fontSize=7.5,
                                                  leading=10, textColor=colors.grey),
            "title": ParagraphStyle("title", parent=text, fontSize=16, leading=20),
            "number": ParagraphStyle("number", parent=text, fontSize=11, leading=14)}


def both(msgid: str) -> str:
    """A label in Chinese and English ("金额 Amount"), whatever the reader's language."""
    with force_locale("zh_CN"):
        chinese = _(msgid)
    return msgid if chinese == msgid else f"{chinese} {msgid}"


def _date(value) -> str:
    return format_datetime(value, "yyyy-MM-dd", rebase=True) if value else "—"


def _unbroken(value: str) -> str:
    return escape(value).replace(" ", "&nbsp;")


def _party(label: str, org, style, extra: list[str] = ()) -> Paragraph:
    code = both(_l("Unified social credit code"))
    rows = [escape(label), f"<font size=10.5>{escape(org.name_zh)}</font>",
            escape(org.name_en or ""), f"{escape(code)}: {escape(org.credit_code)}", *extra]
    return Paragraph("<br/>".join(rows), style)


def _bank(invoice: Invoice) -> list[str]:
    """The provider's bank details and tax number (what a bank transfer needs); a number is
    kept on one line (an account broke after its fourth group)."""
    settings = settings_of(invoice.provider_id)
    return [f"{escape(both(label))}: {_unbroken(value)}" for label, value in (
        (_l("Taxpayer number"), settings.tax_number),
        (_l("Bank and branch"), settings.bank_name),
        (_l("Bank account number"), settings.bank_account)) if value]


_KINDS = {"no_show": _l("no-show"), "late_cancel": _l("late cancellation"),
          "samples": _l("Samples sent in")}


def _item(line) -> str:
    """The line's description as issued (Chinese), in English under it where it has one, and
    what kind of charge it is in both (a penalty, samples sent in with their count), as the
    invoice page says."""
    text = line.description
    if line.kind in _KINDS:
        text += f" · {both(_KINDS[line.kind])}"
    if line.kind == "samples":
        text += f" ({_both_plural('%(num)d sample', '%(num)d samples', int(line.quantity))})"
    english = line.description_in("en")
    return escape(text) + (f"<br/><font size=8>{escape(english)}</font>"
                           if english != line.description else "")


def _both_plural(singular: str, plural: str, num: int) -> str:
    """A count in Chinese and English ("6 个样品 6 samples")."""
    with force_locale("zh_CN"):
        chinese = ngettext(singular, plural, num)
    with force_locale("en"):
        english = ngettext(singular, plural, num)
    return f"{chinese} {english}"


# a unit price per what, as the invoice page says it (in both languages where words differ)
_UNITS = {"usage": "/h", "no_show": "/h", "late_cancel": "/h", "samples": "/样品 sample"}


def _line_rows(invoice: Invoice, style) -> list[list]:
    quantity = _l("Hours") if invoice.quantities_in_hours else _l("Quantity")
    rows = [[Paragraph(escape(both(_l("Item"))), style), both(quantity),
             both(_l("Unit price")), both(_l("Amount"))]]
    for line in invoice.shown_lines:
        if line.included:  # its text says both languages already
            rows.append([Paragraph(escape(line.description), style), "—", "—",
                         format_cny(line.amount_fen)])
            continue
        quantity = str(int(line.quantity)) if line.kind in ("samples", "fee") else \
            str(line.quantity)
        share = f" × {line.charged_percent}%" if line.charged_percent else ""
        rows.append([Paragraph(_item(line), style), quantity,
                     format_cny(line.unit_price_fen) + _UNITS.get(line.kind, "") + share,
                     format_cny(line.amount_fen)])
    rows.append(["", "", both(_l("Subtotal")), format_cny(invoice.subtotal_fen)])
    if invoice.voucher_fen:
        rows.append(["", "", both(_l("Innovation voucher deduction")),
                     "-" + format_cny(invoice.voucher_fen)])
    deducted = invoice.deducted_fen
    total = both(_l("Credit amount") if invoice.is_credit_note else _l("Amount paid")
                 if invoice.state == "paid" and not deducted else _l("Amount due"))
    rows.append(["", "", total, format_cny(invoice.amount_due_fen)])
    returned = voucher_returned_fen(invoice)
    if returned:
        rows.append(["", "", both(_l("Returned to the innovation voucher")), format_cny(returned)])
    if deducted:
        rows.append(["", "", both(_l("Deducted from the invoice") if invoice.is_credit_note
                                  else _l("Credit notes deducted")), "-" + format_cny(deducted)])
    if invoice.payments and invoice.state == "issued":
        rows.append(["", "", both(_l("Outstanding")), format_cny(invoice.outstanding_fen)])
    return rows


def invoice_pdf(invoice: Invoice) -> bytes:
    from booking.core.pdf_fonts import build_pdf, font_name  # the one embedded CJK font

    font = font_name()
    styles = _styles(font)
    buffer = BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                                 topMargin=16 * mm, bottomMargin=16 * mm,
                                 title=invoice.number or "", pageCompression=0,
                                 initialFontName=font)  # else the canvas starts in Helvetica
    title = both(_l("Credit note")) if invoice.is_credit_note else both(_l("Invoice"))
    parties = Table([[_party(both(_l("Provider")), invoice.provider, styles["text"],
                             _bank(invoice)),
                      _party(both(_l("Customer")), invoice.customer_org, styles["text"])]],
                    colWidths=[87 * mm] * 2)
    parties.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 9),
                                 ("BOX", (0, 0), (0, 0), 0.5, colors.grey),
                                 ("BOX", (1, 0), (1, 0), 0.5, colors.grey),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    lines = Table(_line_rows(invoice, styles["text"]),
                  colWidths=[84 * mm, 24 * mm, 32 * mm, 34 * mm], repeatRows=1)
    lines.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 9),
                               ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                               ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                               ("LINEABOVE", (2, -1), (-1, -1), 0.6, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    issued, due = both(_l("Issued")), both(_l("Due"))
    dates = f"{issued}: {_date(invoice.issued_at)}"
    if not invoice.is_credit_note:
        dates += f" · {due}: {_date(invoice.due_at)}"
    elif invoice.credits is not None:  # a credit note names what it credits
        dates += f" · {both(_l('Credits invoice'))}: {invoice.credits.number}"
    if invoice.period:  # a month close's: the month of service it bills
        dates += f" · {both(_l('Period'))}: {invoice.period}"
    story = [Paragraph(escape(title), styles["title"]),
             Paragraph(escape(invoice.number or ""), styles["number"]),
             Paragraph(escape(dates), styles["text"])]
    if invoice.project is not None:
        charged = both(_l("Charged to project"))
        story.append(Paragraph(escape(f"{charged}: {invoice.project.label}"), styles["text"]))
    story += [Spacer(1, 6 * mm), parties, Spacer(1, 6 * mm), lines, Spacer(1, 4 * mm)]
    if invoice.paid_at is not None and invoice.paid_on:  # a receipt (a refund), not a request
        paid = both(_l("Paid") if not invoice.is_credit_note else _l("Deducted on")
                    if invoice.wholly_deducted else _l("Refunded"))
        story.append(Paragraph(escape(f"{paid}: {invoice.paid_on.isoformat()}"),
                               styles["text"]))
    elif invoice.kind == "invoice" and invoice.state == "issued":
        how = _l("Charged to the project account above: settled by internal transfer.") \
            if invoice.project is not None else \
            _l("Please pay by bank transfer to the account above, quoting the invoice number.")
        story.append(Paragraph(escape(both(how)), styles["small"]))
    build_pdf(document, story)
    return buffer.getvalue()
