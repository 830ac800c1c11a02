"""The words and headings of a PDF's text lines: which line opens a section, where a paragraph
ends, and how lines wrapped with a hyphen join back into words (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_HEADING_WORDS = (
    r"abstract|summary|background|introduction|methods?|materials and methods|patients and methods|"
    r"methods and materials|subjects and methods|study design|design|results|findings|discussion|"
    r"conclusions?|interpretation|case reports?|case presentation|limitations|acknowledge?ments|funding|"
    r"conflicts? of interest|competing interests|disclosures?|abbreviations|keywords|key words|"
    r"supporting information|supplementary (?:material|information|data)|supplemental material|appendix"
)
KNOWN_HEADING = re.compile(rf"^(?:(?:\d+(?:\.\d+)*|[IVX]+)\.?\s+)?({_HEADING_WORDS})\s*:?$", re.I)
NUMBERED_HEADING = re.compile(r"^\d+(?:\.\d+)*\.?\s+([A-Z][A-Za-z &/()'-]{2,60})$")
PARAGRAPH_END = re.compile(r"[.!?:][\"'”’)\]]*(?:\d+(?:[,–-]\d+)*)?$")
LIST_ITEM = re.compile(r"^(?:[•·▪◦*–-]\s|\(?\d{1,2}[.)]\s)")
WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


def heading_name(line: str) -> str | None:
    """The section a heading line opens ("3. RESULTS" -> "Results"), or None for body text."""
    known = KNOWN_HEADING.match(line)
    if known:
        return known.group(1).capitalize()
    numbered = NUMBERED_HEADING.match(line)
    if numbered and len(numbered.group(1).split()) <= 6:
        return numbered.group(1).strip()
    return None


def vocabulary(lines: Iterable[str]) -> set[str]:
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


def join_lines(text: str, line: str, vocabulary: set[str]) -> tuple[str, int]:
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
