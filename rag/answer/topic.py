"""Which documents a question is about.

A document is about what its title names more than about what it mentions in passing: the
myeloma trial that lists "renal failure" among its toxicities is not about renal cell
carcinoma. And the words naming what is asked for ("grade 3 toxicities") say which sentence
answers, not which document: every trial reports toxicities. So a document's context score
is the share of the question's topic words (the question less its focus) found in its title,
averaged with the share found in its title and passages at hand.

A question that names things (a drug, a gene, a strain: `Evidence.named`) is
answered from a document that names them all; when no document at hand does, the documents
do not discuss them together ("regorafenib with bevacizumab" when one paper is on regorafenib
and another on bevacizumab). And a document whose title is about another disease than the one
the question names (rag.answer.diseases) does not answer it: "the dose of regorafenib in
colorectal cancer" is not answered from the regorafenib trial in liver cancer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.answer.diseases import OTHER_DISEASE
from rag.answer.evidence import Evidence
from rag.answer.features import coverage
from rag.documents import Passage
from rag.text.analyzer import Analyzer

# The weight of the title in a document's context score, chosen on the development suites
# (0.3, 0.5 and 0.7 tried against 0: COVID-QA answered 0.438 at 0 with false abstention
# 0.037, 0.441 at 0.3, 0.443 at 0.5, 0.442 at 0.7 with false abstention 0.040 and a COVID-QA
# follow-up lost; the others unchanged; docs/evaluation.md).
TITLE_SHARE = 0.5


@dataclass(frozen=True)
class DocumentTerms:
    """The content terms of each document at hand."""

    title: Mapping[str, set[str]]
    text: Mapping[str, set[str]]
    """Its title and every passage of it at hand."""


def document_terms(passages: Sequence[Passage], analyzer: Analyzer) -> DocumentTerms:
    title: dict[str, set[str]] = {}
    text: dict[str, set[str]] = {}
    for p in passages:
        if p.doc_id not in text:
            title[p.doc_id] = analyzer.term_set(p.title, p.doc_id)
            text[p.doc_id] = set(title[p.doc_id])
        text[p.doc_id] |= analyzer.term_set(p.text, p.doc_id)
    return DocumentTerms(title, text)


def topic_weights(evidence: Evidence) -> dict[str, float]:
    """The question's term weights less the words naming what is asked for (all of them when
    nothing else is left)."""
    focus = {stem for part in evidence.parts for stem in part.focus_stems}
    topic = {term: weight for term, weight in evidence.term_weights.items() if term not in focus}
    return topic if any(topic.values()) else dict(evidence.term_weights)


def context_scores(evidence: Evidence, terms: DocumentTerms) -> dict[str, float]:
    """How much each document is about the question's topic, in [0, 1]."""
    weights = topic_weights(evidence)
    return {
        doc_id: TITLE_SHARE * coverage(weights, terms.title[doc_id])
        + (1.0 - TITLE_SHARE) * coverage(weights, text)
        for doc_id, text in terms.text.items()
    }


def documents_naming(evidence: Evidence, terms: DocumentTerms, analyzer: Analyzer) -> set[str]:
    """The documents at hand that name every thing the question names (all of them when it
    names nothing). A name is read as each document reads it: one that a document defines as a
    short form ("FLT3") stands there for its long form's words."""
    return {
        doc_id
        for doc_id, text in terms.text.items()
        if all(analyzer.term_set(word, doc_id) <= text for word in evidence.named)
    }


def about_other_disease(evidence: Evidence) -> set[str]:
    """The documents whose titles name only diseases other than those the question names."""
    return {
        doc_id for doc_id, similarity in evidence.disease_similarity.items() if similarity < OTHER_DISEASE
    }
