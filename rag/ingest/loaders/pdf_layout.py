"""What the position and size of a PDF's lines tell (pure functions over `TextLine`s): running
headers and footers, the body's type size, headings set larger, tables, and the title and
by-line of the first page.

Without positions (text handed in as plain pages) every rule falls back to line order: the
first and last lines of a page are its edges, and there are no tables or type sizes.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

EDGE_BAND = 0.14  # running headers and footers start in the top or end in the bottom 14% of a page
EDGE_LINES = 3  # ... and among its 3 first or last lines (by position)
PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
TABLE_CAPTION = re.compile(r"^(?:table|tab\.)\s+[A-Z]?\d{1,3}[.:|]?(?:\s|$)", re.I)
HEADING_SCALE = 1.08  # a short line set this much larger than the body is a heading
TABLE_SCALE = 0.95
TITLE_SCALE = (
    1.1  # the title is set at least this much larger than the body  # a table is set smaller than the body
)


@dataclass(frozen=True)
class TextLine:
    """A line of a page. `size` is 0 when the text came without positions."""

    page: int
    text: str
    top: float = 0.0
    bottom: float = 0.0
    left: float = 0.0
    right: float = 0.0
    size: float = 0.0
    page_height: float = 0.0

    @property
    def placed(self) -> bool:
        return self.size > 0


def line_key(text: str) -> str:
    """A line as running headers repeat it: case, spacing and numbers (pages, volumes) ignored."""
    return re.sub(r"\d+", "#", re.sub(r"[\s\t|]+", "", text.lower()))


def edge_indexes(page: Sequence[TextLine]) -> set[int]:
    """The lines of a page where running headers and footers can be."""
    if not page:
        return set()
    if not page[0].placed:
        order = list(range(len(page)))
        return set(order[:2] + order[-2:])
    by_position = sorted(range(len(page)), key=lambda i: page[i].top)
    candidates = set(by_position[:EDGE_LINES] + by_position[-EDGE_LINES:])
    height = page[0].page_height
    return {
        i for i in candidates if page[i].bottom < EDGE_BAND * height or page[i].top > (1 - EDGE_BAND) * height
    }


def without_running_lines(pages: list[list[TextLine]]) -> list[list[TextLine]]:
    """The pages without the lines repeated at their edges (journal, authors, page numbers).

    A line is running when it recurs at the edges of at least half the pages, or of half the
    odd or half the even pages (headers that alternate between left and right pages)."""
    edges = [edge_indexes(page) for page in pages]
    counts: Counter[str] = Counter()
    by_parity: list[Counter[str]] = [Counter(), Counter()]
    for number, (page, edge) in enumerate(zip(pages, edges, strict=True)):
        keys = {line_key(page[i].text) for i in edge}
        counts.update(keys)
        by_parity[number % 2].update(keys)
    threshold = max(2, math.ceil(len(pages) / 2))
    running = {key for key, count in counts.items() if count >= threshold}
    for parity, counter in enumerate(by_parity):
        # At least 3 pages: on two pages a heading ("References") can sit at the edge by chance.
        half = max(3, math.ceil(len(pages[parity::2]) / 2))
        running |= {key for key, count in counter.items() if count >= half}
    return [
        [
            line
            for i, line in enumerate(page)
            if not (i in edge and (line_key(line.text) in running or PAGE_NUMBER.match(line.text)))
        ]
        for page, edge in zip(pages, edges, strict=True)
    ]


def body_size(lines: Sequence[TextLine]) -> float:
    """The type size most of the text is set in (0 without positions)."""
    sizes: Counter[float] = Counter()
    for line in lines:
        if line.placed:
            sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def larger_heading(line: TextLine, body: float) -> bool:
    """A short line set larger than the body that does not end a sentence."""
    words = line.text.split()
    return (
        line.placed
        and body > 0
        and line.size >= HEADING_SCALE * body
        and 1 <= len(words) <= 14
        and not line.text.rstrip().endswith((".", ",", ";"))
        and (line.text[:1].isupper() or line.text[:1].isdigit())
        and "\t" not in line.text
    )


def table_rows(lines: Sequence[TextLine], start: int, body: float) -> int:
    """The index after the table whose caption is `lines[start]`: the lines that follow on the
    same page set smaller than the body (captions and footnotes of a table are set small too)."""
    caption = lines[start]
    if not caption.placed or body <= 0 or not TABLE_CAPTION.match(caption.text):
        return start
    end = start + 1
    while (
        end < len(lines)
        and lines[end].page == caption.page
        and (lines[end].size < TABLE_SCALE * body or "\t" in lines[end].text)
    ):
        end += 1
    has_cells = any("\t" in line.text for line in lines[start + 1 : end])
    return end if has_cells else start


def title_and_byline(front: Sequence[TextLine], body: float) -> tuple[str | None, list[str]]:
    """The title (the largest type in the upper part of the first page, over one or more lines)
    and the run of lines right under it set in one size (the by-line, when it is one)."""
    placed = [line for line in front if line.placed and len(line.text) > 1]
    if not placed:
        return None, []
    upper = [line for line in placed if line.top < 0.6 * line.page_height] or placed
    largest = max(line.size for line in upper)
    if largest < TITLE_SCALE * (body or statistics.median(line.size for line in placed)):
        return None, []
    first = next(i for i, line in enumerate(placed) if line in upper and line.size >= largest - 0.3)
    end = first
    while end < len(placed) and placed[end].size >= largest - 0.3:
        end += 1
    title = " ".join(line.text.replace("\t", " ") for line in placed[first:end])
    byline: list[str] = []
    for line in placed[end:]:
        if byline and abs(line.size - placed[end].size) > 0.3:
            break
        byline.append(line.text.replace("\t", " "))
    return title, byline
