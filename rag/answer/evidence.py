"""What a composer answers from, built the same way everywhere (the pipeline, the tests,
eval/tune.py): the question read into its parts, the words it uses that the corpus lacks,
the retrieved passages and their sentences.

`plan_question` reads the question and says which texts to embed (one batch: the question, its
parts when it has several, the diseases it names, the unknown words to look up near-synonyms
for); `build_evidence` puts the vectors, passages and sentences together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from rag.answer.abstain import UnknownWord, absent_terms, named_words, unknown_words
from rag.answer.diseases import disease_names, name_variants
from rag.answer.lay_terms import Equivalents, LayTerms, equivalents
from rag.answer.question import QUESTION_WORDS, Question, analyze, asked_part, split_parts
from rag.documents import Passage, SentenceRecord
from rag.index.vocabulary import Lexicon
from rag.text import stem
from rag.text.abbreviations import Abbreviations

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# A part shorter than this ("and how often?") means little alone: it is embedded as the whole question.
MIN_PART_CONTENT_WORDS = 3


@dataclass(frozen=True)
class QuestionPart:
    """One sub-question with what scoring needs about it."""

    question: Question
    vector: NDArray[np.float32]
    term_weights: dict[str, float]
    focus_stems: tuple[str, ...] = ()
    measure_stems: tuple[str, ...] = ()
    asked_weights: dict[str, float] | None = None
    """`term_weights` without the words of a scene-setting opening ("In the trial of X, what
    ..."): they name the document, not the sentence that answers. None: the same."""

    @property
    def sentence_weights(self) -> dict[str, float]:
        """The term weights that decide which sentence answers."""
        return self.term_weights if self.asked_weights is None else self.asked_weights


@dataclass(frozen=True)
class Evidence:
    """Everything a composer may use to answer one question."""

    question: Question
    parts: Sequence[QuestionPart]
    passages: Sequence[Passage]
    sentences: Sequence[SentenceRecord]
    term_weights: dict[str, float]  # the whole question's words: they decide the document
    absent_terms: tuple[str, ...] = ()
    named: tuple[str, ...] = ()
    """Words of the question naming a drug, gene or strain: the answer's document names them all."""
    diseases: tuple[str, ...] = ()
    """The diseases the question names ("colorectal cancer")."""
    disease_similarity: Mapping[str, float] = field(default_factory=dict)
    """For each document whose title names a disease, how close the nearest is to one the
    question names (diseases.DiseaseMatcher); empty when the question names none."""
    equivalents: Equivalents = ()
    """The question's clinical terms with the other names of each (lay_terms.equivalents): a
    sentence naming any names the question's."""


@dataclass(frozen=True)
class QuestionPlan:
    """A question read before retrieval, and the texts to embed for it."""

    text: str
    question: Question
    parts: list[Question]
    unknown: list[UnknownWord]
    """Words of the question that name a thing the corpus never mentions."""
    named: tuple[str, ...] = ()
    """Words of the question that name a thing the corpus mentions (abstain.named_words)."""
    diseases: tuple[str, ...] = ()
    """The diseases the question names (diseases.disease_names)."""

    def with_absent(self, words: Sequence[str]) -> QuestionPlan:
        """This plan with `words` unknown names of things (a study's author no document has)."""
        known = {w.token for w in self.unknown}
        added = [UnknownWord(w, names_thing=True, needs_similarity=False) for w in words if w not in known]
        return replace(self, unknown=[*self.unknown, *added]) if added else self

    @property
    def compared(self) -> list[UnknownWord]:
        """The unknown words whose nearest corpus word decides whether they are paraphrased."""
        return [w for w in self.unknown if w.needs_similarity]

    @property
    def texts(self) -> list[str]:
        """What to embed, in one batch: the question, its parts (if several), the diseases it
        names, the compared words."""
        parts = [p.text if len(p.content_words) >= MIN_PART_CONTENT_WORDS else self.text for p in self.parts]
        return [
            self.text,
            *(parts if len(self.parts) > 1 else []),
            *self.disease_texts,
            *(w.token.lower() for w in self.compared),
        ]

    def disease_vectors(self, vectors: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        """The vectors of the diseases the question names (`disease_texts`), from those of `texts`."""
        start = 1 + (len(self.parts) if len(self.parts) > 1 else 0)
        return list(vectors[start : start + len(self.disease_texts)])

    @property
    def disease_texts(self) -> list[str]:
        return [variant for name in self.diseases for variant in name_variants(name)]


def plan_question(question: str, lexicon: Lexicon, abbreviations: Abbreviations) -> QuestionPlan:
    unknown = [w for w in unknown_words(question, lexicon, abbreviations) if w.names_thing]
    parts = [analyze(t) for t in split_parts(question)]
    named = named_words(question, lexicon)
    return QuestionPlan(question, analyze(question), parts, unknown, named, disease_names(question))


def build_evidence(
    plan: QuestionPlan,
    vectors: NDArray[np.float32],
    *,
    passages: Sequence[Passage],
    sentences: Sequence[SentenceRecord],
    lexicon: Lexicon,
    abbreviations: Abbreviations,
    synonym_similarity: float,
    disease_similarity: Mapping[str, float] | None = None,
    lay_terms: LayTerms | None = None,
) -> Evidence:
    """The evidence for `plan`, given the vectors of `plan.texts` (in that order); `lay_terms`
    says which clinical names are of one thing (none when lay terms are not read)."""
    several = len(plan.parts) > 1
    part_vectors = vectors[1 : len(plan.parts) + 1] if several else vectors[:1]
    compared = plan.compared
    word_vectors = vectors[len(vectors) - len(compared) :] if compared else vectors[:0]
    nearest = lexicon.nearest(word_vectors)
    similarities = {w.token: similarity for w, (_, similarity) in zip(compared, nearest, strict=True)}
    parts = [
        question_part(part, vector, lexicon, abbreviations)
        for part, vector in zip(plan.parts, part_vectors, strict=True)
    ]
    return Evidence(
        question=plan.question,
        parts=parts,
        passages=passages,
        sentences=sentences,
        term_weights=term_weights(plan.text, lexicon, abbreviations),
        absent_terms=absent_terms(plan.unknown, similarities, synonym_similarity),
        named=plan.named,
        diseases=plan.diseases,
        disease_similarity=dict(disease_similarity or {}),
        equivalents=equivalents(set().union(*(p.sentence_weights for p in parts)), lay_terms),
    )


def question_part(
    part: Question, vector: NDArray[np.float32], lexicon: Lexicon, abbreviations: Abbreviations
) -> QuestionPart:
    weights = term_weights(part.text, lexicon, abbreviations)
    return QuestionPart(
        part,
        vector,
        weights,
        content_stems(part.focus_words, abbreviations),
        content_stems(part.measure, abbreviations),
        asked_weights(part.text, weights, abbreviations),
    )


def content_stems(words: Sequence[str], abbreviations: Abbreviations) -> tuple[str, ...]:
    """Content stems of a phrase, short forms expanded, in order."""
    expanded = abbreviations.expand(" ".join(words))
    return tuple(stem([w for w in expanded if w not in QUESTION_WORDS and len(w) > 1]))


def term_weights(text: str, lexicon: Lexicon, abbreviations: Abbreviations) -> dict[str, float]:
    """Idf weight of each content stem of `text`, short forms expanded."""
    expanded = [w for w in abbreviations.expand(text) if w not in QUESTION_WORDS and len(w) > 1]
    return {term: lexicon.idf(term) for term in dict.fromkeys(stem(expanded))}


def asked_weights(
    text: str, weights: dict[str, float], abbreviations: Abbreviations
) -> dict[str, float] | None:
    """`weights` restricted to the terms of the question's asked part; None when the question
    has no scene-setting opening (or the asked part keeps none of its terms)."""
    asked = asked_part(text)
    if asked == text:
        return None
    kept = set(stem([w for w in abbreviations.expand(asked) if w not in QUESTION_WORDS and len(w) > 1]))
    restricted = {t: w for t, w in weights.items() if t in kept}
    return restricted or None
