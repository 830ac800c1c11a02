"""Reading the chunk store at one generation: every query sees only the rows that generation
sees, and every text or vector read is checked against its stored CRC, so a damaged row is
reported (by the store's name) when it is read instead of being quoted."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.documents import (
    Document,
    DocumentFacts,
    DocumentSummary,
    Fingerprint,
    Passage,
    SentenceRecord,
    source_file,
)
from rag.errors import REBUILD_HINT, IndexChangedError, IndexCorruptError
from rag.index.chunk_tables import crc, from_blob, live

BATCH = 10_000  # ids per `IN (...)` query, well under SQLite's limit on bound variables

if TYPE_CHECKING:
    from numpy.typing import NDArray


class ChunkReads:
    _db: sqlite3.Connection
    _path: Path
    _dimension: int
    _lock: threading.Lock
    _counts: tuple[int, int, int] | None
    generation: int

    def _live(self, alias: str = "d") -> str:
        return live(alias, self.generation)

    def counts(self) -> tuple[int, int, int]:
        """Documents, chunks and sentences this generation sees: the counts it was opened with
        (its manifest's) plus what was written through this connection, without reading the
        store (`counted` reads it)."""
        if self._counts is None:
            self._counts = self.counted()
        return self._counts

    def counted(self) -> tuple[int, int, int]:
        """`counts`, summed over the store's document rows."""
        ((docs, chunks, sentences),) = self._query(
            "SELECT count(*), total(chunk_count), total(sentence_count) "
            f"FROM documents d WHERE {self._live()}"
        )
        return int(docs), int(chunks), int(sentences)

    def _count(self, docs: int, chunks: int, sentences: int) -> None:
        d, c, s = self.counts()
        self._counts = (d + docs, c + chunks, s + sentences)

    def document_hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Doc id -> content hash of every document, or of those among `doc_ids`."""
        sql = f"SELECT doc_id, content_hash FROM documents d WHERE {self._live()}"
        return dict(self._query(sql) if doc_ids is None else self._query_in(f"{sql} AND doc_id IN", doc_ids))

    def documents_under(self, paths: Sequence[Path]) -> set[str]:
        """Ids of the documents read from files under `paths` (files or directories)."""
        roots = [path.resolve() for path in paths]
        rows = self._query(
            f"SELECT doc_id, path FROM documents d WHERE path IS NOT NULL AND path != '' AND {self._live()}"
        )
        return {
            doc_id
            for doc_id, path in rows
            if any(Path(source_file(path)).resolve().is_relative_to(root) for root in roots)
        }

    def words_without_vectors(self) -> list[str]:
        return [
            w
            for (w,) in self._query(
                # Only this generation adds words, and it embeds them before it is published.
                f"SELECT word FROM vocabulary WHERE born = {int(self.generation)} AND vector IS NULL "
                "ORDER BY word"
            )
        ]

    def chunk_texts(self, *, after: int = 0, rows: Sequence[int] | None = None) -> list[tuple[int, str, str]]:
        """(row id, doc id, title + text) of the chunks with row ids above `after` (all of them by
        default), or of those among `rows`; in row id order."""
        sql = (
            "SELECT c.row_id, c.doc_id, c.embed_text FROM chunks c JOIN documents d USING (doc_row) "
            f"WHERE {self._live()} AND c.row_id > ?"
        )
        if rows is None:
            found = self._query(f"{sql} ORDER BY c.row_id", (after,))
        else:
            found = sorted(self._query_in(f"{sql} AND c.row_id IN", rows, after))
        return [(int(r), d, t) for r, d, t in found]

    def embed_texts(self, doc_id: str) -> list[str]:
        return [
            t
            for (t,) in self._query(
                "SELECT c.embed_text FROM chunks c JOIN documents d USING (doc_row) "
                f"WHERE d.doc_id = ? AND {self._live()} ORDER BY c.ordinal",
                (doc_id,),
            )
        ]

    def chunk_vectors(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        rows = self._query(
            "SELECT c.row_id, c.vector FROM chunks c JOIN documents d USING (doc_row) "
            f"WHERE {self._live()} ORDER BY c.row_id"
        )
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
        found = {
            d
            for (d,) in self._query_in(
                f"SELECT doc_id FROM documents d WHERE {self._live()} AND doc_id IN", wanted
            )
        }
        return [d for d in wanted if d not in found]

    def documents_in_file(self, file: Path) -> list[str]:
        """Ids of the documents read from `file`, however its path was written when they were
        ingested (relative or absolute); a JSONL file's documents have origins `file:line`."""
        target = file.resolve()
        rows = self._query(
            f"SELECT doc_id, path FROM documents d WHERE file_name = ? AND {self._live()} ORDER BY doc_id",
            (file.name,),
        )
        return [d for d, path in rows if Path(source_file(path)).resolve() == target]

    def chunk_rows(self, doc_id: str) -> list[tuple[int, int]]:
        """(row id, ordinal) of a document's chunks, in document order."""
        return [
            (int(r), int(o))
            for r, o in self._query(
                "SELECT c.row_id, c.ordinal FROM chunks c JOIN documents d USING (doc_row) "
                f"WHERE d.doc_id = ? AND {self._live()} ORDER BY c.ordinal",
                (doc_id,),
            )
        ]

    def row_ids_for_documents(self, doc_ids: Iterable[str]) -> list[int]:
        return [
            int(r)
            for (r,) in self._query_in(
                "SELECT c.row_id FROM chunks c JOIN documents d USING (doc_row) "
                f"WHERE {self._live()} AND d.doc_id IN",
                doc_ids,
            )
        ]

    def document_facts(
        self,
        *,
        year_from: int | None = None,
        year_to: int | None = None,
        doc_ids: Iterable[str] | None = None,
        with_path: bool = False,
    ) -> list[DocumentFacts]:
        """The metadata of the documents this generation sees, without their texts: all of them,
        or those published from `year_from` to `year_to` (both included; a document without a
        year is then left out) and among `doc_ids`. `with_path` reads the source path too,
        which is stored after the text: SQLite steps over a long text's overflow pages to reach it."""
        columns = "d.doc_row, d.doc_id, d.year, d.journal, d.authors" + (", d.path" if with_path else "")
        where = [self._live()]
        params: list[int] = []
        for bound, test in ((year_from, "d.year >= ?"), (year_to, "d.year <= ?")):
            if bound is not None:
                where.append(test)
                params.append(bound)
        sql = f"SELECT {columns} FROM documents d WHERE {' AND '.join(where)}"
        rows = (
            self._query(sql, params)
            if doc_ids is None
            else self._query_in(f"{sql} AND d.doc_id IN", doc_ids, *params)
        )
        return [DocumentFacts(int(r[0]), *r[1:]) for r in rows]

    def documents_naming_author(self, word: str) -> list[tuple[str, int | None, str]]:
        """(doc_id, year, authors) of the documents whose authors hold `word` anywhere (case
        ignored for ASCII letters, as SQLite's LIKE does): the few a name may be an author of."""
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = (
            "SELECT d.doc_id, d.year, d.authors FROM documents d "
            f"WHERE {self._live()} AND d.authors LIKE ? ESCAPE '\\'"
        )
        return [(str(r[0]), r[1], str(r[2])) for r in self._query(sql, (pattern,))]

    def chunk_rows_of(self, doc_rows: Iterable[int]) -> list[int]:
        """Row ids of the chunks of the document rows `doc_rows` (from `document_facts`)."""
        return [int(r) for (r,) in self._query_in("SELECT row_id FROM chunks WHERE doc_row IN", doc_rows)]

    def chunk_sections_of(self, doc_rows: Iterable[int]) -> list[tuple[int, list[str | None]]]:
        """(row id, the names of the sections it touches) of the chunks of `doc_rows`."""
        rows = self._query_in("SELECT row_id, sections FROM chunks WHERE doc_row IN", doc_rows)
        return [(int(r), [name for _, name in json.loads(sections)]) for r, sections in rows]

    def passages(self, row_ids: Iterable[int]) -> dict[int, Passage]:
        """The chunks as passages (score 0, rank 0: retrieval fills those in)."""
        wanted = set(row_ids)
        rows = self._query_in(
            "SELECT c.row_id, c.chunk_id, c.doc_id, c.text, d.title, d.authors, d.journal, d.year, d.source, "
            "c.sections, c.page_breaks, c.crc FROM chunks c JOIN documents d USING (doc_row) "
            f"WHERE {self._live()} AND c.row_id IN",
            wanted,
        )
        passages = {}
        for (
            row,
            chunk_id,
            doc_id,
            text,
            title,
            authors,
            journal,
            year,
            source,
            sections,
            breaks,
            check,
        ) in rows:
            self._check(crc(text), check, f"chunk {chunk_id}")
            passages[int(row)] = Passage(
                *(row, chunk_id, doc_id, text, title, authors, journal, year, source),
                score=0.0,
                rank=0,
                sections=tuple((int(o), n) for o, n in json.loads(sections)),
                page_breaks=tuple((int(o), int(n)) for o, n in json.loads(breaks)),
            )
        if len(passages) < len(wanted):
            # Rows this generation found (in its vectors or postings) are gone from the store:
            # two later writes purged them while this request ran.
            raise IndexChangedError(
                f"{len(wanted) - len(passages)} chunks of generation {self.generation} were removed "
                "by later writes while this request ran",
                "retry the request",
            )
        return passages

    def sentences(self, row_ids: Iterable[int]) -> list[SentenceRecord]:
        rows = sorted(
            self._query_in(
                "SELECT chunk_row, start, end, section, vector, crc FROM sentences WHERE chunk_row IN",
                row_ids,
            ),
            key=lambda r: (r[0], r[1]),
        )
        records = []
        for c, s, e, sec, v, check in rows:
            self._check(crc(v), check, f"a sentence vector of chunk row {c}")
            records.append(SentenceRecord(int(c), int(s), int(e), sec, from_blob(v, self._dimension)))
        return records

    def vocabulary(self) -> tuple[list[str], NDArray[np.int64], NDArray[np.float32]]:
        """Every word with a vector this generation sees, in order, its document frequency and
        its vector (`vocabulary_words`, then `vocabulary_vectors`)."""
        words, dfs = self.vocabulary_words()
        return words, dfs, self.vocabulary_vectors(words)

    def vocabulary_words(self) -> tuple[list[str], NDArray[np.int64]]:
        """The words with a vector this generation sees, sorted, and their document frequencies
        (the vectors are not read: `vocabulary_vectors`)."""
        rows = self._query(
            f"SELECT word, df FROM vocabulary v WHERE vector IS NOT NULL AND {self._live('v')} ORDER BY word"
        )
        return [w for w, _ in rows], np.array([d for _, d in rows], dtype=np.int64)

    def vocabulary_vectors(self, words: Sequence[str]) -> NDArray[np.float32]:
        """The vectors of `words` (what `vocabulary_words` returned for this generation), each
        checked against its CRC; raises IndexChangedError when the store no longer holds exactly
        those words for this generation."""
        rows = self._query(
            f"SELECT word, vector, crc FROM vocabulary v WHERE vector IS NOT NULL AND {self._live('v')} "
            "ORDER BY word"
        )
        if len(rows) != len(words) or any(w != found for w, (found, _, _) in zip(words, rows, strict=True)):
            raise IndexChangedError(
                f"{self._path} no longer holds the vocabulary of generation {self.generation} "
                "(purged by later writes while this generation was in use); open the index again",
                "retry the request",
            )
        for word, blob, check in rows:
            self._check(crc(blob), check, f"the vector of the word {word!r}")
        if not rows:
            return np.zeros((0, self._dimension), dtype=np.float32)
        joined = np.frombuffer(b"".join(v for _, v, _ in rows), dtype="<f4")  # read-only, no copy
        if joined.size != len(rows) * self._dimension:
            raise IndexCorruptError(f"{self._path}: a stored word vector has the wrong length", REBUILD_HINT)
        return joined.reshape(len(rows), self._dimension)

    def vocabulary_of(self, words: Iterable[str]) -> list[tuple[str, int, NDArray[np.float32] | None]]:
        """(word, document frequency, vector or None) of each of `words`; 0 for a word not stored."""
        wanted = sorted(set(words))
        found: dict[str, tuple[int, NDArray[np.float32] | None]] = {}
        for word, df, blob, check in self._query_in(
            f"SELECT word, df, vector, crc FROM vocabulary v WHERE {self._live('v')} AND word IN", wanted
        ):
            if blob is not None:
                self._check(crc(blob), check, f"the vector of the word {word!r}")
            found[word] = (int(df), None if blob is None else from_blob(blob, self._dimension))
        return [(word, *found.get(word, (0, None))) for word in wanted]

    def abbreviations(self) -> dict[str, list[tuple[str, str]]]:
        by_document: dict[str, list[tuple[str, str]]] = {}
        for doc_id, short, long in self._query(
            "SELECT d.doc_id, a.short, a.long FROM abbreviations a JOIN documents d USING (doc_row) "
            f"WHERE {self._live()} ORDER BY a.rowid"
        ):
            by_document.setdefault(doc_id, []).append((short, long))
        return by_document

    def list_documents(self) -> list[DocumentSummary]:
        rows = self._query(
            "SELECT doc_id, title, authors, journal, year, source, chunk_count "
            f"FROM documents d WHERE {self._live()} ORDER BY doc_id"
        )
        return [DocumentSummary(*r) for r in rows]

    def fingerprints_with_keys(self, keys: Iterable[int]) -> list[Fingerprint]:
        """The stored documents sharing a lookup key (`Fingerprint.lookup_keys`) with `keys`: the
        only ones that can be the same article, found without reading every fingerprint."""
        rows = self._query_in(
            "SELECT DISTINCT d.doc_id, d.fingerprint "
            "FROM fingerprint_keys k JOIN documents d USING (doc_row) "
            f"WHERE {self._live()} AND k.key IN",
            keys,
        )
        return [Fingerprint.from_json(d, json.loads(f)) for d, f in sorted(set(rows))]

    def document(self, doc_id: str) -> Document | None:
        rows = self._query(
            "SELECT doc_id, title, text, authors, journal, year, source, extra, path, page_starts, "
            "sections, crc "
            f"FROM documents d WHERE doc_id = ? AND {self._live()}",
            (doc_id,),
        )
        if not rows:
            return None
        d_id, title, text, authors, journal, year, source, extra, path, pages, sections, check = rows[0]
        self._check(crc(text), check, f"the text of document {d_id}")
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

    def _check(self, computed: int, stored: int, what: str) -> None:
        if computed != stored:
            raise IndexCorruptError(
                f"{self._path} is damaged: {what} does not match its checksum", REBUILD_HINT
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
