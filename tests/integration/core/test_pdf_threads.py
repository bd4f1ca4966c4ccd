"""PDFs built by several threads at once (a threaded server): the shared CJK font's subsets
must not mix (reportlab's TTFont keeps the subset being built in the one font object)."""
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from booking.core.pdf_fonts import build_pdf, font_name


def test_pdfs_built_in_threads_at_once_all_come_out(app):
    with app.app_context():
        style = ParagraphStyle("text", fontName=font_name())

    def one(n: int) -> bytes:
        buffer = BytesIO()
        text = f"账单 {n} " + "".join(chr(0x4E00 + (n * 97 + k * 13) % 20000) for k in range(300))
        build_pdf(SimpleDocTemplate(buffer), [Paragraph(text, style)] * 5)
        return buffer.getvalue()

    with ThreadPoolExecutor(8) as pool:
        documents = list(pool.map(one, range(48)))
    assert all(d.startswith(b"%PDF") and d.rstrip().endswith(b"%%EOF") for d in documents)
