"""From the text of each PDF page to one clean text with page and section offsets (pure functions).

What a PDF's text layer holds besides the article, and what happens to it:
- running headers and footers (journal, authors, page numbers) repeat at the top or bottom of
  the pages: a line found there (by position) on at least half the pages, or half the odd or
  even ones, is dropped wherever the content stream puts it, and so is a bare page number
  (`rag.ingest.loaders.pdf_layout`);
- tables (a "Table n" caption and the smaller type under it) keep one row per line, cells
  separated by " | ";
- lines are wrapped, and words hyphenated across lines: lines are joined into paragraphs, and a
  line-end hyphen is dropped unless the document itself writes the word with one
  (`rag.ingest.loaders.pdf_lines`);
- the front matter (title, authors, affiliations) precedes the abstract: it is kept apart, as
  the source of metadata, not of answers; an abstract without a heading is kept;
- every reference list (after its heading, or a run of numbered entries) is cut from the
  answerable text and kept as a list (`rag.ingest.loaders.pdf_references`);
- blocks repeated verbatim (a figure caption printed twice) appear once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rag.ingest.loaders.base import DOI
from rag.ingest.loaders.pdf_layout import (
    EDGE_BAND,
    TextLine,
    body_size,
    larger_heading,
    table_rows,
    title_and_byline,
    without_running_lines,
)
from rag.ingest.loaders.pdf_lines import LIST_ITEM, PARAGRAPH_END, heading_name, join_lines, vocabulary
from rag.ingest.loaders.pdf_read import PdfPage
from rag.ingest.loaders.pdf_references import split_references
from rag.text import LIGATURES

MIN_REPEAT_CHARS = 40  # shorter blocks may repeat legitimately ("Table 1")
MIN_ABSTRACT_WORDS = 50  # a block of prose this long in the front matter is the abstract
PARAGRAPH_GAP = 0.8  # a vertical gap this many times the type size separates paragraphs
INLINE_ABSTRACT = re.compile(r"^(abstract|summary)\s*[:.—–-]?\s+(?=\S)", re.I)
FRONT_ENDS = {"abstract", "summary", "background", "introduction"}
FRONT_SEARCH_LINES = 80
AFFILIATION = re.compile(
    r"\b(universit|department|hospital|institut|journal|vol\b|received|correspond|e-?mail)", re.I
)


@dataclass(frozen=True)
class PdfText:
    text: str
    page_starts: tuple[int, ...]
    sections: tuple[tuple[int, str], ...]
    references: list[str]
    front_matter: list[str]
    title: str | None = None  # from the layout: the largest type of the first page
    byline: tuple[str, ...] = ()  # the lines under that title, in one size

    @property
    def front_title(self) -> str | None:
        return self.title or (self.front_matter[0] if self.front_matter else None)


@dataclass
class _Paragraph:
    text: str
    pages: list[tuple[int, int]] = field(default_factory=list)
    """(offset in text, page) where the paragraph starts and wherever it moves to a new page."""
    heading: str | None = None


def clean_pages(pages: Sequence[str | PdfPage]) -> PdfText:
    lines = without_running_lines([_page_lines(page, number) for number, page in enumerate(pages, 1)])
    flat = [line for page in lines for line in _with_breaks(page)]
    body = body_size(flat)
    front, flat = _front_matter(flat, body)
    title, byline = title_and_byline(front, body)
    abstract, front = _unheaded_abstract(front, title, byline)
    flat, references = split_references(abstract + flat, body)
    texts = [line.text for line in flat]
    paragraphs = _without_repeats(_paragraphs(flat, vocabulary(texts), body))
    text, page_starts, sections = _assemble(paragraphs, len(pages))
    front_text = [line.text.replace("\t", " ") for line in front if line.text]
    return PdfText(text, page_starts, sections, references, front_text, title, tuple(byline))


def _page_lines(page: str | PdfPage, number: int) -> list[TextLine]:
    if isinstance(page, str):
        return [TextLine(number, " ".join(line.translate(LIGATURES).split())) for line in page.splitlines()]
    return [
        TextLine(number, line.text.translate(LIGATURES), line.top, line.bottom, line.left, line.right,
                 line.size, page.height)
        for line in page.lines
    ]  # fmt: skip


def _with_breaks(page: list[TextLine]) -> list[TextLine]:
    """Placed lines with a blank line wherever a vertical gap separates two paragraphs."""
    out: list[TextLine] = []
    for line in page:
        if out and line.placed and out[-1].placed:
            previous = out[-1]
            gap = line.top - previous.bottom
            if gap > PARAGRAPH_GAP * previous.size and line.top > previous.top:
                out.append(TextLine(line.page, ""))
        out.append(line)
    return out


def _front_matter(flat: list[TextLine], body: float) -> tuple[list[TextLine], list[TextLine]]:
    """Page 1's lines before the abstract (or introduction), and the rest. Page 1's lines set
    above that heading but later in the content stream (a journal banner) and its small print
    at the foot of the page (received dates, licence) belong to the front matter too."""
    for i, line in enumerate(flat[:FRONT_SEARCH_LINES]):
        if line.page > 2:  # a title page may hold only the front matter
            break
        name = heading_name(line.text)
        inline = INLINE_ABSTRACT.match(line.text)
        if (name is None or name.lower() not in FRONT_ENDS) and not inline:
            continue
        rest = flat[i:]
        if inline:
            rest = [TextLine(1, inline.group(1).capitalize()), replace(line, text=line.text[inline.end() :]),
                    *flat[i + 1 :]]  # fmt: skip
        front = flat[:i]  # blank lines kept: they separate the abstract from the by-line
        late = [other for other in rest[1:] if other.page == line.page and _front_placed(other, line)]
        return front + late, [other for other in rest if not any(other is x for x in late)]
    return _front_by_layout(flat, body)


def _front_by_layout(flat: list[TextLine], body: float) -> tuple[list[TextLine], list[TextLine]]:
    """Without an abstract or introduction heading (Nature's layout), the front matter is page
    1 down to the by-line under the title."""
    first_page = [line for line in flat if line.page == 1 and line.text]
    title, byline = title_and_byline(first_page, body)
    if title is None:
        return [], flat
    last = byline[-1] if byline else title.split()[-1]
    end = next(
        (i for i, line in enumerate(flat) if line.page == 1 and line.text.replace("\t", " ").endswith(last)),
        -1,
    )
    return [line for line in flat[: end + 1] if line.text], flat[end + 1 :]


def _front_placed(line: TextLine, heading: TextLine) -> bool:
    if not (line.placed and heading.placed and line.text):
        return False
    above = line.bottom < heading.top - 2
    foot = line.top > (1 - EDGE_BAND) * line.page_height and line.size < 0.95 * heading.size
    return above or foot


def _unheaded_abstract(
    front: list[TextLine], title: str | None, byline: list[str]
) -> tuple[list[TextLine], list[TextLine]]:
    """An abstract printed without a heading sits in the front matter: a block of prose there is
    moved to the text, under "Abstract"."""
    blocks: list[list[TextLine]] = [[]]
    for line in front:
        if not line.text or (blocks[-1] and line.placed and abs(line.size - blocks[-1][-1].size) > 0.3):
            blocks.append([])
        if line.text:
            blocks[-1].append(line)
    for block in blocks:
        text = " ".join(line.text for line in block)
        words = text.split()
        if (
            len(words) >= MIN_ABSTRACT_WORDS
            and len(re.findall(r"[a-z][.!?](?:\s|$)", text)) >= 2
            and not AFFILIATION.search(text[:200])
            and (title is None or title not in text)
            and not any(line.text in byline for line in block)
        ):
            kept = [line for line in front if not any(line is x for x in block)]
            return [TextLine(block[0].page, "Abstract"), *block], kept
    return [], front


def _ends_paragraph(previous: str, line: str, typical_length: float) -> bool:
    if not PARAGRAPH_END.search(previous):
        return False
    return len(previous) < 0.8 * typical_length or bool(LIST_ITEM.match(line))


def _paragraphs(body: list[TextLine], vocabulary: set[str], size: float) -> list[_Paragraph]:
    lengths = sorted(len(line.text) for line in body if line.text and heading_name(line.text) is None)
    typical = lengths[int(len(lengths) * 0.8)] if lengths else 0.0
    larger = _larger_headings(body, size)
    paragraphs: list[_Paragraph] = []
    current: _Paragraph | None = None
    previous = ""
    previous_line: TextLine | None = None
    index = 0
    while index < len(body):
        line = body[index]
        text = line.text.replace("\t", " ")
        table_end = table_rows(body, index, size)
        if table_end > index:
            paragraphs.extend(_table(body[index:table_end]))
            current, previous, index = None, "", table_end
            continue
        index += 1
        if not text:
            current = None
            continue
        name = heading_name(text) or (text if index - 1 in larger else None)
        if name is not None:
            if (
                index - 2 in larger
                and previous_line is body[index - 2]
                and paragraphs[-1].heading == paragraphs[-1].text
                and heading_name(paragraphs[-1].text) is None
                and heading_name(text) is None
            ):
                heading = paragraphs[-1]  # a heading set over two lines
                heading.text = heading.heading = f"{heading.text} {text}"
            else:
                paragraphs.append(_Paragraph(text, [(0, line.page)], heading=name))
            current = None
        elif current is None or _ends_paragraph(previous, text, typical) or _new_size(previous_line, line):
            current = _Paragraph(text, [(0, line.page)])
            paragraphs.append(current)
        else:
            current.text, offset = join_lines(current.text, text, vocabulary)
            if line.page != current.pages[-1][1]:
                current.pages.append((offset, line.page))
        previous, previous_line = text, line
    return paragraphs


def _new_size(previous: TextLine | None, line: TextLine) -> bool:
    """Type of another size starts another block (a caption or a footnote after body text)."""
    return previous is not None and previous.placed and line.placed and abs(previous.size - line.size) > 0.6


def _larger_headings(lines: list[TextLine], size: float) -> set[int]:
    """Indexes of lines set larger than the body that form a heading: a run of at most 3 such
    lines in one size, of at least 2 and at most 20 words, not ending a sentence, followed by
    text in another size (a paragraph set larger, like an abstract, is not a heading)."""
    found: set[int] = set()
    start = 0
    while start < len(lines):
        if not larger_heading(lines[start], size):
            start += 1
            continue
        end = start + 1
        while (
            end < len(lines)
            and lines[end].text
            and abs(lines[end].size - lines[start].size) < 0.3
            and heading_name(lines[end].text) is None
        ):
            end += 1
        words = sum(len(line.text.split()) for line in lines[start:end])
        if (
            end - start <= 3
            and 2 <= words <= 20
            and all(larger_heading(line, size) for line in lines[start:end])
        ):
            found.update(range(start, end))
        start = end
    return found


def _table(lines: list[TextLine]) -> list[_Paragraph]:
    """A table as its caption (one paragraph) and its rows (one per line, cells by " | ").

    A cell wrapped over several lines comes as lines of its own: lines in the first column
    before a row's line are its first cell; other lines continue the row before them."""
    first_row = next((i for i, line in enumerate(lines) if "\t" in line.text), len(lines))
    caption = ""
    for line in lines[:first_row]:
        caption = join_lines(caption, line.text.replace("\t", " "), set())[0] if caption else line.text
    left = min((line.left for line in lines[first_row:] if line.text), default=0.0)
    rows: list[list[str]] = []
    pending: list[str] = []
    for line in lines[first_row:]:
        if not line.text:
            continue
        first_column = line.left < left + 3 * line.size  # wrapped first cells may be indented
        if "\t" in line.text:
            cells = [cell.strip() for cell in line.text.split("\t")]
            if pending and first_column:
                cells[0] = " ".join([*pending, cells[0]])
            elif pending:
                cells.insert(0, " ".join(pending))
            rows.append(cells)
            pending = []
        elif first_column or not rows:
            pending.append(line.text)
        else:
            rows[-1][-1] = f"{rows[-1][-1]} {line.text}"
    if pending:
        rows.append([" ".join(pending)])
    page = lines[0].page
    out = [_Paragraph(caption.strip(), [(0, page)])]
    if rows:
        out.append(_Paragraph("\n".join(" | ".join(cells) for cells in rows), [(0, page)]))
    return out


def _without_repeats(paragraphs: list[_Paragraph]) -> list[_Paragraph]:
    seen: set[str] = set()
    kept = []
    for paragraph in paragraphs:
        key = " ".join(paragraph.text.lower().split())
        if paragraph.heading is None and len(key) >= MIN_REPEAT_CHARS:
            if key in seen:
                continue
            seen.add(key)
        kept.append(paragraph)
    return kept


def _assemble(
    paragraphs: list[_Paragraph], page_count: int
) -> tuple[str, tuple[int, ...], tuple[tuple[int, str], ...]]:
    parts: list[str] = []
    offset = 0
    first_offset: dict[int, int] = {}
    sections: list[tuple[int, str]] = []
    for paragraph in paragraphs:
        if parts:
            parts.append("\n\n")
            offset += 2
        if paragraph.heading is not None:
            sections.append((offset, paragraph.heading))
        for within, page in paragraph.pages:
            first_offset.setdefault(page, offset + within)
        parts.append(paragraph.text)
        offset += len(paragraph.text)
    # A page with no text of its own (blank, or only headers) starts where the next one does.
    starts: list[int] = []
    following = offset
    for page in range(page_count, 0, -1):
        following = first_offset.get(page, following)
        starts.append(following)
    return "".join(parts), tuple(reversed(starts)), tuple(sections)


NAME_PARTICLES = {
    "de",
    "del",
    "da",
    "das",
    "do",
    "dos",
    "van",
    "von",
    "der",
    "den",
    "la",
    "le",
    "di",
    "du",
    "y",
}


def looks_like_authors(line: str) -> bool:
    """A by-line: a few capitalized names separated by commas or "and" (footnote marks allowed)."""
    if len(line) > 1000 or DOI.search(line) or "@" in line or AFFILIATION.search(line):
        return False
    names = [n.strip() for n in re.split(r",|;|\band\b|&", re.sub(r"[\d*∗†‡§¶]+", "", line)) if n.strip()]
    return bool(names) and all(
        1 <= len(name.split()) <= 5
        and all(word[0].isupper() or word in NAME_PARTICLES for word in name.split())
        and name.split()[0][0].isupper()
        for name in names
    )
