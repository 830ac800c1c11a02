"""The chunk store: documents, chunks, sentences and the corpus vocabulary in SQLite.

Row ids of the `chunks` table are the ids of the vectors in the FAISS index, so the two can
be checked against each other. Vectors are also kept here as float32 blobs (never pickled),
which lets the FAISS index be rebuilt without embedding anything again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.documents import Chunk, Document, DocumentSummary, Fingerprint, Passage, SentenceRecord, source_file
from rag.errors import REBUILD_HINT, IndexCorruptError
from rag.index.chunk_tables import SCHEMA, from_blob, to_blob

BATCH = 10_000  # ids per `IN (...)` query, well under SQLite's limit on bound variables

if TYPE_CHECKING:
    from numpy.typing import NDArray


class ChunkStore:
    def __init__(self, connection: sqlite3.Connection, path: Path, dimension: int) -> None:
        self._db = connection
        self._path = path
        self._dimension = dimension
        self._lock = threading.Lock()  # one connection shared by the server's worker threads
        self.removed_rows: list[int] = []
        """Chunk rows deleted through this connection (a write's tombstones)."""
        self.touched_words: set[str] = set()
        """Vocabulary words whose frequency or vector changed through this connection."""

    @classmethod
    def open(cls, path: Path, dimension: int, *, create: bool = False, read_only: bool = False) -> ChunkStore:
        """Open (or with `create`, make) a chunk store.

        A writable store skips SQLite's journal and syncing: it lives in a generation that no
        reader sees until the index writer has fsynced it, and an interrupted one is deleted.
        A read-only store is a published generation, which never changes (`immutable`)."""
        if not create and not path.is_file():
            raise IndexCorruptError(f"{path} is missing", REBUILD_HINT)
        try:
            if read_only:
                uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
                connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                connection = sqlite3.connect(str(path), check_same_thread=False)
                connection.execute("PRAGMA journal_mode = OFF")
                connection.execute("PRAGMA synchronous = OFF")
            connection.execute("PRAGMA foreign_keys = ON")
            if create:
                connection.executescript(SCHEMA)
            connection.execute("SELECT count(*) FROM chunks").fetchone()
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(f"{path} is not a readable chunk store: {exc}", REBUILD_HINT) from exc
        return cls(connection, path, dimension)

    def copy_to(self, path: Path) -> None:
        """A consistent copy of the whole store (SQLite's online backup)."""
        target = sqlite3.connect(str(path))
        try:
            with self._lock:
                self._db.backup(target)
        finally:
            target.close()

    def close(self) -> None:
        self._db.close()

    # --- writing ---------------------------------------------------------------------

    def document_hashes(self) -> dict[str, str]:
        return dict(self._query("SELECT doc_id, content_hash FROM documents"))

    def documents_under(self, paths: Sequence[Path]) -> set[str]:
        """Ids of the documents read from files under `paths` (files or directories)."""
        roots = [path.resolve() for path in paths]
        rows = self._query("SELECT doc_id, path FROM documents WHERE path IS NOT NULL AND path != ''")
        return {
            doc_id
            for doc_id, path in rows
            if any(Path(source_file(path)).resolve().is_relative_to(root) for root in roots)
        }

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
            self._db.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    doc.doc_id,
                    doc.title,
                    doc.authors,
                    doc.journal,
                    doc.year,
                    doc.source,
                    json.dumps(doc.extra, ensure_ascii=False, default=str),
                    doc.text,
                    doc.content_hash,
                    doc.path,
                    json.dumps(list(doc.page_starts)),
                    json.dumps([list(s) for s in doc.sections], ensure_ascii=False),
                    json.dumps(fingerprint.to_json() if fingerprint else {}),
                ),
            )
            self._db.executemany(
                "INSERT INTO abbreviations VALUES (?,?,?)",
                [(doc.doc_id, short, long) for short, long in abbreviations],
            )
            if fingerprint is not None:
                self._db.executemany(
                    "INSERT INTO fingerprint_keys VALUES (?,?)",
                    [(key, doc.doc_id) for key in dict.fromkeys(fingerprint.lookup_keys())],
                )
            row_ids = []
            for chunk, vector, sentence_vecs in zip(chunks, chunk_vectors, sentence_vectors, strict=True):
                cursor = self._db.execute(
                    "INSERT INTO chunks (chunk_id, doc_id, ordinal, start, end, text, embed_text, vector, "
                    "sections, page_breaks) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
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
                    ),
                )
                row_id = int(cursor.lastrowid or 0)
                row_ids.append(row_id)
                self._db.executemany(
                    "INSERT INTO sentences (chunk_row, start, end, section, vector) VALUES (?,?,?,?,?)",
                    [
                        (row_id, s.start, s.end, s.section, to_blob(v))
                        for s, v in zip(chunk.sentences, sentence_vecs, strict=True)
                    ],
                )
            return row_ids

    def remove_document(self, doc_id: str) -> list[int]:
        """Delete a document with its chunks and sentences; returns the removed chunk row ids."""
        with self._lock:
            rows = [r for (r,) in self._db.execute("SELECT row_id FROM chunks WHERE doc_id = ?", (doc_id,))]
            self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            self.removed_rows.extend(rows)
            return rows

    def update_vocabulary(self, added: Counter[str], removed: Counter[str]) -> None:
        """Adjust document frequencies; words that no chunk uses any more are dropped."""
        self.touched_words.update(added, removed)
        with self._lock:
            for word, count in removed.items():
                self._db.execute("UPDATE vocabulary SET df = df - ? WHERE word = ?", (count, word))
            self._db.executemany(
                "INSERT INTO vocabulary (word, df) VALUES (?, ?) "
                "ON CONFLICT(word) DO UPDATE SET df = df + excluded.df",
                list(added.items()),
            )
            self._db.execute("DELETE FROM vocabulary WHERE df <= 0")

    def words_without_vectors(self) -> list[str]:
        return [w for (w,) in self._query("SELECT word FROM vocabulary WHERE vector IS NULL ORDER BY word")]

    def set_word_vectors(self, words: list[str], vectors: NDArray[np.float32]) -> None:
        self.touched_words.update(words)
        with self._lock:
            self._db.executemany(
                "UPDATE vocabulary SET vector = ? WHERE word = ?",
                [(to_blob(v), w) for w, v in zip(words, vectors, strict=True)],
            )

    def commit(self) -> None:
        with self._lock:
            self._db.commit()

    # --- reading ---------------------------------------------------------------------

    def counts(self) -> tuple[int, int, int]:
        (docs,), (chunks,), (sentences,) = (
            self._query(f"SELECT count(*) FROM {table}") for table in ("documents", "chunks", "sentences")
        )
        return int(docs[0]), int(chunks[0]), int(sentences[0])

    def chunk_texts(self, *, after: int = 0, rows: Sequence[int] | None = None) -> list[tuple[int, str, str]]:
        """(row id, doc id, title + text) of the chunks with row ids above `after` (all of them by
        default), or of those among `rows`; in row id order."""
        sql = "SELECT row_id, doc_id, embed_text FROM chunks WHERE row_id > ?"
        if rows is None:
            found = self._query(f"{sql} ORDER BY row_id", (after,))
        else:
            found = sorted(self._query_in(f"{sql} AND row_id IN", rows, after))
        return [(int(r), d, t) for r, d, t in found]

    def embed_texts(self, doc_id: str) -> list[str]:
        return [
            t
            for (t,) in self._query(
                "SELECT embed_text FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,)
            )
        ]

    def chunk_vectors(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        rows = self._query("SELECT row_id, vector FROM chunks ORDER BY row_id")
        ids = np.array([r for r, _ in rows], dtype=np.int64)
        vectors = (
            np.stack([from_blob(b, self._dimension) for _, b in rows])
            if rows
            else np.zeros((0, self._dimension), dtype=np.float32)
        )
        return ids, vectors

    def missing_documents(self, doc_ids: Iterable[str]) -> list[str]:
        """The ids among `doc_ids` that are not in the store, sorted."""
        wanted = sorted(set(doc_ids))
        marks = ",".join("?" * len(wanted))
        found = {d for (d,) in self._query(f"SELECT doc_id FROM documents WHERE doc_id IN ({marks})", wanted)}
        return [d for d in wanted if d not in found]

    def documents_in_file(self, file: Path) -> list[str]:
        """Ids of the documents read from `file`, however its path was written when they were
        ingested (relative or absolute); a JSONL file's documents have origins `file:line`."""
        target = file.resolve()
        rows = self._query(
            "SELECT doc_id, path FROM documents WHERE instr(path, ?) > 0 ORDER BY doc_id", (file.name,)
        )
        return [d for d, path in rows if Path(source_file(path)).resolve() == target]

    def chunk_rows(self, doc_id: str) -> list[tuple[int, int]]:
        """(row id, ordinal) of a document's chunks, in document order."""
        return [
            (int(r), int(o))
            for r, o in self._query(
                "SELECT row_id, ordinal FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,)
            )
        ]

    def row_ids_for_documents(self, doc_ids: Iterable[str]) -> list[int]:
        wanted = list(doc_ids)
        marks = ",".join("?" * len(wanted))
        return [
            int(r) for (r,) in self._query(f"SELECT row_id FROM chunks WHERE doc_id IN ({marks})", wanted)
        ]

    def passages(self, row_ids: Iterable[int]) -> dict[int, Passage]:
        """The chunks as passages (score 0, rank 0: retrieval fills those in)."""
        wanted = list(row_ids)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._query(
            "SELECT c.row_id, c.chunk_id, c.doc_id, c.text, d.title, d.authors, d.journal, d.year, d.source, "
            "c.sections, c.page_breaks FROM chunks c JOIN documents d USING (doc_id) "
            f"WHERE c.row_id IN ({marks})",
            wanted,
        )
        return {
            int(row): Passage(
                row,
                chunk_id,
                doc_id,
                text,
                title,
                authors,
                journal,
                year,
                source,
                score=0.0,
                rank=0,
                sections=tuple((int(o), n) for o, n in json.loads(sections)),
                page_breaks=tuple((int(o), int(n)) for o, n in json.loads(breaks)),
            )
            for row, chunk_id, doc_id, text, title, authors, journal, year, source, sections, breaks in rows
        }

    def sentences(self, row_ids: Iterable[int]) -> list[SentenceRecord]:
        wanted = list(row_ids)
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = self._query(
            f"SELECT chunk_row, start, end, section, vector FROM sentences WHERE chunk_row IN ({marks}) "
            "ORDER BY chunk_row, start",
            wanted,
        )
        return [
            SentenceRecord(int(c), int(s), int(e), sec, from_blob(v, self._dimension))
            for c, s, e, sec, v in rows
        ]

    def vocabulary(self) -> tuple[list[str], NDArray[np.int64], NDArray[np.float32]]:
        rows = self._query("SELECT word, df, vector FROM vocabulary WHERE vector IS NOT NULL ORDER BY word")
        words = [w for w, _, _ in rows]
        dfs = np.array([d for _, d, _ in rows], dtype=np.int64)
        vectors = (
            np.stack([from_blob(v, self._dimension) for _, _, v in rows])
            if rows
            else np.zeros((0, self._dimension), dtype=np.float32)
        )
        return words, dfs, vectors

    def vocabulary_of(self, words: Iterable[str]) -> list[tuple[str, int, NDArray[np.float32] | None]]:
        """(word, document frequency, vector or None) of each of `words`; 0 for a word not stored."""
        wanted = sorted(set(words))
        found: dict[str, tuple[int, NDArray[np.float32] | None]] = {
            word: (int(df), None if blob is None else from_blob(blob, self._dimension))
            for word, df, blob in self._query_in(
                "SELECT word, df, vector FROM vocabulary WHERE word IN", wanted
            )
        }
        return [(word, *found.get(word, (0, None))) for word in wanted]

    def abbreviations(self) -> dict[str, list[tuple[str, str]]]:
        by_document: dict[str, list[tuple[str, str]]] = {}
        for doc_id, short, long in self._query(
            "SELECT doc_id, short, long FROM abbreviations ORDER BY rowid"
        ):
            by_document.setdefault(doc_id, []).append((short, long))
        return by_document

    def list_documents(self) -> list[DocumentSummary]:
        rows = self._query(
            "SELECT d.doc_id, d.title, d.authors, d.journal, d.year, d.source, count(c.row_id) "
            "FROM documents d LEFT JOIN chunks c USING (doc_id) GROUP BY d.doc_id ORDER BY d.doc_id"
        )
        return [DocumentSummary(*r) for r in rows]

    def fingerprints_with_keys(self, keys: Iterable[int]) -> list[Fingerprint]:
        """The stored documents sharing a lookup key (`Fingerprint.lookup_keys`) with `keys`: the
        only ones that can be the same article, found without reading every fingerprint."""
        doc_ids = {d for (d,) in self._query_in("SELECT doc_id FROM fingerprint_keys WHERE key IN", keys)}
        rows = self._query_in("SELECT doc_id, fingerprint FROM documents WHERE doc_id IN", doc_ids)
        return [Fingerprint.from_json(d, json.loads(f)) for d, f in sorted(rows)]

    def document(self, doc_id: str) -> Document | None:
        rows = self._query(
            "SELECT doc_id, title, text, authors, journal, year, source, extra, path, page_starts, sections "
            "FROM documents WHERE doc_id = ?",
            (doc_id,),
        )
        if not rows:
            return None
        d_id, title, text, authors, journal, year, source, extra, path, pages, sections = rows[0]
        return Document(
            d_id,
            title,
            text,
            authors,
            journal,
            year,
            source,
            json.loads(extra),
            path,
            page_starts=tuple(json.loads(pages)),
            sections=tuple((int(o), str(n)) for o, n in json.loads(sections)),
        )

    def _query_in(self, sql: str, values: Iterable[Any], *before: Any) -> list[tuple[Any, ...]]:
        """`sql` ending in `IN` run over the distinct `values`, BATCH at a time (parameters
        `before` bound first); the rows of all batches, in no particular order."""
        wanted = sorted(set(values))
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), BATCH):
            part = wanted[start : start + BATCH]
            rows += self._query(f"{sql} ({','.join('?' * len(part))})", (*before, *part))
        return rows

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._db.execute(sql, tuple(params)).fetchall())
            except sqlite3.DatabaseError as exc:
                raise IndexCorruptError(f"{self._path} cannot be read: {exc}", REBUILD_HINT) from exc
