"""The one place where the pieces are built and wired together.

`Pipeline.load(settings)` loads the embedding model and opens the index once; the HTTP
service, the CLI and the evaluation all go through it. Tests pass their own embedder,
index or composer to the constructor.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from rag.answer.abstain import absent_terms, unknown_words
from rag.answer.extractive import Composer, Composition, Evidence, ExtractiveComposer, QuestionPart
from rag.answer.generative import GenerativeComposer
from rag.answer.llm import TextGenerator
from rag.answer.question import QUESTION_WORDS, analyze, split_parts
from rag.documents import Answer, Document, Passage, source_file
from rag.embed import Embedder, load_embedder
from rag.errors import GenerationUnavailableError, IndexMismatchError, NotFoundError
from rag.index.handle import IndexHandle
from rag.index.lexical import ANALYZER
from rag.index.manifest import IndexSpec
from rag.index.store import Index
from rag.index.vectors import INDEX_TYPE
from rag.ingest.chunking import Chunker
from rag.ingest.dedupe import copies_of_stored
from rag.ingest.loaders import FileReport, LoadResult, load_paths
from rag.ingest.sync import Encoder, IngestReport
from rag.ingest.updater import Updater
from rag.ingest.uploads import StagedFile
from rag.progress import Progress, no_progress
from rag.search.retrieval import HybridRetriever, Mode, RetrievalConfig
from rag.settings import Settings
from rag.text import split_sentences, stem

log = logging.getLogger(__name__)
AnswerMode = Literal["extractive", "generative"]


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


def index_spec(embedder: Embedder, settings: Settings) -> IndexSpec:
    return IndexSpec(
        model_id=embedder.model_id,
        weights_sha256=embedder.weights_sha256,
        dimension=embedder.dimension,
        max_seq_length=embedder.max_seq_length,
        chunking=settings.chunking.model_dump(),
        lexical=dict(ANALYZER),
        index_type=INDEX_TYPE,
        embedding_precision=embedder.precision,
    )


class DocumentWriter(Protocol):
    """What changes the index. A Pipeline writes itself; replicas that share one index send their
    writes to a single writer (`api.ray_serve`)."""

    def add_documents(
        self, staged: Sequence[StagedFile], progress: Progress = no_progress
    ) -> IngestReport: ...

    def delete_document(self, doc_id: str) -> IngestReport: ...

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        prune: bool = True,
        confine_to: Sequence[Path] | None = None,
        progress: Progress = no_progress,
    ) -> IngestResult: ...


@dataclass(frozen=True)
class IngestResult:
    report: IngestReport
    files: list[FileReport]
    """What happened to each file: loaded, skipped (with the reason) or failed (with the reason)."""
    documents_seen: int
    built: bool = False
    """Whether the index was built from nothing (none existed, or it was rebuilt)."""

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [(f.path, f.reason or "") for f in self.files if f.status != "loaded"]


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        index: Index | None,
        composer: Composer | None = None,
        generator: TextGenerator | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.generator = generator
        self.chunker = Chunker(embedder, settings.chunking)
        self.handle = IndexHandle(settings.index_dir, index_spec(embedder, settings), index)
        self.updater = Updater(self.handle, embedder, self.chunker, settings)
        self._composer = composer

    @classmethod
    def load(cls, settings: Settings | None = None, *, require_index: bool = True) -> Pipeline:
        """Load the model and open the index (unless require_index is False: then it opens on first use)."""
        settings = settings or Settings()
        embedder = load_embedder(settings.embedding, settings.model_cache_dir)
        spec = index_spec(embedder, settings)
        index = Index.open(settings.index_dir, spec) if require_index else None
        generator = None
        if settings.generation.model_path is not None:
            from rag.answer.llm import TransformersGenerator

            generator = TransformersGenerator.load(settings.generation)
        return cls(settings, embedder, index, generator=generator)

    @property
    def index(self) -> Index:
        """The current index generation. A request takes it once and keeps it to the end."""
        return self.handle.current()

    def composer(self, index: Index) -> Composer:
        return self._composer or ExtractiveComposer(self.settings.answer, index.abbreviations)

    def retriever(self, index: Index) -> HybridRetriever:
        config = RetrievalConfig(**self.settings.retrieval.model_dump())
        return HybridRetriever(index.vectors, index.lexical, config)

    # --- asking ----------------------------------------------------------------------

    def search(
        self,
        query: str,
        top_k: int | None = None,
        doc_ids: Sequence[str] | None = None,
        mode: Mode | None = None,
    ) -> list[Passage]:
        vector = self.embedder.embed([query])[0]
        return self._retrieve(
            self.index, vector, query, top_k or self.settings.top_k, doc_ids=doc_ids, mode=mode
        )

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        doc_ids: Sequence[str] | None = None,
        mode: Mode | None = None,
        *,
        answer_mode: AnswerMode | None = None,
        listener: AnswerListener | None = None,
    ) -> Answer:
        """A cited answer. `mode` is the retrieval mode; `answer_mode` the composer (extractive or
        generative, default from the settings); `listener` hears the passages, then the answer
        as it is written (tokens of a generative answer, sentences of an extractive one)."""
        answer_mode = answer_mode or self.settings.generation.default_mode
        if answer_mode == "generative":
            self.require_generator()
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        index = self.index
        analysis = analyze(question)
        part_texts = split_parts(question)
        part_analyses = [analyze(text) for text in part_texts]
        unknown = [w for w in unknown_words(question, index.lexicon, index.abbreviations) if w.names_thing]
        to_compare = [w for w in unknown if w.needs_similarity]
        # One batch: the question, its parts (if several), the words to look up synonyms for.
        # A part too short to mean much alone ("and how often?") is read with the whole question.
        part_inputs = [p.text if len(p.content_words) >= 3 else question for p in part_analyses]
        texts = [
            question,
            *(part_inputs if len(part_texts) > 1 else []),
            *(w.token.lower() for w in to_compare),
        ]
        vectors = self.embedder.embed(texts)
        part_vectors = vectors[1 : len(part_texts) + 1] if len(part_texts) > 1 else vectors[:1]
        word_vectors = vectors[len(texts) - len(to_compare) :]
        timings["embed"] = _ms(clock)

        clock = time.perf_counter()
        nearest = index.lexicon.nearest(word_vectors)
        similarities = {w.token: similarity for w, (_, similarity) in zip(to_compare, nearest, strict=True)}
        absent = absent_terms(unknown, similarities, self.settings.answer.synonym_similarity)
        passages = self._evidence_passages(
            index, vectors[0], question, analysis.is_list, top_k=top_k, doc_ids=doc_ids, mode=mode
        )
        sentences = index.chunks.sentences([p.row_id for p in passages])
        timings["retrieve"] = _ms(clock)

        clock = time.perf_counter()
        parts = [
            QuestionPart(
                part,
                vector,
                self._term_weights(index, part.text),
                self._stems(index, part.focus_words),
                self._stems(index, part.measure),
            )
            for part, vector in zip(part_analyses, part_vectors, strict=True)
        ]
        evidence = Evidence(
            question=analysis,
            parts=parts,
            passages=passages,
            sentences=sentences,
            term_weights=self._term_weights(index, question),
            absent_terms=absent,
        )
        if listener is not None:
            listener.passages(passages)
        composition = self._compose(index, evidence, answer_mode, listener)
        timings["compose"] = _ms(clock)
        return Answer(
            answer=composition.answer,
            abstained=composition.abstained,
            citations=composition.citations,
            passages=tuple(passages),
            timings_ms={k: round(v, 2) for k, v in timings.items()},
            reason=composition.reason,
            composer=composition.composer,
            dropped=composition.dropped,
        )

    def require_generator(self) -> TextGenerator:
        if self.generator is None:
            raise GenerationUnavailableError(
                "generative answers need a local generative model, and none is configured",
                "set RAG_GENERATION__MODEL_PATH to a transformers model directory with safetensors "
                "weights (an instruction-tuned causal LM such as Qwen2.5-Instruct, or a seq2seq model "
                "such as flan-t5) and restart; or ask with mode extractive",
            )
        return self.generator

    def _compose(
        self, index: Index, evidence: Evidence, answer_mode: AnswerMode, listener: AnswerListener | None
    ) -> Composition:
        extractive = self.composer(index)
        if answer_mode == "extractive":
            composition = extractive.compose(evidence)
            if listener is not None:
                for span in split_sentences(composition.answer):
                    listener.sentence(composition.answer[span.start : span.end])
            return composition
        generative = GenerativeComposer(self.require_generator(), extractive, self.settings.generation)
        if listener is None:
            return generative.compose(evidence)
        return generative.compose(evidence, on_text=listener.token, cancelled=listener.cancelled)

    def _evidence_passages(
        self,
        index: Index,
        vector: np.ndarray[Any, Any],
        question: str,
        is_list: bool,
        *,
        top_k: int | None,
        doc_ids: Sequence[str] | None,
        mode: Mode | None,
    ) -> list[Passage]:
        """The passages an answer may quote from."""
        k = top_k or self.settings.top_k
        if is_list:
            # A question across studies needs passages from each of several documents.
            wide = self._retrieve(index, vector, question, k * 4, doc_ids=doc_ids, mode=mode)
            passages = _best_per_document(wide, max(k, self.settings.answer.max_list_sources))
            return self._with_neighbours(index, passages, documents=len(passages))
        passages = self._retrieve(index, vector, question, k, doc_ids=doc_ids, mode=mode)
        return self._with_neighbours(index, passages, documents=self.settings.answer.expand_documents)

    def _stems(self, index: Index, words: Sequence[str]) -> tuple[str, ...]:
        """Content stems of a phrase, short forms expanded, in order."""
        expanded = index.abbreviations.expand(" ".join(words))
        return tuple(term for term in stem([w for w in expanded if w not in QUESTION_WORDS and len(w) > 1]))

    def _term_weights(self, index: Index, question: str) -> dict[str, float]:
        """Idf weight of each content stem of the question, short forms expanded."""
        expanded = [w for w in index.abbreviations.expand(question) if w not in QUESTION_WORDS and len(w) > 1]
        return {term: index.lexicon.idf(term) for term in dict.fromkeys(stem(expanded))}

    def check_documents(self, doc_ids: Sequence[str], index: Index | None = None) -> None:
        """Raise NotFoundError naming the doc_ids the index does not hold."""
        missing = (index or self.index).chunks.missing_documents(doc_ids)
        if missing:
            hint = "GET /documents lists the known ids"
            raise NotFoundError(f"unknown doc_ids: {', '.join(missing)}", hint)

    def _retrieve(
        self,
        index: Index,
        vector: np.ndarray[Any, Any],
        query: str,
        top_k: int,
        *,
        doc_ids: Sequence[str] | None,
        mode: Mode | None,
    ) -> list[Passage]:
        allowed = None
        if doc_ids:
            self.check_documents(doc_ids, index)
            allowed = set(index.chunks.row_ids_for_documents(doc_ids))
        lexical_query = " ".join(index.abbreviations.expand(query))
        hits = self.retriever(index).retrieve(vector, lexical_query, top_k, allowed, mode)
        records = index.chunks.passages([row for row, _ in hits])
        return [
            dataclasses.replace(records[row], score=round(score, 6), rank=rank)
            for rank, (row, score) in enumerate(hits, start=1)
        ]

    def _with_neighbours(self, index: Index, passages: list[Passage], documents: int) -> list[Passage]:
        """Add the other chunks of the best `documents`: the sentence naming the study and
        the sentence holding its result are often in different chunks of one abstract."""
        settings = self.settings.answer
        best_documents = list(dict.fromkeys(p.doc_id for p in passages))[:documents]
        seen = {p.row_id for p in passages}
        extra_rows: list[int] = []
        for doc_id in best_documents:
            rows = index.chunks.chunk_rows(doc_id)  # (row id, ordinal), in order
            hit_ordinals = [ordinal for row, ordinal in rows if row in seen]
            # The lead chunk (an article's abstract) first, then the chunks nearest the hits.
            nearest = sorted(rows, key=lambda r: (r[1] != 0, min(abs(r[1] - o) for o in hit_ordinals)))
            extra_rows += [row for row, _ in nearest if row not in seen][: settings.neighbour_chunks]
        records = index.chunks.passages(extra_rows)
        extra = [
            dataclasses.replace(records[row], rank=len(passages) + i)
            for i, row in enumerate(extra_rows, start=1)
        ]
        return passages + extra

    # --- documents -------------------------------------------------------------------

    def document(self, doc_id: str) -> Document:
        doc = self.index.chunks.document(doc_id)
        if doc is None:
            raise NotFoundError(f"no document with doc_id {doc_id!r}", "GET /documents lists the known ids")
        return doc

    def example_questions(self, limit: int = 4) -> list[str]:
        """Questions the corpus can answer, one per document spread over the collection."""
        documents = self.index.chunks.list_documents()
        picked = documents[:: max(1, len(documents) // max(limit, 1))][:limit]
        return [f"What did the study “{_shortened(d.title)}” find?" for d in picked]

    def stats(self) -> dict[str, Any]:
        index = self.index
        documents, chunks, sentences = index.chunks.counts()
        manifest = index.manifest
        return {
            "documents": documents,
            "chunks": chunks,
            "sentences": sentences,
            "vocabulary": index.lexicon.size,
            "model": self.embedder.model_id,
            "model_sha256": self.embedder.weights_sha256,
            "dimension": self.embedder.dimension,
            "embedding_backend": self.embedder.backend,
            "embedding_precision": self.embedder.precision,
            "index_type": index.spec.index_type,
            "vector_index": index.vectors.describe(),
            "generation": index.generation,
            "retrieval": self.settings.retrieval.mode,
            "generation_model": self.generator.model_id if self.generator else None,
            "answer_modes": ["extractive", "generative"] if self.generator else ["extractive"],
            "corpus_fingerprint": manifest.corpus_fingerprint if manifest else None,
            "updated_at": manifest.updated_at if manifest else None,
        }

    # --- changing the index ------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        rebuild: bool = False,
        rebuild_if_incompatible: bool = False,
        prune: bool = True,
        confine_to: Sequence[Path] | None = None,
        progress: Progress = no_progress,
        engine: Literal["local", "ray"] = "local",
    ) -> IngestResult:
        """Bring the index in line with the documents under `paths` (default: the corpus and the
        upload directory). Documents read from other files are kept; with `prune`, those read
        from files under `paths` that are gone (or hold them no more) are removed.

        An index built with another model or chunking is refused, or rebuilt with
        `rebuild_if_incompatible` (what `rag serve --ingest` does). With `confine_to`, files
        that resolve outside those directories are skipped (server-side ingestion)."""
        roots = list(paths or self.collection_roots())
        encoder: Encoder | None = None
        if engine == "ray":
            from rag.ingest.distributed import RayEncoder, load_files  # Ray is an optional extra

            loaded = load_files(roots, confine_to, self.settings.ray)
            encoder = RayEncoder(
                self.settings.ray,
                self.settings.embedding,
                self.settings.chunking,
                self.settings.model_cache_dir,
            )
        else:
            loaded = load_paths(roots, confine_to, progress)
        if not rebuild and Index.exists(self.settings.index_dir):
            try:
                _ = self.index
            except IndexMismatchError as exc:
                if not rebuild_if_incompatible:
                    raise
                log.warning("%s; rebuilding it", exc.message)
                rebuild = True
        fresh = rebuild or not Index.exists(self.settings.index_dir)
        if not fresh:
            leaving = self.index.chunks.documents_under(roots) if prune else set()
            self._drop_second_copies(loaded, leaving)
        report = self.updater.apply(
            loaded.documents, prune=prune, prune_under=roots, fresh=fresh, progress=progress, encoder=encoder
        )
        return IngestResult(report, loaded.files, len(loaded.documents), built=fresh)

    def collection_roots(self) -> list[Path]:
        """Where the collection's files are: the corpus, and the upload directory if it lies elsewhere."""
        corpus, uploads = self.settings.corpus_dir, self.settings.upload_dir
        outside = uploads.exists() and not uploads.resolve().is_relative_to(corpus.resolve())
        return [corpus, uploads] if outside else [corpus]

    def _drop_second_copies(self, loaded: LoadResult, leaving: set[str]) -> None:
        """The index keeps documents that were not loaded now (read from other files, or not
        pruned): an article among them is not added again under another id. Documents `leaving`
        the index (pruned now) do not count."""
        copies = copies_of_stored(loaded.documents, self.index.chunks.fingerprints(), replaced=leaving)
        for doc, other, why in copies:
            reason = f"{doc.doc_id} is the same article as the indexed {other} ({why})"
            loaded.files.append(FileReport(source_file(doc.path or ""), "skipped", reason))
        dropped = {doc.doc_id for doc, _, _ in copies}
        loaded.documents = [doc for doc in loaded.documents if doc.doc_id not in dropped]

    def add_documents(self, staged: Sequence[StagedFile], progress: Progress = no_progress) -> IngestReport:
        """Store uploaded documents and index them; visible to the next question at once."""
        if not Index.exists(self.settings.index_dir):
            self.updater.apply([], prune=False, fresh=True)
        return self.updater.add_files(staged, progress)

    def delete_document(self, doc_id: str) -> IngestReport:
        return self.updater.delete(doc_id)

    def close(self) -> None:
        self.handle.close()


def _best_per_document(passages: list[Passage], limit: int) -> list[Passage]:
    best: dict[str, Passage] = {}
    for passage in passages:
        best.setdefault(passage.doc_id, passage)
    return list(best.values())[:limit]


def _shortened(title: str, limit: int = 60) -> str:
    title = title.strip().rstrip(".")
    if len(title) <= limit:
        return title
    return title[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
