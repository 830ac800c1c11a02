"""Changing the index: every change is one new generation, published atomically.

`Updater` is the single writer of a process. Each method takes the writer lock, prepares
the next generation from the current one, and commits it only when it is complete; until
then, and if anything fails, readers keep the generation they had.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.documents import Document, Fingerprint, source_file
from rag.durable import fsync_dir, remove_stale_temporaries, write_atomic
from rag.embed import Embedder
from rag.errors import ConflictError, NotFoundError
from rag.index.handle import IndexHandle
from rag.index.store import Index
from rag.index.writer import IndexWriter
from rag.ingest.chunking import Chunker
from rag.ingest.dedupe import copies_of_stored, lookup_keys
from rag.ingest.paths import inside
from rag.ingest.sync import Encoder, IngestReport, sync
from rag.ingest.uploads import StagedFile
from rag.progress import Progress, no_progress
from rag.settings import Settings

log = logging.getLogger(__name__)


class Updater:
    def __init__(self, handle: IndexHandle, embedder: Embedder, chunker: Chunker, settings: Settings) -> None:
        self.handle = handle
        self.settings = settings
        self._embedder = embedder
        self._chunker = chunker

    def writer(self, *, fresh: bool = False) -> IndexWriter:
        return IndexWriter(
            self.handle.root,
            self.handle.spec,
            fresh=fresh,
            base=self.handle.loaded(),
            lock_timeout_s=self.settings.write_lock_timeout_s,
            policy=self.settings.vectors,
        )

    def apply(
        self,
        documents: Sequence[Document],
        *,
        prune: bool,
        prune_under: Sequence[Path] | None = None,
        fresh: bool = False,
        progress: Progress = no_progress,
        encoder: Encoder | None = None,
    ) -> IngestReport:
        """Bring the index in line with `documents` (and, with `prune`, drop the other documents read
        from files under `prune_under`, or all others); chunking and embedding are done by `encoder`
        (default: in this process)."""
        with self.writer(fresh=fresh) as writer:
            report = sync(
                writer.index,
                documents,
                self._embedder,
                self._chunker,
                prune=prune,
                prune_under=prune_under,
                progress=progress,
                encoder=encoder,
            )
            # A fresh index is committed even when empty: an empty corpus is a valid index. One
            # whose vector structure no longer fits the settings or its size is rewritten.
            restructure = not writer.index.vectors.fits(writer.policy)
            self._commit(writer, report, force=fresh or restructure)
        return report

    def add_files(self, staged: Sequence[StagedFile], progress: Progress = no_progress) -> IngestReport:
        """Store uploaded files in the upload directory and index their documents; visible to the
        next question at once (a first upload creates the index).

        A document id already read from another file is a conflict; documents that a
        re-uploaded file no longer holds are removed, as `rag ingest` would."""
        if not Index.exists(self.settings.index_dir):
            self.apply([], prune=False, fresh=True)
        documents = [doc for item in staged for doc in item.documents]
        _refuse_duplicates(documents)
        with self.writer() as writer:
            chunks = writer.index.chunks
            replaced: list[str] = []
            for item in staged:
                for doc in item.documents:
                    existing = chunks.document(doc.doc_id)
                    origin = source_file(existing.path or "") if existing else ""
                    if existing is not None and Path(origin).resolve() != item.path.resolve():
                        raise ConflictError(
                            f"doc_id {doc.doc_id!r} already belongs to {origin}",
                            "choose another doc_id, or change that file and run `rag ingest`",
                        )
                ids = {doc.doc_id for doc in item.documents}
                replaced += [d for d in chunks.documents_in_file(item.path) if d not in ids]
            _refuse_second_copies(documents, chunks.fingerprints_with_keys(lookup_keys(documents)), replaced)
            for directory in {item.path.parent for item in staged}:
                remove_stale_temporaries(directory)
            backups = {item.path: _read_or_none(item.path) for item in staged}
            try:
                for item in staged:
                    item.path.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(item.path, item.data)
                report = sync(
                    writer.index,
                    documents,
                    self._embedder,
                    self._chunker,
                    prune=False,
                    remove=replaced,
                    progress=progress,
                )
                self._commit(writer, report)
            except BaseException:
                _restore(backups)
                raise
        return report

    def delete(self, doc_id: str) -> IngestReport:
        """Remove an uploaded document and its file.

        A document read from the user's own corpus files is not deleted over the API: the file
        is theirs, and `rag ingest` would bring the document back."""
        with self.writer() as writer:
            document = writer.index.chunks.document(doc_id)
            if document is None:
                raise NotFoundError(
                    f"no document with doc_id {doc_id!r}", "GET /documents lists the known ids"
                )
            file = source_file(document.path or "")
            if not file or not inside(Path(file), [self.settings.upload_dir]):
                raise ConflictError(
                    f"{doc_id!r} comes from the corpus file {file}, not from an upload",
                    "remove or move that file and run `rag ingest` (or POST /ingest)",
                )
            others = [d for d in writer.index.chunks.documents_in_file(Path(file)) if d != doc_id]
            if others:
                raise ConflictError(
                    f"{doc_id!r} shares the file {file} with {len(others)} other documents",
                    "upload that file again without it",
                )
            path = Path(file)
            backups = {path: _read_or_none(path)}
            try:
                path.unlink(missing_ok=True)
                fsync_dir(path.parent)
                report = sync(writer.index, [], self._embedder, self._chunker, prune=False, remove=[doc_id])
                self._commit(writer, report)
            except BaseException:
                _restore(backups)
                raise
        return report

    def optimize(self) -> Optimized:
        """A new generation whose segments are merged into one without deleted rows;
        nothing is written when there is one segment and nothing deleted."""
        clock = time.perf_counter()
        current = self.handle.current()
        if _optimal(current.segments.describe()):  # no writer: it would copy the chunk store for nothing
            return Optimized(
                current.generation, current.segments.describe(), current.segments.describe(), 0.0
            )
        with self.writer() as writer:
            before = writer.index.segments.describe()
            if _optimal(before):  # another writer optimized it meanwhile
                return Optimized(writer.base_generation, before, before, 0.0)
            writer.commit(optimize=True)
            self.handle.publish(writer.index)
            after = writer.index.segments.describe()
            return Optimized(writer.index.generation, before, after, time.perf_counter() - clock)

    def _commit(self, writer: IndexWriter, report: IngestReport, *, force: bool = False) -> None:
        if report.changed or force:
            clock = time.perf_counter()
            writer.commit()
            report.timings_s["write"] = time.perf_counter() - clock
            self.handle.publish(writer.index)
            report.generation = writer.index.generation
        else:
            report.generation = writer.base_generation


@dataclass(frozen=True)
class Optimized:
    """What `rag optimize` did: the generation now current and its segments before and after."""

    generation: int | None
    before: dict[str, int]
    after: dict[str, int]
    seconds: float


def _optimal(segments: dict[str, int]) -> bool:
    return segments["segments"] <= 1 and not segments["dead"]


def _refuse_duplicates(documents: Sequence[Document]) -> None:
    seen: set[str] = set()
    for doc in documents:
        if doc.doc_id in seen:
            raise ConflictError(f"doc_id {doc.doc_id!r} appears twice in one request")
        seen.add(doc.doc_id)


def _refuse_second_copies(
    documents: Sequence[Document], stored: Sequence[Fingerprint], replaced: Sequence[str]
) -> None:
    """An uploaded article already stored under another id (same PMID or DOI, or the same text)
    is a conflict: it would be answered from twice, and cited twice."""
    copies = copies_of_stored(documents, stored, replaced=replaced)
    if copies:
        doc, other, why = copies[0]
        raise ConflictError(
            f"{doc.doc_id!r} is the same article as the stored document {other!r} ({why})",
            f"delete {other!r} first to replace it, or leave it as it is",
        )


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _restore(backups: dict[Path, bytes | None]) -> None:
    """Put files back as they were before a write that did not commit."""
    for path, data in backups.items():
        try:
            if data is None:
                path.unlink(missing_ok=True)
                fsync_dir(path.parent)
            else:
                write_atomic(path, data)
        except OSError as exc:
            log.error("could not restore %s after a failed write: %s", path, exc)
