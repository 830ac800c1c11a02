"""Reference lists in a PDF's text: found after a reference heading, or as a run of numbered
entries whose heading was lost, cut from the answerable text and kept as entries (pure
functions; the shape tests and the entry splitting serve plain-text papers too)."""

from __future__ import annotations

import re

from rag.ingest.loaders.base import REFERENCE_HEADING
from rag.ingest.loaders.pdf_layout import TextLine, larger_heading
from rag.ingest.loaders.pdf_lines import PARAGRAPH_END, heading_name, join_lines

MAX_REFERENCES = 1000
REFERENCE_ENTRY = re.compile(r"^\[?(\d{1,4})[.\])]\s+")
YEAR = re.compile(r"\b(?:1[89]|20)\d\d[a-z]?\b")
AUTHOR_INITIALS = re.compile(r"\b[A-Z][A-Za-z'’-]+,? (?:[A-Z]\.? ?){1,3}[,.;:]")  # "Cate JH," "Smith, A. B."
AUTHOR_START = re.compile(r"^[A-Z][A-Za-z'’-]+(?: [A-Z][a-z]+)?,? (?:[A-Z]\.? ?){1,3}[,.]")
MIN_REFERENCE_RUN = 5  # numbered entries 1, 2, 3, ... without a heading: a reference list


def split_references(flat: list[TextLine], body: float) -> tuple[list[TextLine], list[str]]:
    """The body, and the entries of every reference list: from a reference heading to the next
    section (the main article's and a supplement's), or a run of numbered entries 1, 2, 3, ...
    whose heading was lost."""
    cut: set[int] = set()
    for start, line in enumerate(flat):
        if not REFERENCE_HEADING.match(line.text):
            continue
        end = next(
            (i for i in range(start + 1, len(flat)) if _opens_section(flat[i], body)),
            len(flat),
        )
        if reference_shaped([other.text for other in flat[start + 1 : end]]):
            cut.update(range(start, end))
    cut.update(_numbered_run(flat, cut))
    region = [
        flat[i].text.replace("\t", " ")
        for i in sorted(cut)
        if flat[i].text and not REFERENCE_HEADING.match(flat[i].text)
    ]
    return [line for i, line in enumerate(flat) if i not in cut], reference_entries(region)[:MAX_REFERENCES]


def reference_entries(lines: list[str]) -> list[str]:
    """Reference lines as entries: numbered 1, 2, 3, ..., or each starting "Surname AB," after
    an entry that ended with a full stop; other lines continue the entry before them."""
    numbered = any((m := REFERENCE_ENTRY.match(text)) and m.group(1) == "1" for text in lines)
    entries: list[str] = []
    expected = 1
    for text in lines:
        match = REFERENCE_ENTRY.match(text)
        if numbered:  # 1, 2, 3 ...; a second list (a supplement's) starts again at 1
            starts = match is not None and int(match.group(1)) in (expected, 1)
            expected = int(match.group(1)) + 1 if match is not None and starts else expected
        else:
            starts = not entries or (entries[-1].endswith(".") and bool(AUTHOR_START.match(text)))
        if starts or not entries:
            entries.append(text)
        else:
            entries[-1] = join_lines(entries[-1], text, set())[0]
    return entries


def _opens_section(line: TextLine, body: float) -> bool:
    return (
        bool(line.text)
        and not REFERENCE_HEADING.match(line.text)
        and (heading_name(line.text) is not None or larger_heading(line, body))
    )


def reference_shaped(texts: list[str]) -> bool:
    lines = [text for text in texts if text]
    if not lines:
        return False
    cited = sum(
        bool(
            YEAR.search(text)
            or REFERENCE_ENTRY.match(text)
            or "et al" in text
            or AUTHOR_INITIALS.search(text)
        )
        for text in lines
    )
    return cited >= 0.4 * len(lines)


def _numbered_run(flat: list[TextLine], cut: set[int]) -> set[int]:
    """Lines of a numbered list 1, 2, 3, ... of at least MIN_REFERENCE_RUN entries that cite
    years, outside any list already found (a reference list whose heading was lost)."""
    found: set[int] = set()
    i = 0
    while i < len(flat):
        match = REFERENCE_ENTRY.match(flat[i].text)
        if i in cut or not match or match.group(1) != "1":
            i += 1
            continue
        expected, last, j = 2, i, i + 1
        while j < len(flat) and j - last <= 6 and not _opens_section(flat[j], 0.0):
            entry = REFERENCE_ENTRY.match(flat[j].text)
            if entry and int(entry.group(1)) == expected:
                expected, last = expected + 1, j
            j += 1
        texts = [line.text for line in flat[i : last + 1]]
        if expected - 1 >= MIN_REFERENCE_RUN and reference_shaped(texts):
            end = last + 1
            while end < len(flat) and flat[end].text and not PARAGRAPH_END.search(flat[end - 1].text):
                end += 1  # the last entry's wrapped lines
            found.update(range(i, end))
            i = end
        else:
            i += 1
    return found
