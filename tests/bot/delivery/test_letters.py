"""Printed invitation letters: one A4 page per household, with its address and links.

The PDF is read back with a small parser of what reportlab writes (numbered objects,
ASCII85 + Flate content streams, literal strings; Chinese in the UTF-16 CID font).
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass

import pytest

from bot.delivery import Letter, letters_pdf
from civic.i18n import t

_OBJECT = re.compile(rb"(\d+) 0 obj\s(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\s*endstream", re.S)
_SHOW = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


@dataclass
class Page:
    text: list[str]  # the strings shown, in drawing order
    links: list[str]  # URI link annotations


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return _ESCAPES.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def _decode_stream(obj: bytes) -> bytes:
    match = _STREAM.search(obj)
    assert match is not None
    data = match.group(1)
    if b"/ASCII85Decode" in obj:
        data = base64.a85decode(data.strip(), adobe=True)
    return zlib.decompress(data) if b"/FlateDecode" in obj else data


def read_pdf(pdf: bytes) -> list[Page]:
    objects = {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(pdf)}
    cid_fonts = {
        m.group(1)
        for obj in objects.values()
        if b"/Type0" in obj and (m := re.search(rb"/Name /(F\d+)", obj))
    }
    [root] = [o for o in objects.values() if re.search(rb"/Type /Pages\b", o)]
    kids_match = re.search(rb"/Kids \[(.*?)\]", root, re.S)
    assert kids_match is not None
    pages = []
    for ref in re.findall(rb"(\d+) 0 R", kids_match.group(1)):
        page = objects[int(ref)]
        contents = re.search(rb"/Contents (\d+) 0 R", page)
        assert contents is not None
        links = [
            _unescape(objects[int(a)].split(b"/URI (", 1)[1].rsplit(b")", 1)[0]).decode()
            for a in re.findall(rb"(\d+) 0 R", page.split(b"/Annots", 1)[-1].split(b"]")[0])
            if b"/URI" in objects.get(int(a), b"")
        ]
        pages.append(
            Page(_shown(_decode_stream(objects[int(contents.group(1))]), cid_fonts), links)
        )
    return pages


def _shown(stream: bytes, cid_fonts: set[bytes]) -> list[str]:
    font, shown = b"", []
    for match in _SHOW.finditer(stream):
        if match.group(1):
            font = match.group(1)
            continue
        raw = _unescape(match.group(2))
        shown.append(raw.decode("utf-16-be") if font in cid_fonts else raw.decode("latin-1"))
    return shown


def _letter(n: int, language: str = "zh") -> Letter:
    token = f"i{n:016d}{'A' * 22}"
    return Letter(
        name_or_household_id=f"H-{n:06d}",
        postal_address=f"浙江省杭州市西湖区\n文三路 {n} 号 2 幢 301 室\n310012",
        telegram_link=f"https://t.me/civic_feedback_bot?start={token}",
        web_link=f"https://kpb.example.gov.cn/?start={token}",
        language=language,
    )


def test_one_page_per_letter_with_its_own_address_and_links() -> None:
    letters = [_letter(n) for n in (1, 2, 3)]
    pages = read_pdf(letters_pdf(letters))
    assert len(pages) == 3
    for page, letter in zip(pages, letters, strict=True):
        assert page.text[:4] == [
            letter.name_or_household_id,
            *letter.postal_address.splitlines(),
        ]
        assert letter.telegram_link in page.text
        assert letter.web_link in page.text
        # The QR code and the printed Telegram link open Telegram; the web link the site.
        assert page.links == [letter.telegram_link, letter.telegram_link, letter.web_link]


def test_the_page_count_matches_the_pdf_page_tree() -> None:
    pdf = letters_pdf([_letter(n) for n in range(7)])
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 7
    [tree] = [o for o in _OBJECT.findall(pdf) if re.search(rb"/Type /Pages\b", o[1])]
    assert re.search(rb"/Count 7\b", tree[1])
    assert len(read_pdf(pdf)) == 7


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_letter_is_chinese_above_english_whatever_the_language(language: str) -> None:
    [page] = read_pdf(letters_pdf([_letter(1, language)]))
    text = "".join(page.text)
    zh_title, en_title = (t("invitations.letter_title", lang) for lang in ("zh", "en"))
    assert zh_title in page.text and en_title in page.text
    assert page.text.index(zh_title) < page.text.index(en_title)
    assert t("invitations.letter_qr_caption", "zh") in page.text
    assert t("invitations.letter_qr_caption", "en") in page.text
    # Paragraphs wrap into several shown strings; their words all make it onto the page.
    assert "Your household has been chosen at random" in text
    assert t("invitations.letter_body", "zh")[:12] in text


def test_a_very_long_address_still_fits_one_page() -> None:
    crowded = Letter(
        name_or_household_id="H-000009",
        postal_address="\n".join(f"第 {n} 行地址" for n in range(40)),
        telegram_link=_letter(9).telegram_link,
        web_link="https://kpb.example.gov.cn/" + "x" * 300 + "/?start=abc",
        language="en",
    )
    assert len(read_pdf(letters_pdf([crowded, _letter(10)]))) == 2


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one letter"):
        letters_pdf([])
