"""Printable survey invitation letters: one A4 page per household, in one PDF per batch.

Each page has the address block where a DIN window envelope shows it (20 mm from the left,
45 mm from the top), the QR code of the household's Telegram link on the right, and the
letter in Chinese above English. The household's own language is set a size larger; the
other stays readable for everyone else under the same roof. Both personal links are
printed in full for those who type them in.

Chinese is set in reportlab's built-in CID font STSong-Light (the PDF viewer supplies the
glyphs), so no font file has to ship with the project.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, KeepInFrame, Paragraph, Spacer

from civic.campaigns import qr_matrix
from civic.i18n import LANGUAGES, normalise_language, t

CJK_FONT = "STSong-Light"
LATIN_FONT, LINK_FONT = "Helvetica", "Courier"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
ADDRESS_TOP, ADDRESS_WIDTH = 45 * mm, 85 * mm  # DIN 5008 window
QR_SIZE = 38 * mm
BODY_TOP = 100 * mm  # below the address window and the QR code and its caption
BODY_BOTTOM = 20 * mm


@dataclass(frozen=True)
class Letter:
    name_or_household_id: str
    postal_address: str  # lines separated by newlines
    telegram_link: str
    web_link: str
    language: str = "zh"


def letters_pdf(letters: Sequence[Letter]) -> bytes:
    """One PDF with one A4 page per letter, in the given order."""
    if not letters:
        raise ValueError("a batch of letters needs at least one letter")
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(" / ".join(t("invitations.letter_title", lang) for lang in LANGUAGES))
    for letter in letters:
        _draw_page(canvas, letter)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw_page(canvas: Canvas, letter: Letter) -> None:
    _draw_address(canvas, letter)
    qr_left = PAGE_WIDTH - MARGIN - QR_SIZE
    qr_bottom = PAGE_HEIGHT - ADDRESS_TOP - QR_SIZE
    _draw_qr(canvas, letter.telegram_link, qr_left, qr_bottom, QR_SIZE)
    canvas.setFont(CJK_FONT, 8)
    for offset, lang in enumerate(LANGUAGES):
        caption = t("invitations.letter_qr_caption", lang)
        canvas.drawCentredString(qr_left + QR_SIZE / 2, qr_bottom - (4 + offset * 4) * mm, caption)
    width, height = PAGE_WIDTH - 2 * MARGIN, PAGE_HEIGHT - BODY_TOP - BODY_BOTTOM
    frame = Frame(
        MARGIN,
        BODY_BOTTOM,
        width,
        height,
        leftPadding=0,
        bottomPadding=0,
        rightPadding=0,
        topPadding=0,
    )
    # Shrink rather than spill: a long address or link must never push text onto a
    # second page, which would shift every later household by one sheet.
    frame.addFromList([KeepInFrame(width, height, _story(letter), mode="shrink")], canvas)


def _draw_address(canvas: Canvas, letter: Letter) -> None:
    lines = [letter.name_or_household_id, *letter.postal_address.splitlines()]
    text = canvas.beginText(MARGIN, PAGE_HEIGHT - ADDRESS_TOP - 11)
    text.setFont(CJK_FONT, 11, leading=15)
    for line in (line.strip() for line in lines):
        if line:
            text.textLine(_fit(line, CJK_FONT, 11, ADDRESS_WIDTH))
    canvas.drawText(text)


def _fit(line: str, font: str, size: float, width: float) -> str:
    """Cut a line that would run out of the envelope window (it is still legible there)."""
    while len(line) > 1 and pdfmetrics.stringWidth(line, font, size) > width:
        line = line[:-1]
    return line


def _draw_qr(canvas: Canvas, data: str, left: float, bottom: float, size: float) -> None:
    """The QR code as vector squares (sharp at any printer resolution), quiet zone
    included, and a link annotation over it for readers of the PDF on screen."""
    matrix = qr_matrix(data)
    quiet = 4
    module = size / (len(matrix) + 2 * quiet)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        y = bottom + size - (row_index + quiet + 1) * module
        start: int | None = None
        for col, dark in enumerate((*row, False)):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                path.rect(left + (start + quiet) * module, y, (col - start) * module, module)
                start = None
    canvas.setFillGray(0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.linkURL(data, (left, bottom, left + size, bottom + size), relative=0)


def _styles(lang: str, primary: bool) -> tuple[ParagraphStyle, ParagraphStyle]:
    size = 11 if primary else 9
    font = CJK_FONT if lang == "zh" else LATIN_FONT
    body = ParagraphStyle(
        f"body_{lang}",
        fontName=font,
        fontSize=size,
        leading=size * 1.5,
        spaceAfter=size * 0.5,
        wordWrap="CJK" if lang == "zh" else None,
    )
    title = ParagraphStyle(
        f"title_{lang}", parent=body, fontSize=size + 3, leading=(size + 3) * 1.4
    )
    return title, body


def _story(letter: Letter) -> list[Flowable]:
    primary = normalise_language(letter.language)
    story: list[Flowable] = []
    for lang in LANGUAGES:  # Chinese above English, always
        title, body = _styles(lang, primary=lang == primary)
        story += [
            Paragraph(escape(t("invitations.letter_title", lang)), title),
            Paragraph(escape(t("invitations.letter_salutation", lang)), body),
            Paragraph(escape(t("invitations.letter_body", lang)), body),
            Paragraph(escape(t("invitations.letter_signature", lang)), body),
            Spacer(0, 3 * mm),
        ]
    return [*story, *_links(letter)]


def _links(letter: Letter) -> list[Flowable]:
    label = ParagraphStyle("link_label", fontName=CJK_FONT, fontSize=10, leading=14)
    link = ParagraphStyle("link", fontName=LINK_FONT, fontSize=10, leading=14, spaceAfter=6)
    story: list[Flowable] = []
    for key, url in (("letter_telegram", letter.telegram_link), ("letter_web", letter.web_link)):
        labels = dict.fromkeys(t(f"invitations.{key}", lang) for lang in LANGUAGES)
        story.append(Paragraph(escape(" / ".join(labels)), label))
        href = escape(url, {'"': "&quot;"})
        story.append(Paragraph(f'<a href="{href}">{escape(url)}</a>', link))
    return story
