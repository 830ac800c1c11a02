"""The chunk store: documents, chunks, sentences and the corpus vocabulary in SQLite.

Row ids of the `chunks` table are the ids of the vectors in the index's segments, so the two
can be checked against each other. Vectors are also kept here as float32 blobs (never pickled),
which lets a segment's vectors be rebuilt without embedding anything again.

One store file serves every generation: a `ChunkStore` is opened at a generation and sees the
rows that generation sees (rag/index/chunk_tables.py); a writable one is opened at the
generation it is writing, stamps what it adds and deletes with it, and commits once, when the
index writer publishes the generation.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.documents import Chunk, Document, Fingerprint, source_file
from rag.durable import fsync_file
from rag.errors import REBUILD_HINT, IndexCorruptError
from rag.index.chunk_reads import BATCH, ChunkReads
from rag.index.chunk_tables import crc, to_blob
from rag.index.store_file import BUSY_TIMEOUT_MS, connect, make_durable, purge_through, roll_back_after

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)


class ChunkStore(ChunkReads):
    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        dimension: int,
        generation: int,
        counts: tuple[int, int, int] | None = None,
        *,
        fresh: bool = False,
    ) -> None:
        self._db = connection
        self._counts = counts
        self._fresh = fresh
        self._path = path
        self._dimension = dimension
        self.generation = generation
        """The generation whose rows this store sees (and, when writable, stamps its changes with)."""
        self._lock = threading.Lock()  # one connection shared by the server's worker threads
        self.removed_rows: list[int] = []
        """Chunk rows deleted through this connection (a write's tombstones)."""
        self.touched_words: set[str] = set()
        """Vocabulary words whose frequency or vector changed through this connection."""
        self.added_hashes: dict[str, str] = {}
        self.removed_hashes: dict[str, str] = {}
        """Documents added and deleted through this connection: doc id -> content hash."""

    @classmethod
    def open(
        cls,
        path: Path,
        dimension: int,
        *,
        generation: int,
        create: bool = False,
        read_only: bool = False,
        published: int | None = None,
        counts: tuple[int, int, int] | None = None,
    ) -> ChunkStore:
        """Open (or with `create`, make) the store at `generation`, which has `counts` documents,
        chunks and sentences (its manifest says so; counted from the store if not given).

        A writable store first undoes whatever generations after `published` (the one CURRENT
        names) left behind: a writer that committed to SQLite but crashed before publishing."""
        connection = connect(path, create=create, read_only=read_only)
        if not read_only and published is not None:
            try:
                roll_back_after(connection, published)
            except sqlite3.DatabaseError as exc:
                connection.close()
                raise IndexCorruptError(f"{path} cannot be written: {exc}", REBUILD_HINT) from exc
        return cls(connection, path, dimension, generation, (0, 0, 0) if create else counts, fresh=create)

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        self._db.close()

    # --- writing ---------------------------------------------------------------------

    def add_document(
        self,
        doc: Document,
        chunks: list[Chunk],
        chunk_vectors: NDArray[np.float32],
        sentence_vectors: list[list[NDArray[np.float32]]],
        abbreviations: Sequence[tuple[str, str]] = (),
        *,
        fingerprint: Fingerprint | None = None,
    ) -> list[int]:
        """Insert a document with its chunks, sentences, abbreviations and duplicate-finding
        fingerprint; returns the chunks' row ids."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO documents (doc_id, born, title, authors, journal, year, source, extra, text, "
                "content_hash, path, file_name, page_starts, sections, fingerprint, chunk_count, "
                "sentence_count, crc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    doc.doc_id,
                    self.generation,
                    doc.title,
                    doc.authors,
                    doc.journal,
                    doc.year,
                    doc.source,
                    json.dumps(doc.extra, ensure_ascii=False, default=str),
                    doc.text,
                    doc.content_hash,
                    doc.path,
                    Path(source_file(doc.path)).name if doc.path else None,
                    json.dumps(list(doc.page_starts)),
                    json.dumps([list(s) for s in doc.sections], ensure_ascii=False),
                    json.dumps(fingerprint.to_json() if fingerprint else {}),
                    len(chunks),
                    sum(len(chunk.sentences) for chunk in chunks),
                    crc(doc.text),
                ),
            )
            doc_row = int(cursor.lastrowid or 0)
            self._db.executemany(
                "INSERT INTO abbreviations VALUES (?,?,?)",
                [(doc_row, short, long) for short, long in abbreviations],
            )
            if fingerprint is not None:
                self._db.executemany(
                    "INSERT INTO fingerprint_keys VALUES (?,?)",
                    [(key, doc_row) for key in dict.fromkeys(fingerprint.lookup_keys())],
                )
            row_ids = [
                self._insert_chunk(doc_row, *parts)
                for parts in zip(chunks, chunk_vectors, sentence_vectors, strict=True)
            ]
            self.added_hashes[doc.doc_id] = doc.content_hash
            self._count(1, len(chunks), sum(len(chunk.sentences) for chunk in chunks))
            return row_ids

    def _insert_chunk(
        self,
        doc_row: int,
        chunk: Chunk,
        vector: NDArray[np.float32],
        sentence_vectors: list[NDArray[np.float32]],
    ) -> int:
        cursor = self._db.execute(
            "INSERT INTO chunks (doc_row, chunk_id, doc_id, ordinal, start, end, text, embed_text, vector, "
            "sections, page_breaks, crc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc_row,
                chunk.chunk_id,
                chunk.doc_id,
                chunk.ordinal,
                chunk.start,
                chunk.end,
                chunk.text,
                chunk.embed_text,
                to_blob(vector),
                json.dumps([list(b) for b in chunk.sections], ensure_ascii=False),
                json.dumps([list(b) for b in chunk.page_breaks]),
                crc(chunk.text),
            ),
        )
        row_id = int(cursor.lastrowid or 0)
        blobs = [to_blob(v) for v in sentence_vectors]
        self._db.executemany(
            "INSERT INTO sentences (chunk_row, start, end, section, vector, crc) VALUES (?,?,?,?,?,?)",
            [
                (row_id, s.start, s.end, s.section, blob, crc(blob))
                for s, blob in zip(chunk.sentences, blobs, strict=True)
            ],
        )
        return row_id

    def remove_document(self, doc_id: str) -> list[int]:
        """Delete a document with its chunks and sentences; returns the removed chunk row ids.

        Rows earlier generations see are marked dead in this one; rows this write added are
        simply deleted."""
        with self._lock:
            found = self._db.execute(
                "SELECT d.doc_row, d.born, d.content_hash, d.chunk_count, d.sentence_count FROM documents d "
                f"WHERE d.doc_id = ? AND {self._live()}",
                (doc_id,),
            ).fetchall()
            rows: list[int] = []
            for doc_row, born, content_hash, chunk_count, sentence_count in found:
                self._count(-1, -chunk_count, -sentence_count)
                rows += [
                    r for (r,) in self._db.execute("SELECT row_id FROM chunks WHERE doc_row = ?", (doc_row,))
                ]
                if born == self.generation:
                    self._db.execute("DELETE FROM documents WHERE doc_row = ?", (doc_row,))
                    self.added_hashes.pop(doc_id, None)
                else:
                    self._db.execute(
                        "UPDATE documents SET died = ? WHERE doc_row = ?", (self.generation, doc_row)
                    )
                    self.removed_hashes[doc_id] = content_hash
            self.removed_rows.extend(rows)
            return rows

    def update_vocabulary(self, added: Counter[str], removed: Counter[str]) -> None:
        """Adjust document frequencies; words that no chunk uses any more are dropped.

        A word an earlier generation sees gets a new version born in this one (the old
        version dies here), so readers of the earlier generation keep their frequencies."""
        touched = sorted(set(added) | set(removed))
        self.touched_words.update(touched)
        g = self.generation
        with self._lock:
            for start in range(0, len(touched), BATCH):
                part = touched[start : start + BATCH]
                marks = ",".join("?" * len(part))
                older = f"born < {g} AND died IS NULL AND word IN ({marks})"
                self._db.execute(
                    f"INSERT INTO vocabulary (word, df, vector, crc, born) "
                    f"SELECT word, df, vector, crc, {g} FROM vocabulary WHERE {older}",
                    part,
                )
                self._db.execute(f"UPDATE vocabulary SET died = {g} WHERE {older}", part)
            self._db.executemany(
                f"UPDATE vocabulary SET df = df - ? WHERE word = ? AND born = {g}",
                [(count, word) for word, count in removed.items()],
            )
            self._db.executemany(
                f"INSERT INTO vocabulary (word, df, born) VALUES (?, ?, {g}) "
                "ON CONFLICT(word, born) DO UPDATE SET df = df + excluded.df",
                list(added.items()),
            )
            self._db.execute(f"DELETE FROM vocabulary WHERE born = {g} AND df <= 0")

    def set_word_vectors(self, words: list[str], vectors: NDArray[np.float32]) -> None:
        self.touched_words.update(words)
        blobs = [to_blob(v) for v in vectors]
        with self._lock:
            self._db.executemany(
                f"UPDATE vocabulary SET vector = ?, crc = ? WHERE word = ? AND born = {self.generation}",
                [(blob, crc(blob), w) for w, blob in zip(words, blobs, strict=True)],
            )

    def commit(self, *, keep_from: int | None = None) -> None:
        """Commit this write (durably: the store syncs in full). With `keep_from`, rows that
        generation and the later ones no longer see are dropped in the same transaction."""
        with self._lock:
            try:
                if keep_from is not None:
                    purge_through(self._db, keep_from)
                self._db.commit()
                if self._fresh:  # written without a journal: on disk in full before it is published
                    fsync_file(self._path)
                    make_durable(self._db)
                    self._fresh = False
            except sqlite3.DatabaseError as exc:
                raise IndexCorruptError(f"{self._path} cannot be written: {exc}", REBUILD_HINT) from exc

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the store file and empty it, unless a reader is in the
        middle of a query (then it is left for the next write; this never waits)."""
        with self._lock:
            self._db.execute("PRAGMA busy_timeout = 0")
            try:
                ((busy, _, _),) = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if busy:
                log.debug("%s: a reader holds the write-ahead log; the next write checkpoints it", self._path)
