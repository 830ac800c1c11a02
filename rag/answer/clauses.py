"""A verbatim clause of a long sentence. Where a quoted sentence runs past the answer's length
limit, the answer quotes the run of its clauses that holds most of the question's words (and
the number asked for), still an exact span of the passage."""

from __future__ import annotations

import re
from collections.abc import Mapping

from rag.answer.features import answer_type_match, coverage
from rag.answer.question import Question
from rag.text.analyzer import Analyzer, content_terms

# Where a clause may start: after a semicolon, after a comma that is not inside a number
# ("1,000"), or after a conjunction that starts a new statement; never inside brackets (a
# parenthesis often holds the value itself: "fever (more than 38°C)").
CLAUSE_START = re.compile(r"(?<=;)\s+|(?<=,)\s+(?!\d)|\s(?:and|but|whereas|while)\s+")
TRIM = " ,;:"


def best_clause(
    sentence: str,
    max_chars: int,
    *,
    term_weights: Mapping[str, float],
    question: Question,
    analyzer: Analyzer,
    doc_id: str | None = None,
) -> tuple[int, int]:
    """(start, end) within `sentence` of the clauses to quote: the whole sentence when it fits
    in `max_chars` or has no clause that does."""
    if len(sentence) <= max_chars:
        return 0, len(sentence)
    depth = _bracket_depth(sentence)
    # A clause ends before the break that follows it, so a quote never ends on "and" or "but".
    found_breaks = [m for m in CLAUSE_START.finditer(sentence) if depth[m.start()] == 0]
    starts = [0, *(m.end() for m in found_breaks)]
    ends = [*(m.start() for m in found_breaks), len(sentence)]
    clauses = list(zip(starts, ends, strict=True))
    # Each clause analysed once; a run of clauses holds the words of its clauses.
    stems = [set(content_terms(analyzer.tokens(sentence[a:b], doc_id))) for a, b in clauses]
    best: tuple[float, int, int, int] | None = None
    for i, (start, _) in enumerate(clauses):
        found: set[str] = set()
        for j in range(i, len(clauses)):
            found |= stems[j]
            start_, end_ = _trimmed(sentence, start, clauses[j][1])
            if end_ - start_ > max_chars:
                break
            if end_ <= start_:
                continue
            score = coverage(term_weights, found) + answer_type_match(question, sentence[start_:end_])
            key = (score, end_ - start_, -start_, end_)
            if best is None or key > best:
                best = key
    if best is None or best[0] <= 0.0:
        return 0, len(sentence)
    return -best[2], best[3]


def _bracket_depth(sentence: str) -> list[int]:
    """How many brackets are open at each character."""
    depth, open_ = [], 0
    for char in sentence:
        if char in "([":
            open_ += 1
        elif char in ")]" and open_:
            open_ -= 1
        depth.append(open_)
    return depth


def _trimmed(sentence: str, start: int, end: int) -> tuple[int, int]:
    while start < end and sentence[start] in TRIM:
        start += 1
    while end > start and sentence[end - 1] in TRIM + " ":
        end -= 1
    return start, end
