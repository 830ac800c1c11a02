"""Which documents each first author wrote: a question may name a study by its first author
("the Hatooka study", "Bruix et al."), as readers of the literature do.

The map is read from the documents' metadata (never their text) once per index generation,
when a question first needs it, and kept with that generation (a generation never changes).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.cite.names import PARTICLES, split_authors

if TYPE_CHECKING:
    from rag.index.store import Index

# A family name's words shorter than this ("Li" is two letters) are not looked up: one letter
# is an initial, not a name.
MIN_NAME_LENGTH = 2


@dataclass(frozen=True)
class Study:
    doc_id: str
    year: int | None


@dataclass(frozen=True)
class Authors:
    first: dict[str, tuple[Study, ...]]
    """Each word of a first author's family name (casefolded) -> the documents with that first author."""
    families: frozenset[str]
    """Every word of every author's family name (casefolded)."""


def collection_authors(authors_by_doc: Mapping[str, tuple[str | None, int | None]]) -> Authors:
    """The authors of a collection, `authors_by_doc`: doc_id -> (its authors as stored, its year)."""
    first: defaultdict[str, list[Study]] = defaultdict(list)
    families: set[str] = set()
    for doc_id, (authors, year) in sorted(authors_by_doc.items()):
        names = split_authors(authors)[0] if authors else ()
        for position, name in enumerate(names):
            # A group ("The RESORCE Investigators") is named by its words anyway, which its text uses.
            if name.literal is not None:
                continue
            family = (name.family or "").casefold()
            # Each word of it, and a hyphenated one whole too ("Costa-Matos": costa, matos, costa-matos).
            whole = re.findall(r"\w+(?:-\w+)+", family)
            words = [
                w
                for w in dict.fromkeys([*re.findall(r"\w+", family), *whole])
                if len(w) >= MIN_NAME_LENGTH and not w.isdigit() and w not in PARTICLES
            ]
            families.update(words)
            for word in words if position == 0 else ():
                first[word].append(Study(doc_id, year))
    return Authors({word: tuple(studies) for word, studies in first.items()}, frozenset(families))


class FirstAuthors:
    """`collection_authors` of each index generation, computed once and kept with it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_index: weakref.WeakKeyDictionary[Index, Authors] = weakref.WeakKeyDictionary()

    def of(self, index: Index) -> Authors:
        with self._lock:
            known = self._by_index.get(index)
        if known is not None:
            return known
        facts = index.chunks.document_facts()  # outside the lock: a large index takes a while
        authors = collection_authors({d.doc_id: (d.authors, d.year) for d in facts})
        with self._lock:
            return self._by_index.setdefault(index, authors)
