"""Invoice as a PDF (A4), in the viewer's language. reportlab's built-in CID font STSong-Light
renders Chinese without shipping a font file; numbers and codes use Helvetica."""
from io import BytesIO
from xml.sax.saxutils import escape

from flask_babel import format_datetime
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from booking.billing.models import Invoice
from booking.core.money import format_cny

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=9.5, leading=13)
TITLE = ParagraphStyle("title", parent=TEXT, fontSize=16, leading=20)
NUMBER = ParagraphStyle("number", fontName="Helvetica", fontSize=11, leading=14)


def _date(value) -> str:
    return format_datetime(value, "yyyy-MM-dd", rebase=True) if value else "—"


def _party(label: str, org) -> Paragraph:
    return Paragraph(f"{label}<br/><b>{org.name_zh}</b><br/>{org.name_en or ''}<br/>"
                     f"{_('Unified social credit code')}: {org.credit_code}", TEXT)


def _item(line) -> str:
    """The line's description; samples (送样) lines say so, with their count."""
    if line.kind == "samples":
        return escape(f"{line.description} · {_('Samples (送样)')} "
                      f"({_('%(count)s samples', count=int(line.quantity))})")
    return line.description


def _line_rows(invoice: Invoice) -> list[list]:
    samples = any(line.kind == "samples" for line in invoice.lines)
    rows = [[Paragraph(_("Item"), TEXT), _("Quantity") if samples else _("Hours"),
             _("Unit price"), _("Amount")]]
    for line in invoice.lines:
        quantity = str(int(line.quantity)) if line.kind == "samples" else str(line.quantity)
        rows.append([Paragraph(_item(line), TEXT), quantity,
                     format_cny(line.unit_price_fen), format_cny(line.amount_fen)])
    rows.append(["", "", _("Subtotal"), format_cny(invoice.subtotal_fen)])
    if invoice.voucher_fen:
        rows.append(["", "", _("Innovation voucher deduction"), "-" + format_cny(invoice.voucher_fen)])
    rows.append(["", "", _("Amount due"), format_cny(invoice.amount_due_fen)])
    return rows


def invoice_pdf(invoice: Invoice) -> bytes:
    buffer = BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                                 topMargin=16 * mm, bottomMargin=16 * mm,
                                 title=invoice.number or "", pageCompression=0)
    title = _("Credit note") if invoice.is_credit_note else _("Invoice")
    parties = Table([[_party(_("Provider"), invoice.provider),
                      _party(_("Customer"), invoice.customer_org)]], colWidths=[87 * mm] * 2)
    parties.setStyle(TableStyle([("BOX", (0, 0), (0, 0), 0.5, colors.grey),
                                 ("BOX", (1, 0), (1, 0), 0.5, colors.grey),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    lines = Table(_line_rows(invoice), colWidths=[92 * mm, 20 * mm, 30 * mm, 32 * mm],
                  repeatRows=1)
    lines.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9.5),
                               ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                               ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                               ("LINEABOVE", (2, -1), (-1, -1), 0.6, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    dates = f"{_('Issued')}: {_date(invoice.issued_at)}"
    if not invoice.is_credit_note:
        dates += f" · {_('Due')}: {_date(invoice.due_at)}"
    document.build([Paragraph(title, TITLE), Paragraph(invoice.number or "", NUMBER),
                    Paragraph(dates, TEXT), Spacer(1, 6 * mm), parties, Spacer(1, 6 * mm),
                    lines])
    return buffer.getvalue()
