"""Which documents an author wrote: a question may name a study by its first author ("the
Hatooka study", "Bruix et al."), as readers of the literature do.

A name is looked up when a question holds it, in the documents' metadata (never their text):
the store finds the few documents whose authors hold the word (SQL `LIKE`, no scan in Python),
and their author lists are split into names (rag/cite/names.py) to see whether it is the first
author's family name. The answer is kept for the index generation (a generation never changes),
so a name asked again costs a dictionary lookup.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.cite.names import PARTICLES, split_authors

if TYPE_CHECKING:
    from rag.index.store import Index

# A family name's word of one letter is an initial, not a name ("Li" has two letters).
MIN_NAME_LENGTH = 2
# Names kept per index generation, the most recently asked.
KEPT_NAMES = 4096


@dataclass(frozen=True)
class Study:
    doc_id: str
    year: int | None


@dataclass(frozen=True)
class AuthorName:
    """What the collection knows of one name."""

    first: tuple[Study, ...]
    """The documents whose first author has it as (a word of) the family name."""
    any_author: bool
    """Whether some document's author has it so, first or not."""


def family_words(family: str) -> list[str]:
    """The words a family name is found by (casefolded): each word, and a hyphenated one whole too
    ("Costa-Matos": costa, matos, costa-matos); no particle ("van der Berg": berg)."""
    folded = family.casefold()
    whole = re.findall(r"\w+(?:-\w+)+", folded)
    return [
        w
        for w in dict.fromkeys([*re.findall(r"\w+", folded), *whole])
        if len(w) >= MIN_NAME_LENGTH and not w.isdigit() and w not in PARTICLES
    ]


def author_name(word: str, documents: Iterable[tuple[str, int | None, str | None]]) -> AuthorName:
    """`word` among the authors of `documents`: (doc_id, year, authors as stored) each."""
    key = word.casefold()
    first: list[Study] = []
    any_author = False
    for doc_id, year, authors in sorted(documents, key=lambda d: d[0]):
        names = split_authors(authors)[0] if authors else ()
        for position, name in enumerate(names):
            # A group ("The RESORCE Investigators") is named by its words anyway, which its text uses.
            if name.literal is not None or key not in family_words(name.family or ""):
                continue
            any_author = True
            if position == 0:
                first.append(Study(doc_id, year))
    return AuthorName(tuple(first), any_author)


class FirstAuthors:
    """`author_name` of each name a question asks, per index generation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_index: weakref.WeakKeyDictionary[Index, OrderedDict[str, AuthorName]] = (
            weakref.WeakKeyDictionary()
        )

    def lookup(self, index: Index, word: str) -> AuthorName:
        key = word.casefold()
        with self._lock:
            kept = self._by_index.get(index)
            if kept is not None and key in kept:
                kept.move_to_end(key)
                return kept[key]
        found = author_name(word, index.chunks.documents_naming_author(word))  # outside the lock
        with self._lock:
            kept = self._by_index.setdefault(index, OrderedDict())
            kept[key] = found
            while len(kept) > KEPT_NAMES:
                kept.popitem(last=False)
        return found
