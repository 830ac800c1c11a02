"""The one place where the pieces are built and wired together: a thin facade.

`Pipeline.load(settings)` loads the embedding model (and a local language model, if one is
configured) and opens the index once; the HTTP service, the CLI and the evaluation all go
through it. Each job is done by its own object: asking (`rag.answer.asker`), searching
(`rag.search.searcher`), reading the collection (`rag.index.library`) and changing it
(`rag.ingest`). Tests pass their own embedder, index or composer to the constructor.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rag.answer.asker import AnswerListener, AnswerMode, Asker
from rag.answer.composition import Composer
from rag.answer.evidence import Evidence
from rag.answer.followup import Turn
from rag.answer.llm import LanguageModel
from rag.documents import Answer, Document, DocumentSummary, Passage
from rag.embed import Embedder, load_embedder
from rag.errors import IndexChangedError
from rag.index.handle import IndexHandle, open_latest
from rag.index.lexical import ANALYZER
from rag.index.library import Library
from rag.index.manifest import IndexSpec
from rag.index.store import Index
from rag.index.vectors import INDEX_TYPE
from rag.ingest.chunking import Chunker
from rag.ingest.corpus import Engine, IngestResult, ingest_files
from rag.ingest.sync import IngestReport
from rag.ingest.updater import Optimized, Updater
from rag.ingest.uploads import StagedFile
from rag.progress import Progress, no_progress
from rag.search.filters import Facets, Filters, check_documents, facet_counts
from rag.search.retrieval import Mode
from rag.search.searcher import Searcher
from rag.settings import Settings
from rag.text.spelling import spelling_rules_id


def scoped(index: Index, filters: Filters | None, doc_ids: Sequence[str] | None) -> Filters | None:
    """`filters` limited to `doc_ids` too (the API's top-level field): with ids of its own, the
    ids in both. Raises NotFoundError naming any id of either list the index does not hold."""
    if not doc_ids:
        return filters
    if filters is not None and filters.doc_ids:
        check_documents(index.chunks, [*doc_ids, *filters.doc_ids])
    return (filters or Filters()).scoped_to(doc_ids)


def index_spec(embedder: Embedder, settings: Settings) -> IndexSpec:
    """What an index must have been built with to be read with this model and these settings."""
    return IndexSpec(
        model_id=embedder.model_id,
        weights_sha256=embedder.weights_sha256,
        dimension=embedder.dimension,
        max_seq_length=embedder.max_seq_length,
        chunking=settings.chunking.model_dump(),
        lexical={**ANALYZER, "spelling": spelling_rules_id()},
        index_type=INDEX_TYPE,
        embedding_precision=embedder.precision,
    )


Result = TypeVar("Result")


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        index: Index | None,
        composer: Callable[[Index], Composer] | None = None,
        llm: LanguageModel | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.llm = llm
        self.chunker = Chunker(embedder, settings.chunking)
        self.handle = IndexHandle(settings.index_dir, index_spec(embedder, settings), index)
        self.updater = Updater(self.handle, embedder, self.chunker, settings)
        self.searcher = Searcher(settings.retrieval, settings.answer, settings.top_k)
        self.asker = Asker(settings, embedder, self.searcher, llm, composer)
        self.library = Library(self.handle)
        self._facets: tuple[weakref.ref[Index], Facets] | None = None
        self._facets_lock = threading.Lock()

    @classmethod
    def load(
        cls, settings: Settings | None = None, *, require_index: bool = True, llm: LanguageModel | None = None
    ) -> Pipeline:
        """Load the model and open the index (unless require_index is False: then it opens on first use).
        The configured generative model is loaded too, unless `llm` is given (one already loaded)."""
        settings = settings or Settings()
        embedder = load_embedder(settings.embedding, settings.model_cache_dir)
        spec = index_spec(embedder, settings)
        index = open_latest(settings.index_dir, spec)[0] if require_index else None
        if llm is None and settings.generation.configured:
            from rag.answer.llm import TransformersLanguageModel

            llm = TransformersLanguageModel.load(settings.generation)
        return cls(settings, embedder, index, llm=llm)

    @property
    def index(self) -> Index:
        """The current index generation. A request takes it once and keeps it to the end."""
        return self.handle.current()

    @property
    def reload_error(self) -> str | None:
        """Why a newer generation another process published could not be opened (None: it could)."""
        return self.handle.reload_error

    # --- asking ----------------------------------------------------------------------

    def read(self, query: str) -> str:
        """`query` as a question is read (`Asker.read`: misspellings, lay words), against the
        current index's words; /search and `rag search` search for it."""
        return self._on_current(lambda index: self.asker.read(index, query))

    def search(
        self,
        query: str,
        top_k: int | None = None,
        doc_ids: Sequence[str] | None = None,
        mode: Mode | None = None,
        *,
        filters: Filters | None = None,
    ) -> list[Passage]:
        """The passages retrieved for `query`, among `doc_ids` (when given) and what `filters`
        lets through (see `scoped`)."""
        vector = self.embedder.embed([query])[0]
        return self._on_current(
            lambda index: self.searcher.search(
                index, vector, query, top_k, filters=scoped(index, filters, doc_ids), mode=mode
            )
        )

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        doc_ids: Sequence[str] | None = None,
        mode: Mode | None = None,
        *,
        filters: Filters | None = None,
        answer_mode: AnswerMode | None = None,
        listener: AnswerListener | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        """A cited answer (see `Asker.ask`) from `doc_ids` (when given) and what `filters` lets
        through (see `scoped`); `history`: the earlier turns of a conversation."""
        return self._on_current(
            lambda index: self.asker.ask(
                index,
                question,
                top_k,
                scoped(index, filters, doc_ids),
                mode,
                answer_mode=answer_mode,
                listener=listener,
                history=history,
            )
        )

    def _on_current(self, run: Callable[[Index], Result]) -> Result:
        """`run` on the current generation, and once more on a newer one when later writes
        purged rows it needed while it ran (it fails before it reports anything to a listener:
        the rows are read while the passages are retrieved)."""
        index = self.index
        try:
            return run(index)
        except IndexChangedError:
            fresh = self.index
            if fresh is index:
                raise
            return run(fresh)

    def evidence(self, question: str, top_k: int | None = None) -> Evidence:
        """What the composer answers `question` from."""
        return self.asker.evidence(self.index, question, top_k)

    def require_llm(self) -> LanguageModel:
        return self.asker.require_llm()

    def check_documents(self, doc_ids: Sequence[str]) -> None:
        """Raise NotFoundError naming the doc_ids the index does not hold."""
        check_documents(self.index.chunks, doc_ids)

    def facets(self) -> Facets:
        """How many documents have each year, journal and file type."""
        index = self.index
        with self._facets_lock:
            if self._facets is not None and self._facets[0]() is index:
                return self._facets[1]
        facets = facet_counts(index.chunks.document_facts(with_path=True))
        with self._facets_lock:
            self._facets = (weakref.ref(index), facets)  # a generation's documents never change
        return facets

    # --- the collection ----------------------------------------------------------------

    def document(self, doc_id: str) -> Document:
        return self.library.document(doc_id)

    def documents(self, limit: int, offset: int = 0) -> tuple[list[DocumentSummary], int]:
        return self.library.page(limit, offset)

    def example_questions(self, limit: int = 4) -> list[str]:
        return self.library.example_questions(limit)

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
            "segments": index.segments.describe(),
            "generation": index.generation,
            "retrieval": self.settings.retrieval.mode,
            "generation_model": self.llm.model_id if self.llm else None,
            "answer_modes": ["extractive", "generative"] if self.llm else ["extractive"],
            "corpus_fingerprint": manifest.corpus_fingerprint if manifest else None,
            "updated_at": manifest.updated_at if manifest else None,
        }

    # --- changing the index (rag.pipeline.DocumentWriter) --------------------------------

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        rebuild: bool = False,
        rebuild_if_incompatible: bool = False,
        prune: bool = True,
        confine_to: Sequence[Path] | None = None,
        progress: Progress = no_progress,
        engine: Engine = "local",
    ) -> IngestResult:
        """Bring the index in line with the files under `paths` (see `ingest_files`)."""
        return ingest_files(
            self.updater,
            paths,
            rebuild=rebuild,
            rebuild_if_incompatible=rebuild_if_incompatible,
            prune=prune,
            confine_to=confine_to,
            progress=progress,
            engine=engine,
        )

    def add_documents(self, staged: Sequence[StagedFile], progress: Progress = no_progress) -> IngestReport:
        """Store uploaded documents and index them; visible to the next question at once."""
        return self.updater.add_files(staged, progress)

    def delete_document(self, doc_id: str) -> IngestReport:
        return self.updater.delete(doc_id)

    def optimize(self) -> Optimized:
        """Merge the index's segments into one, dropping deleted rows (`rag optimize`)."""
        return self.updater.optimize()

    def close(self) -> None:
        self.handle.close()
