"""What an answer quotes of each sentence it chose, and how the quote is shown.

A chosen sentence is quoted without a label opening its line ("Abstract: ..."), with the
sentence it announces ("... a number of advantages as vaccine vectors."), with its table's
header rows, and narrowed to its best clauses when it runs past the clause limit; every quote
stays an exact span of its passage (`passage.text[quote_start:quote_end]`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answer.clauses import best_clause
from rag.answer.composition import Candidate, Composition
from rag.answer.evidence import Evidence
from rag.answer.features import REFERENCE_MARK, is_line_label
from rag.answer.sentences import MIN_WORDS, announces, is_question, next_sentence, table_start
from rag.documents import Citation
from rag.text.analyzer import Analyzer

# A quoted sentence's own bracketed numbers (reference marks like "[9]", or text planted to look
# like a citation) are shown as "(9)", so every [n] in an answer is one of ours.
MARKER_LIKE = re.compile(REFERENCE_MARK)
# What an answer adds to a quote it shows: an ellipsis each side and " [n]." (n < 100).
SHOWN_EXTRA_CHARS = 8
# A label opening a line before its sentence ("Abstract: To understand ...", "Conclusion: The
# ..."): one to three words, capitalized, then a colon; which words are labels is data
# (features.is_line_label). Labels in capitals ("RESULTS:") name a section and are already left
# out of its sentences (rag.text.split_sentences).
LEADING_LABEL = re.compile(r"([A-Z][a-z]+(?: [A-Za-z][a-z]+){0,2})\s*:\s+(?=[A-Z0-9\"“(])")


class Quoter:
    """Quotes chosen sentences within `clause_chars` characters each, as shown."""

    def __init__(self, clause_chars: int, analyzer: Analyzer) -> None:
        self._limit = clause_chars - SHOWN_EXTRA_CHARS
        self._analyzer = analyzer

    def shown(self, labelled: Candidate, evidence: Evidence) -> Candidate:
        """The span of the passage that the answer quotes for a chosen sentence."""
        found = without_label(labelled)
        return self._clause(self._with_header(self._continued(found, evidence)), evidence)

    def render(self, chosen: list[Candidate], candidates: list[Candidate], evidence: Evidence) -> Composition:
        """The answer quoting `chosen` in order, each with its marker and citation."""
        parts, citations = [], []
        for marker, labelled in enumerate(chosen, start=1):
            found = without_label(labelled)
            candidate = self.shown(labelled, evidence)
            text = MARKER_LIKE.sub(r"(\1)", candidate.text.rstrip())
            body, end = (text[:-1], text[-1]) if text[-1:] in ".!?" else (text, ".")
            # A clause of a longer sentence is shown as one: "… clause …" (the quote is exact).
            before = "…" if candidate.start > found.start else ""
            after = "…" if candidate.end < found.end else ""
            parts.append(f"{before}{body}{after} [{marker}]{end}")
            citations.append(
                Citation(
                    marker,
                    candidate.passage,
                    candidate.text,
                    candidate.start,
                    candidate.end,
                    round(found.score, 4),
                )
            )
        return Composition(" ".join(parts), False, tuple(citations), candidates=tuple(candidates))

    def _continued(self, candidate: Candidate, evidence: Evidence) -> Candidate:
        """A sentence that announces what follows ("Baculoviruses have a number of advantages
        as vaccine vectors.", "What was the major finding of the study?") quoted with the
        sentence that does, when both fit the clause limit; a question is not continued by the
        next question of a list."""
        if not announces(candidate.text):
            return candidate
        following = next_sentence(evidence.sentences, candidate.passage, candidate.end)
        if following is None or following.end - candidate.start > self._limit:
            return candidate
        after = candidate.passage.text[following.start : following.end]
        if is_question(candidate.text) and is_question(after):
            return candidate
        return replace(candidate, end=following.end)

    def _with_header(self, candidate: Candidate) -> Candidate:
        """A table row quoted from its table's header rows ("Factor | SPAD Chlorophyll Content
        ... Genotype | 13.7 | 6.3"), so that the quote says what its figures are, when that fits
        the clause limit."""
        start = table_start(candidate.passage.text, candidate.start)
        if start is None or candidate.end - start > self._limit:
            return candidate
        return replace(candidate, start=start)

    def _clause(self, candidate: Candidate, evidence: Evidence) -> Candidate:
        """The candidate narrowed to its best clauses when it is longer than the limit, which
        counts the sentence as shown: with its ellipses and its marker ("… [1].")."""
        if len(candidate.text) <= self._limit:
            return candidate
        part = max(range(len(candidate.scores)), key=lambda i: candidate.scores[i])
        start, end = best_clause(
            candidate.text,
            self._limit,
            term_weights=evidence.parts[part].term_weights,
            question=evidence.parts[part].question,
            analyzer=self._analyzer,
            doc_id=candidate.passage.doc_id,
        )
        return replace(candidate, start=candidate.start + start, end=candidate.start + end)


def without_label(candidate: Candidate) -> Candidate:
    """The sentence without a label opening its line (see LEADING_LABEL): the label is no part
    of what the sentence says, and the quote stays exact. What follows it must be a sentence
    of its own: in "Patients: 48 (40%)." the label says what the figure counts."""
    text, start = candidate.passage.text, candidate.start
    if start > 0 and text[start - 1] != "\n":
        return candidate
    label = LEADING_LABEL.match(text, start, candidate.end)
    if (
        label is None
        or not is_line_label(label.group(1))
        or len(text[label.end() : candidate.end].split()) < MIN_WORDS
    ):
        return candidate
    return replace(candidate, start=label.end())
