"""The bulletin as a PDF (A4), its Chinese in the embedded font of core/pdf_fonts.py."""
from io import BytesIO
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from booking.core.money import format_cny
from booking.core.pdf_fonts import build_pdf, font_name
from booking.reports.rules import Line


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _delta(value, points: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.1f}" + (" pt" if points else "%")


def bulletin_pdf(title: str, period_label: str, previous_label: str, lines: list[Line],
                 total: Line, under_way: bool = False) -> bytes:
    """`under_way`: the period is not over, which the PDF says as the page does."""
    font = font_name()
    text = ParagraphStyle("text", fontName=font, fontSize=8.5, leading=11)
    heading = ParagraphStyle("heading", parent=text, fontSize=15, leading=20)
    buffer = BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm,
                                 rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                                 title=title)
    header = [_("Institution"), _("Bookings"), _("Change"), _("Hours"), _("Change"),
              _("External share"), _("Change"), _("Vouchers redeemed"), _("New instruments"),
              _("Stale listings")]
    rows = [[Paragraph(escape(h), text) for h in header]]
    for line in [*lines, total]:
        now, change = line.now, line.changes
        rows.append([Paragraph(escape(line.name), text), str(now.bookings),
                     _delta(change["bookings"]), f"{now.hours:.1f}", _delta(change["hours"]),
                     _pct(now.external_share), _delta(change["external_share"], True),
                     format_cny(now.voucher_fen), str(now.new_instruments),
                     str(now.stale_listings)])
    table = Table(rows, repeatRows=1, colWidths=[70 * mm] + [21 * mm] * 9)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f8f9fa")),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story = [Paragraph(escape(title), heading),
             Paragraph(escape(_("Period %(period)s, compared with %(previous)s.",
                                period=period_label, previous=previous_label)), text),
             *([Paragraph(escape(_(
                 "%(period)s is not over yet: its figures so far are compared with the whole "
                 "of %(previous)s.", period=period_label, previous=previous_label)), text)]
               if under_way else []),
             Spacer(1, 5 * mm), table, Spacer(1, 4 * mm),
             Paragraph(escape(_("Hours are effective hours of use; the external share is the "
                                "share of hours used by other organisations. Vouchers "
                                "redeemed are the voucher shares of invoices paid in the "
                                "period, less what credit notes and clawbacks took back. "
                                "Stale listings were not reviewed for 180 days at the "
                                "period's end.")), text)]
    build_pdf(document, story)
    return buffer.getvalue()
