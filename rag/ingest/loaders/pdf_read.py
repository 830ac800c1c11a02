"""Reading a PDF's text layer with PDFium (pypdfium2, Apache-2.0 / BSD-3-Clause): the lines of
each page with where they sit and how large their type is, and the document's info fields.

PDFium was chosen by measurement on real papers (docs/documents.md): it put spaces between words
where pypdf, pdfminer.six and PyMuPDF split kerned words ("Esc heric hia") or glued them, and it
reads a page in about 5 ms where pypdf takes 100 ms. Positions let the clean-up find running
headers by where they are on the page, not by where the content stream happens to put them.
"""

from __future__ import annotations

import itertools
import math
import statistics
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rag.errors import DocumentError

MAX_PAGES = 2000
# A gap between two glyphs' advance boxes wider than this share of the type's height is a space:
# within a word the boxes touch (gap ~0.00-0.02); a positioned word space is 0.15 or more.
WORD_GAP = 0.08
CELL_GAP = 1.0  # a gap wider than the type is high separates the cells of a table row
# PDFium is not thread-safe: one document is read at a time in a process.
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class PdfLine:
    """One line of text; positions in points, `top` and `bottom` measured from the page's top."""

    text: str
    top: float
    bottom: float
    left: float
    right: float
    size: float  # the height of the type (PDFium's loose character box), a proxy for font size


@dataclass(frozen=True)
class PdfPage:
    lines: tuple[PdfLine, ...]
    width: float
    height: float


def read_pdf(data: bytes, origin: str) -> tuple[list[PdfPage], dict[str, str]]:
    """The pages of a PDF and its info fields (Title, Author, ...).

    Raises DocumentError for a file that is not a PDF, is encrypted, damaged or too long."""
    if b"%PDF-" not in data.lstrip()[:1024]:
        raise DocumentError(f"{origin} is not a PDF file (no %PDF- header)")
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise _open_error(origin, exc) from exc
        try:
            count = len(document)
            if count == 0:
                raise DocumentError(f"{origin} has no pages")
            if count > MAX_PAGES:
                raise DocumentError(f"{origin} has {count} pages; at most {MAX_PAGES} are read")
            info = {key: str(value) for key, value in document.get_metadata_dict().items() if value}
            pages = [_read_page(document[index]) for index in range(count)]
        except DocumentError:
            raise
        except Exception as exc:  # a damaged page can fail inside PDFium with any error type
            raise DocumentError(
                f"{origin} is damaged or not a valid PDF ({type(exc).__name__}: {exc})",
                "open and re-save it, or export it again",
            ) from exc
        finally:
            document.close()
    return pages, info


def _open_error(origin: str, exc: Exception) -> DocumentError:
    if "password" in str(exc).lower():
        return DocumentError(
            f"{origin} is encrypted and needs a password to open",
            "save an unencrypted copy, for example with qpdf --decrypt, and add that",
        )
    return DocumentError(
        f"{origin} is damaged or not a valid PDF ({exc})", "open and re-save it, or export it again"
    )


Box = tuple[float, float, float, float]  # left, bottom, right, top


@dataclass(frozen=True)
class _Char:
    text: str
    box: Box  # the glyph's own extent
    loose: Box  # the type's full height (ascent to descent)
    angle: float


def _read_page(page: Any) -> PdfPage:
    from pypdfium2 import raw

    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        chars = [_char(textpage, raw, index) for index in range(textpage.count_chars())]
    finally:
        textpage.close()
        page.close()
    upright = _dominant_angle(chars)
    lines: list[PdfLine] = []
    current: list[_Char] = []
    for char in chars:
        if char.text == "\x02":  # PDFium's mark of a word hyphenated at the end of a line
            current.append(_Char("-", char.box, char.loose, char.angle))
            _add_line(lines, current, height)
            current = []
        elif char.text == "\n":
            _add_line(lines, current, height)
            current = []
        elif char.text not in ("", "\r") and (char.text.isspace() or abs(char.angle - upright) < 0.1):
            current.append(char)
    _add_line(lines, current, height)
    return PdfPage(tuple(lines), float(width), float(height))


def _char(textpage: Any, raw: Any, index: int) -> _Char:
    import pypdfium2 as pdfium

    code = raw.FPDFText_GetUnicode(textpage, index)
    text = chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else ""
    if text and unicodedata.category(text) == "Cc" and text not in "\n\r\t\x02":
        text = ""  # a glyph with no Unicode mapping comes out as a control character
    try:
        box, loose = textpage.get_charbox(index), textpage.get_charbox(index, loose=True)
    except pdfium.PdfiumError:  # a generated character has no box
        box = loose = (0.0, 0.0, 0.0, 0.0)
    if loose[3] - loose[1] < 0.5 * (box[3] - box[1]) or loose[3] <= loose[1]:
        loose = box  # some fonts declare no ascent or descent
    angle = float(raw.FPDFText_GetCharAngle(textpage, index))
    return _Char(text, box, loose, angle % (2 * math.pi) if angle >= 0 else 0.0)


def _dominant_angle(chars: list[_Char]) -> float:
    """The angle most of the page's text is set at: text at another angle is a watermark or a
    margin stamp ("Downloaded from ... by guest"), not the article."""
    angles = Counter(round(char.angle, 1) for char in chars if char.text.strip())
    return float(angles.most_common(1)[0][0]) if angles else 0.0


def _add_line(lines: list[PdfLine], chars: list[_Char], height: float) -> None:
    """The characters as one line. A space goes wherever the gap between two glyphs is as wide
    as one (justified text often positions its words without a space character, and PDFium
    does not always infer one: "compaction.In contrast"); a tab marks a gap wider than an em
    (between the cells of a table row). Letter-spaced type ("a b s t r a c t") is closed up."""
    glyphs = [char for char in chars if char.text.strip() and char.loose[3] > char.loose[1]]
    if not glyphs:
        return
    gaps = [b.loose[0] - a.loose[2] for a, b in itertools.pairwise(glyphs)]
    letter_spaced = _letter_spaced(chars)
    word_gap = 1.5 * statistics.median(gaps) if letter_spaced and gaps else None
    parts: list[str] = []
    previous: _Char | None = None
    spaced = False
    for char in chars:
        if not char.text.strip():
            spaced = True
            continue
        if previous is not None and char.loose[3] > char.loose[1]:
            gap = char.loose[0] - previous.loose[2]
            height_ = previous.loose[3] - previous.loose[1]
            if gap > CELL_GAP * height_:
                parts.append("\t")
            elif word_gap is not None:
                parts.append(" " if gap > word_gap else "")
            elif spaced or gap > WORD_GAP * height_:
                parts.append(" ")
        elif spaced and parts:
            parts.append(" ")
        parts.append(char.text)
        previous, spaced = char, False
    text = "\t".join(" ".join(cell.split()) for cell in "".join(parts).split("\t"))
    left = min(char.loose[0] for char in glyphs)
    right = max(char.loose[2] for char in glyphs)
    bottom = min(char.loose[1] for char in glyphs)
    top = max(char.loose[3] for char in glyphs)
    size = statistics.median(char.loose[3] - char.loose[1] for char in glyphs)
    line = PdfLine(text.strip(), height - top, height - bottom, left, right, round(size, 1))
    if line.text:
        if lines and _same_baseline(lines[-1], line):
            lines[-1] = _joined(lines[-1], line)
        else:
            lines.append(line)


def _letter_spaced(chars: list[_Char]) -> bool:
    words = "".join(char.text for char in chars).split()
    return len(words) >= 4 and sum(len(word) == 1 for word in words) >= 0.7 * len(words)


def _same_baseline(before: PdfLine, after: PdfLine) -> bool:
    """PDFium ends a line where the font changes ("Laura Lucaccioni†" ", Sze Choong Wong†"):
    a piece that continues on the same baseline, just right of the previous one, is the same line."""
    return (
        abs(after.bottom - before.bottom) < 0.3 * before.size
        and before.right - 1 <= after.left < before.right + 3 * before.size
    )


def _joined(before: PdfLine, after: PdfLine) -> PdfLine:
    gap = after.left - before.right
    separator = "\t" if gap > CELL_GAP * before.size else (" " if gap > WORD_GAP * before.size else "")
    if (separator == "" and after.text[:1] in ",;.)") or before.text.endswith("-"):
        separator = ""
    return PdfLine(
        before.text + separator + after.text,
        min(before.top, after.top),
        max(before.bottom, after.bottom),
        before.left,
        after.right,
        before.size,
    )
