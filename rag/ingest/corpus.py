"""Ingesting files: which files make the collection, reading them (here or on a Ray cluster),
and bringing the index in line with them. Also the `DocumentWriter` interface: what changes
the index, in this process or through one writer for several replicas (`api.ray_serve`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from rag.documents import source_file
from rag.errors import IndexMismatchError
from rag.index.store import Index
from rag.ingest.dedupe import copies_of_stored, lookup_keys
from rag.ingest.loaders import FileReport, LoadResult, load_paths
from rag.ingest.sync import Encoder, IngestReport
from rag.ingest.updater import Updater
from rag.ingest.uploads import StagedFile
from rag.progress import Progress, no_progress
from rag.settings import Settings

log = logging.getLogger(__name__)
Engine = Literal["local", "ray"]


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


def collection_roots(settings: Settings) -> list[Path]:
    """Where the collection's files are: the corpus, and the upload directory if it lies elsewhere."""
    corpus, uploads = settings.corpus_dir, settings.upload_dir
    outside = uploads.exists() and not uploads.resolve().is_relative_to(corpus.resolve())
    return [corpus, uploads] if outside else [corpus]


def ingest_files(
    updater: Updater,
    paths: Sequence[Path] | None = None,
    *,
    rebuild: bool = False,
    rebuild_if_incompatible: bool = False,
    prune: bool = True,
    confine_to: Sequence[Path] | None = None,
    progress: Progress = no_progress,
    engine: Engine = "local",
) -> IngestResult:
    """Bring the index in line with the documents under `paths` (default: the corpus and the
    upload directory). Documents read from other files are kept; with `prune`, those read
    from files under `paths` that are gone (or hold them no more) are removed.

    An index built with another model or chunking is refused, or rebuilt with
    `rebuild_if_incompatible` (what `rag serve --ingest` does). With `confine_to`, files
    that resolve outside those directories are skipped (server-side ingestion)."""
    settings = updater.settings
    roots = list(paths or collection_roots(settings))
    encoder: Encoder | None = None
    if engine == "ray":
        from rag.ingest.distributed import RayEncoder, load_files  # Ray is an optional extra

        loaded = load_files(roots, confine_to, settings.ray)
        encoder = RayEncoder(settings.ray, settings.embedding, settings.chunking, settings.model_cache_dir)
    else:
        loaded = load_paths(roots, confine_to, progress)
    if not rebuild and Index.exists(settings.index_dir):
        try:
            _ = updater.handle.current()
        except IndexMismatchError as exc:
            if not rebuild_if_incompatible:
                raise
            log.warning("%s; rebuilding it", exc.message)
            rebuild = True
    fresh = rebuild or not Index.exists(settings.index_dir)
    if not fresh:
        index = updater.handle.current()
        leaving = index.chunks.documents_under(roots) if prune else set()
        _drop_second_copies(loaded, index, leaving)
    report = updater.apply(
        loaded.documents, prune=prune, prune_under=roots, fresh=fresh, progress=progress, encoder=encoder
    )
    return IngestResult(report, loaded.files, len(loaded.documents), built=fresh)


def _drop_second_copies(loaded: LoadResult, index: Index, leaving: set[str]) -> None:
    """The index keeps documents that were not loaded now (read from other files, or not
    pruned): an article among them is not added again under another id. Documents `leaving`
    the index (pruned now) do not count."""
    stored = index.chunks.fingerprints_with_keys(lookup_keys(loaded.documents))
    copies = copies_of_stored(loaded.documents, stored, replaced=leaving)
    for doc, other, why in copies:
        reason = f"{doc.doc_id} is the same article as the indexed {other} ({why})"
        loaded.files.append(FileReport(source_file(doc.path or ""), "skipped", reason))
    dropped = {doc.doc_id for doc, _, _ in copies}
    loaded.documents = [doc for doc in loaded.documents if doc.doc_id not in dropped]
