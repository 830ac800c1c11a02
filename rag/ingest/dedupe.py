"""The same article arriving twice is stored once.

Two documents are the same article when they share a PMID or a DOI, or when their texts are
near-identical: an estimated 85% or more of their word 5-grams in common (Jaccard). The
estimate is MinHash; candidates are found by locality-sensitive hashing over bands of the
signature, so a large corpus is never compared pair by pair. Signatures use a stable hash
(CRC-32), so they can be stored in the index and compared across runs.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from rag.documents import Document, Fingerprint
from rag.text import words

SHINGLE_WORDS = 5
PERMUTATIONS = 128
SAME_TEXT = 0.85
SHINGLE_BLOCK = 8192  # shingles hashed at once: 128 x 8192 x 8 bytes = 8 MB
_PRIME = np.uint64(4294967311)  # the first prime above 2**32
_rng = np.random.default_rng(20261130)
_A = _rng.integers(1, 2**32 - 1, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 2**32 - 1, size=PERMUTATIONS, dtype=np.uint64)


def identifiers(doc: Document) -> tuple[str, ...]:
    found: list[str] = []
    pmid = str(doc.extra.get("pmid") or "").strip()
    if pmid.isdigit():
        found.append(f"pmid:{int(pmid)}")
    doi = str(doc.extra.get("doi") or "").strip().lower()
    if doi.startswith("10."):
        found.append(f"doi:{doi}")
    return tuple(found)


def fingerprint(doc: Document) -> Fingerprint:
    return Fingerprint(doc.doc_id, identifiers(doc), minhash(doc.text))


@lru_cache(maxsize=4096)  # one ingest asks for a document's signature when loading and when storing
def minhash(text: str) -> tuple[int, ...]:
    tokens = words(text)
    if len(tokens) < SHINGLE_WORDS:
        return ()
    shingles = {
        zlib.crc32(" ".join(tokens[i : i + SHINGLE_WORDS]).encode("utf-8"))
        for i in range(len(tokens) - SHINGLE_WORDS + 1)
    }
    values = np.fromiter(shingles, dtype=np.uint64, count=len(shingles))
    # Each row a hash function (a*x + b) mod p; its minimum over the shingles is one signature
    # slot. Shingles are hashed a block at a time: all at once, a 10 MB text's 1.6M shingles
    # made a 1.6 GB matrix.
    signature = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(values), SHINGLE_BLOCK):
        block = values[None, start : start + SHINGLE_BLOCK]
        hashed = ((_A[:, None] * block) % _PRIME + _B[:, None]) % _PRIME
        np.minimum(signature, hashed.min(axis=1), out=signature)
    return tuple(int(v) for v in signature)


def similarity(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    if not first or len(first) != len(second):
        return 0.0
    return float(np.mean(np.array(first) == np.array(second)))


class DuplicateFinder:
    """Remembers fingerprints and tells whether a new one is the same article as one of them."""

    def __init__(self, known: Iterable[Fingerprint] = ()) -> None:
        self._by_identifier: dict[str, str] = {}
        self._by_band: dict[tuple[int, tuple[int, ...]], list[Fingerprint]] = {}
        for print_ in known:
            self.add(print_)

    def add(self, print_: Fingerprint) -> None:
        for identifier in print_.identifiers:
            self._by_identifier.setdefault(identifier, print_.doc_id)
        for key in print_.bands():
            self._by_band.setdefault(key, []).append(print_)

    def match(self, print_: Fingerprint) -> tuple[str, str] | None:
        """(doc_id, why) of a known document that is the same article, else None."""
        for identifier in print_.identifiers:
            owner = self._by_identifier.get(identifier)
            if owner is not None and owner != print_.doc_id:
                kind, value = identifier.split(":", 1)
                return owner, f"same {kind.upper()} {value}"
        for key in print_.bands():
            for other in self._by_band.get(key, []):
                if other.doc_id == print_.doc_id:
                    continue
                score = similarity(print_.minhash, other.minhash)
                if score >= SAME_TEXT:
                    return other.doc_id, f"near-identical text ({score:.0%} of word 5-grams shared)"
        return None


def unique_documents(documents: list[Document]) -> tuple[list[Document], list[tuple[Document, str, str]]]:
    """The documents with each article once, and (dropped, kept doc_id, why) for the others.

    Of two copies the one with more text is kept (a PDF's full text over its PubMed abstract);
    on a tie, the first."""
    order = sorted(range(len(documents)), key=lambda i: (-len(documents[i].text), i))
    finder = DuplicateFinder()
    kept: set[int] = set()
    dropped: list[tuple[Document, str, str]] = []
    kept_ids: set[str] = set()
    for i in order:
        print_ = fingerprint(documents[i])
        found = finder.match(print_)
        if found is None and print_.doc_id in kept_ids:
            found = (print_.doc_id, "another record with the same id")
        if found is None:
            kept_ids.add(print_.doc_id)
            finder.add(print_)
            kept.add(i)
        else:
            dropped.append((documents[i], found[0], found[1]))
    return [doc for i, doc in enumerate(documents) if i in kept], dropped


def lookup_keys(documents: Iterable[Document]) -> set[int]:
    """The store's lookup keys of `documents` (`ChunkStore.fingerprints_with_keys` finds the
    stored documents that may be the same articles)."""
    return {key for doc in documents for key in fingerprint(doc).lookup_keys()}


def copies_of_stored(
    documents: Sequence[Document], stored: Iterable[Fingerprint], *, replaced: Iterable[str] = ()
) -> list[tuple[Document, str, str]]:
    """(document, doc_id it repeats, why) for each document that is an article already stored
    under another id (or given earlier in `documents`). A stored document that one of
    `documents` updates, or that is being `replaced`, does not count."""
    ignored = {doc.doc_id for doc in documents} | set(replaced)
    finder = DuplicateFinder(p for p in stored if p.doc_id not in ignored)
    copies = []
    for doc in documents:
        print_ = fingerprint(doc)
        found = finder.match(print_)
        if found is None:
            finder.add(print_)
        else:
            copies.append((doc, *found))
    return copies
