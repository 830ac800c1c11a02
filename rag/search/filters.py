"""Metadata filters: which documents, and which of their sections, a search or an answer may use.

The rules (docs/api.md, "Filters"), every field optional, a list matching any of its values,
the fields together all:
- `year_from`, `year_to`: the document's year is in the range, both ends included; a document
  without a year matches no range.
- `journals`: the journal is one of them, ignoring case, periods and spacing ("J. Surg. Oncol."
  is "j surg oncol").
- `authors`: each names one author of the document: every word of it is a word of that one
  author's name and one word is the family name ("Bruix", "Bruix J", "J Bruix", "Jordi Bruix"
  all name "Bruix J"; "Brui" names no one). A given name stands for its initial.
- `sections`: a chunk matches when it touches a section of that name (ignoring case, a leading
  number and a final colon: "3. Results" is "results"); an answer then quotes only sentences
  of those sections.
- `file_types`: the type of the file the document was read from (`rag.documents.FILE_TYPES`).
- `doc_ids`: one of these documents (None: any; empty: none, as two lists with nothing in
  common give).

Filters apply inside retrieval: `allowed_rows` turns them into the chunk rows the vector and
BM25 searches may rank, read from the chunk store at the index's generation and kept in a
small cache per generation (`AllowedRowsCache`), since the same filter is asked again and again.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from rag.cite.names import split_authors
from rag.documents import FILE_TYPE_OF_SUFFIX, DocumentFacts
from rag.errors import NotFoundError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from rag.index.chunk_reads import ChunkReads
    from rag.index.store import Index

_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[ivx]+\.)\s+")


def journal_key(journal: str) -> str:
    """A journal's name as filters compare it: case, periods and spacing ignored."""
    return " ".join(journal.replace(".", " ").casefold().split())


def section_key(section: str) -> str:
    """A section's name as filters compare it: case, a leading number and a final colon ignored."""
    folded = " ".join(section.casefold().split()).rstrip(":").strip()
    return _NUMBERED.sub("", folded)


def file_type_key(file_type: str) -> str:
    """A file type as filters compare it: "PDF", ".pdf" and "pdf" alike, one spelling per type."""
    suffix = file_type.strip().lower().lstrip(".")
    return FILE_TYPE_OF_SUFFIX.get(suffix, suffix)


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", text.casefold()))


@dataclass(frozen=True)
class _NameWords:
    family: frozenset[str]
    given: frozenset[str]
    initials: frozenset[str]
    """The given names' first letters, and all of them run together ("ea" of "E. A.")."""

    def named_by(self, words: Sequence[str]) -> bool:
        if not words or not any(w in self.family for w in words):
            return False
        return all(
            w in self.family
            or w in self.given
            or w in self.initials
            or (w.isalpha() and w[0] in self.initials)
            for w in words
        )


@lru_cache(maxsize=8192)
def author_names(authors: str) -> tuple[_NameWords, ...]:
    """The words of each author of `authors` (as a document stores them), for matching."""
    found = []
    for name in split_authors(authors)[0]:
        if name.literal is not None:
            found.append(_NameWords(frozenset(_words(name.literal)), frozenset(), frozenset()))
            continue
        given = _words(name.given or "")
        letters = [w[0] for w in given]
        joined = "".join(letters) if given and all(len(w) == 1 for w in given) else ""
        found.append(
            _NameWords(
                frozenset(_words(name.family or "")),
                frozenset(given),
                frozenset(letters) | ({joined} if joined else set()),
            )
        )
    return tuple(found)


def names_author(value: str, authors: str | None) -> bool:
    """Whether the filter value `value` ("Bruix", "Bruix J", "Jordi Bruix") names one of `authors`."""
    words = _words(value)
    return bool(authors) and any(name.named_by(words) for name in author_names(authors or ""))


@dataclass(frozen=True)
class Filters:
    """Which documents (and sections) to search and answer from; see the module's rules.
    Values are kept normalized (sorted, deduplicated, compared forms), so equal filters are
    equal objects and share a cache entry."""

    year_from: int | None = None
    year_to: int | None = None
    journals: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        normalized = {
            "journals": {journal_key(j) for j in self.journals} - {""},
            "authors": {" ".join(_words(a)) for a in self.authors} - {""},
            "sections": {section_key(s) for s in self.sections} - {""},
            "file_types": {file_type_key(t) for t in self.file_types} - {""},
        }
        for name, values in normalized.items():
            object.__setattr__(self, name, tuple(sorted(values)))
        if self.doc_ids is not None:
            object.__setattr__(self, "doc_ids", tuple(sorted(set(self.doc_ids))))

    @property
    def restricts(self) -> bool:
        """False when it lets everything through (no field set)."""
        return self != Filters()

    def scoped_to(self, doc_ids: Sequence[str] | None) -> Filters:
        """These filters limited to `doc_ids` too (None or empty: no further limit): with ids of
        its own, the ids in both."""
        if not doc_ids:
            return self
        ids = set(doc_ids) if self.doc_ids is None else set(doc_ids) & set(self.doc_ids)
        return dataclasses.replace(self, doc_ids=tuple(ids))

    def matches(self, document: DocumentFacts) -> bool:
        """Whether the document passes every field but `sections` (a document has many)."""
        year = document.year
        if (self.year_from is not None or self.year_to is not None) and year is None:
            return False
        if year is not None and not (
            (self.year_from is None or year >= self.year_from)
            and (self.year_to is None or year <= self.year_to)
        ):
            return False
        if self.doc_ids is not None and document.doc_id not in self.doc_ids:
            return False
        if self.journals and (document.journal is None or journal_key(document.journal) not in self.journals):
            return False
        if self.authors and not any(names_author(a, document.authors) for a in self.authors):
            return False
        return not self.file_types or document.file_type in self.file_types

    def allows_section(self, section: str | None) -> bool:
        """Whether a sentence of this section may be quoted (always, without `sections`)."""
        return not self.sections or (section is not None and section_key(section) in self.sections)

    def describe(self) -> str:
        """The filters in words, for an answer that found nothing to answer from."""
        parts = []
        if self.year_from is not None or self.year_to is not None:
            low = self.year_from if self.year_from is not None else "…"
            high = self.year_to if self.year_to is not None else "…"
            parts.append(f"year {low}–{high}" if low != high else f"year {low}")
        for name in ("journals", "authors", "sections", "file_types", "doc_ids"):
            values = getattr(self, name)
            if values is not None and (values or name == "doc_ids"):
                parts.append(f"{name.replace('_', ' ')}: {', '.join(values) or 'none'}")
        return "; ".join(parts)


def check_documents(chunks: ChunkReads, doc_ids: Iterable[str]) -> None:
    """Raise NotFoundError naming the doc_ids the index does not hold."""
    missing = chunks.missing_documents(doc_ids)
    if missing:
        raise NotFoundError(f"unknown doc_ids: {', '.join(missing)}", "GET /documents lists the known ids")


def allowed_rows(chunks: ChunkReads, filters: Filters) -> NDArray[np.int64]:
    """The sorted row ids of the chunks `filters` lets through, at the store's generation.
    Raises NotFoundError for doc_ids the index does not hold."""
    if filters.doc_ids:
        check_documents(chunks, filters.doc_ids)
    if filters.doc_ids is not None and not filters.doc_ids:
        return np.zeros(0, dtype=np.int64)
    facts = chunks.document_facts(
        year_from=filters.year_from,
        year_to=filters.year_to,
        doc_ids=filters.doc_ids,
        with_path=bool(filters.file_types),
    )
    doc_rows = [d.doc_row for d in facts if filters.matches(d)]
    if filters.sections:
        rows = [
            row
            for row, names in chunks.chunk_sections_of(doc_rows)
            if any(filters.allows_section(name) for name in names)
        ]
    else:
        rows = chunks.chunk_rows_of(doc_rows)
    return np.unique(np.asarray(rows, dtype=np.int64))


class AllowedRowsCache:
    """`allowed_rows` per index generation and filter, the most recently used kept (at most
    `entries` per generation and `max_ids` row ids in all). A generation's rows never change,
    so an entry is never stale; it goes with its `Index`."""

    def __init__(self, entries: int = 32, max_ids: int = 4_000_000) -> None:
        self._entries = entries
        self._max_ids = max_ids
        self._lock = threading.Lock()
        self._by_index: weakref.WeakKeyDictionary[Index, OrderedDict[Filters, NDArray[np.int64]]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, index: Index, filters: Filters) -> NDArray[np.int64]:
        with self._lock:
            cached = self._by_index.get(index)
            if cached is not None and filters in cached:
                cached.move_to_end(filters)
                return cached[filters]
        rows = allowed_rows(index.chunks, filters)  # outside the lock: a slow one blocks no other
        rows.setflags(write=False)
        with self._lock:
            cached = self._by_index.setdefault(index, OrderedDict())
            cached[filters] = rows
            while len(cached) > self._entries or (
                len(cached) > 1 and sum(len(r) for r in cached.values()) > self._max_ids
            ):
                cached.popitem(last=False)
        return rows


@dataclass(frozen=True)
class Facets:
    """How many documents have each year, journal and file type (None: not known)."""

    years: tuple[tuple[int | None, int], ...]
    journals: tuple[tuple[str | None, int], ...]
    file_types: tuple[tuple[str | None, int], ...]


def facet_counts(documents: Iterable[DocumentFacts]) -> Facets:
    """The facets of `documents`: years newest first, journals and file types most documents
    first. Journals that differ only as filters ignore are one, under their commonest spelling."""
    years: Counter[int | None] = Counter()
    types: Counter[str | None] = Counter()
    spellings: dict[str | None, Counter[str]] = {}
    journals: Counter[str | None] = Counter()
    for document in documents:
        years[document.year] += 1
        types[document.file_type] += 1
        key = journal_key(document.journal) if document.journal else None
        journals[key] += 1
        if document.journal:
            spellings.setdefault(key, Counter())[document.journal.strip()] += 1

    def spelled(key: str | None) -> str | None:
        return None if key is None else spellings[key].most_common(1)[0][0]

    return Facets(
        years=tuple(sorted(years.items(), key=lambda item: (item[0] is None, -(item[0] or 0)))),
        journals=tuple(
            sorted(
                ((spelled(k), n) for k, n in journals.items()),
                key=lambda item: (item[0] is None, -item[1], item[0]),
            )
        ),
        file_types=tuple(sorted(types.items(), key=lambda item: (item[0] is None, -item[1], item[0] or ""))),
    )
