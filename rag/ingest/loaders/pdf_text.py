"""From the text of each PDF page to one clean text with page and section offsets (pure functions).

What a PDF's text layer holds besides the article, and what happens to it:
- running headers and footers (journal, authors, page numbers) repeat at the top or bottom of
  the pages: a line found there on at least half the pages (digits ignored) is dropped, and so is
  a bare page number;
- lines are wrapped, and words hyphenated across lines: lines are joined into paragraphs, and a
  line-end hyphen is dropped unless the document itself writes the word with one;
- the front matter (title, authors, affiliations) precedes the abstract: it is kept apart, as
  the source of metadata, not of answers;
- the reference list is cut from the answerable text and kept as a list;
- blocks repeated verbatim (a figure caption printed twice) appear once.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rag.ingest.loaders.base import DOI, REFERENCE_HEADING

EDGE_LINES = 2  # lines at the top and at the bottom of a page where running headers live
MIN_REPEAT_CHARS = 40  # shorter blocks may repeat legitimately ("Table 1")
MAX_REFERENCES = 1000
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_HEADING_WORDS = (
    r"abstract|summary|background|introduction|methods?|materials and methods|patients and methods|"
    r"methods and materials|subjects and methods|study design|design|results|findings|discussion|"
    r"conclusions?|interpretation|case reports?|case presentation|limitations|acknowledge?ments|funding|"
    r"conflicts? of interest|competing interests|disclosures?|abbreviations|keywords|key words"
)
KNOWN_HEADING = re.compile(rf"^(?:(?:\d+(?:\.\d+)*|[IVX]+)\.?\s+)?({_HEADING_WORDS})\s*:?$", re.I)
NUMBERED_HEADING = re.compile(r"^\d+(?:\.\d+)*\.?\s+([A-Z][A-Za-z ,&/()'-]{2,60})$")
INLINE_ABSTRACT = re.compile(r"^(abstract|summary)\s*[:.—–-]?\s+(?=\S)", re.I)
FRONT_ENDS = {"abstract", "summary", "background", "introduction"}
FRONT_SEARCH_LINES = 60
REFERENCE_ENTRY = re.compile(r"^\[?\d{1,4}[.\])]\s+")
PARAGRAPH_END = re.compile(r"[.!?:][\"'”’)\]]*(?:\d+(?:[,–-]\d+)*)?$")
LIST_ITEM = re.compile(r"^(?:[•·▪◦*–-]\s|\(?\d{1,2}[.)]\s)")
WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
AFFILIATION = re.compile(
    r"\b(universit|department|hospital|institut|journal|vol\b|received|correspond|e-?mail)", re.I
)

Line = tuple[int, str]  # (page number, text); "" is a blank line


@dataclass(frozen=True)
class PdfText:
    text: str
    page_starts: tuple[int, ...]
    sections: tuple[tuple[int, str], ...]
    references: list[str]
    front_matter: list[str]

    @property
    def front_title(self) -> str | None:
        return self.front_matter[0] if self.front_matter else None


@dataclass
class _Paragraph:
    text: str
    pages: list[tuple[int, int]] = field(default_factory=list)
    """(offset in text, page) where the paragraph starts and wherever it moves to a new page."""
    heading: str | None = None


def clean_pages(pages: Sequence[str]) -> PdfText:
    lines = _without_running_lines([_page_lines(page) for page in pages])
    flat = [(number, line) for number, page in enumerate(lines, start=1) for line in page]
    front, flat = _front_matter(flat)
    body, references = _split_references(flat)
    paragraphs = _without_repeats(_paragraphs(body, _vocabulary(line for _, line in body)))
    text, page_starts, sections = _assemble(paragraphs, len(pages))
    return PdfText(text, page_starts, sections, references, front)


def _page_lines(text: str) -> list[str]:
    return [" ".join(line.translate(LIGATURES).split()) for line in text.splitlines()]


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _edges(page: list[str]) -> set[int]:
    content = [i for i, line in enumerate(page) if line]
    return set(content[:EDGE_LINES] + content[-EDGE_LINES:])


def _without_running_lines(pages: list[list[str]]) -> list[list[str]]:
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({_key(page[i]) for i in _edges(page)})
    threshold = max(2, math.ceil(len(pages) / 2))
    running = {key for key, count in counts.items() if count >= threshold}
    cleaned = []
    for page in pages:
        edges = _edges(page)
        cleaned.append(
            [
                line
                for i, line in enumerate(page)
                if not (i in edges and (_key(line) in running or PAGE_NUMBER.match(line)))
            ]
        )
    return cleaned


def heading_name(line: str) -> str | None:
    """The section a heading line opens ("3. RESULTS" -> "Results"), or None for body text."""
    known = KNOWN_HEADING.match(line)
    if known:
        return known.group(1).capitalize()
    numbered = NUMBERED_HEADING.match(line)
    if numbered and len(numbered.group(1).split()) <= 6:
        return numbered.group(1).strip()
    return None


def _front_matter(flat: list[Line]) -> tuple[list[str], list[Line]]:
    """Page 1's lines before the abstract (or introduction), and the rest."""
    for i, (page, line) in enumerate(flat[:FRONT_SEARCH_LINES]):
        if page != 1:
            break
        name = heading_name(line)
        if name is not None and name.lower() in FRONT_ENDS:
            return [text for _, text in flat[:i] if text], flat[i:]
        inline = INLINE_ABSTRACT.match(line)
        if inline:
            front = [text for _, text in flat[:i] if text]
            return front, [(page, inline.group(1).capitalize()), (page, line[inline.end() :]), *flat[i + 1 :]]
    return [], flat


def _split_references(flat: list[Line]) -> tuple[list[Line], list[str]]:
    """The body, and the entries of the reference list (from its heading to the next section)."""
    start = next(
        (i for i in range(len(flat) - 1, -1, -1) if REFERENCE_HEADING.match(flat[i][1])),
        None,
    )
    if start is None or start < len(flat) * 0.2:
        return flat, []
    end = next((i for i in range(start + 1, len(flat)) if heading_name(flat[i][1])), len(flat))
    entries: list[str] = []
    numbered = any(REFERENCE_ENTRY.match(line) for _, line in flat[start + 1 : end])
    for _, line in flat[start + 1 : end]:
        if not line:
            continue
        if entries and not (REFERENCE_ENTRY.match(line) if numbered else True):
            entries[-1] = _join(entries[-1], line, set())[0]
        else:
            entries.append(line)
    return flat[:start] + flat[end:], entries[:MAX_REFERENCES]


def _vocabulary(lines: Iterable[str]) -> set[str]:
    """Words of the document, without the pieces of words broken across lines."""
    words: set[str] = set()
    broken_before = False
    for line in lines:
        found = WORD.findall(line.lower())
        if broken_before and found:
            found = found[1:]
        broken_before = line.endswith("-")
        if broken_before and found:
            found = found[:-1]
        for word in found:
            words.add(word)
            words.update(word.split("-"))
    return words


def _join(text: str, line: str, vocabulary: set[str]) -> tuple[str, int]:
    """`text` continued by the next wrapped `line`, and where `line` begins in the result."""
    if text.endswith("-") and len(text) > 1 and text[-2].isalnum():
        before = re.search(r"([A-Za-z]+)-$", text)
        after = re.match(r"[a-z]+", line)
        if before and after:
            first, second = before.group(1).lower(), after.group(0)
            compound = f"{first}-{second}" in vocabulary or (
                first in vocabulary and second in vocabulary and first + second not in vocabulary
            )
            if not compound:
                return text[:-1] + line, len(text) - 1
        return text + line, len(text)  # "FLT3-" + "ITD", "anti-" + "VEGF"
    return f"{text} {line}", len(text) + 1


def _ends_paragraph(previous: str, line: str, typical_length: float) -> bool:
    if not PARAGRAPH_END.search(previous):
        return False
    return len(previous) < 0.8 * typical_length or bool(LIST_ITEM.match(line))


def _paragraphs(body: list[Line], vocabulary: set[str]) -> list[_Paragraph]:
    lengths = sorted(len(line) for _, line in body if line and heading_name(line) is None)
    typical = lengths[int(len(lengths) * 0.8)] if lengths else 0.0
    paragraphs: list[_Paragraph] = []
    current: _Paragraph | None = None
    previous = ""
    for page, line in body:
        if not line:
            current = None
            continue
        name = heading_name(line)
        if name is not None:
            paragraphs.append(_Paragraph(line, [(0, page)], heading=name))
            current = None
        elif current is None or _ends_paragraph(previous, line, typical):
            current = _Paragraph(line, [(0, page)])
            paragraphs.append(current)
        else:
            current.text, offset = _join(current.text, line, vocabulary)
            if page != current.pages[-1][1]:
                current.pages.append((offset, page))
        previous = line
    return paragraphs


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


def looks_like_authors(line: str) -> bool:
    """A by-line: a few capitalized names separated by commas or "and" (footnote marks allowed)."""
    if len(line) > 400 or DOI.search(line) or "@" in line or AFFILIATION.search(line):
        return False
    names = [n.strip() for n in re.split(r",|;|\band\b|&", re.sub(r"[\d*†‡§¶]+", "", line)) if n.strip()]
    return bool(names) and all(
        1 <= len(name.split()) <= 4 and all(word[0].isupper() for word in name.split()) for name in names
    )
