"""The one font for Chinese in the PDFs (invoices, bulletins): WenQuanYi Micro Hei from Debian's
fonts-wqy-microhei (installed by .ci/run and the README's set-up), path in the PDF_CJK_FONT
setting. Subset and embedded, so a file reads the same on any machine; without the font file
the PDFs fall back to reportlab's built-in CID font STSong-Light (not embedded: readers must
supply it)."""
import os
import threading

from flask import current_app
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
EMBEDDED, FALLBACK = "WenQuanYiMicroHei", "STSong-Light"


def font_name() -> str:
    """Register (once) and name the font for Chinese text."""
    path = current_app.config.get("PDF_CJK_FONT") or DEFAULT_FONT_PATH
    if os.path.exists(path):
        if EMBEDDED not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(EMBEDDED, path, subfontIndex=0))
        return EMBEDDED
    if FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return FALLBACK


# The registered font is one object for the process, and reportlab's TTFont keeps the subset
# it is building in it: two threads building PDFs at once corrupted each other's subsets
# (a KeyError in makeSubset). One PDF is built at a time per process.
_BUILDING = threading.Lock()


def build_pdf(document, story) -> None:
    """document.build(story), one at a time (see _BUILDING)."""
    with _BUILDING:
        document.build(story)
