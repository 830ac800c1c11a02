"""The diseases a text names ("renal cell carcinoma", "multiple myeloma"), and how close a
document's diseases are to the one a question asks about.

A disease has many names ("kidney cancer", "renal cell carcinoma"), so names are compared
by the embedding model, not by their words: each disease the question names against each
one the document's title names. Measured with the bundled model: names of one disease are
0.75-0.92 similar ("liver cancer" / "hepatocellular carcinoma" 0.75, "kidney cancer" /
"renal cell carcinoma" 0.85), names of different ones 0.13-0.50 ("colorectal cancer" /
"hepatocellular carcinoma" 0.45, "kidney cancer" / "multiple myeloma" 0.35). A document
whose title names only diseases below OTHER_DISEASE is about another disease; one whose
title names none says nothing either way.

Which words end a disease's name, and which qualifiers are a stage rather than a disease
("advanced cancer"), is data (data/entities.json), not code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from rag.answer.abstain import entities_data, names_drug_or_gene
from rag.answer.question import QUESTION_WORDS
from rag.text import STOPWORDS, WORD
from rag.text.spelling import american

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# Below this similarity to every disease the question names, a disease is another one (see above).
OTHER_DISEASE = 0.6
MAX_QUALIFIERS = 3
# The most disease names read from one text: a question or title that lists more (one made to
# slow the service down) is compared by its first few.
MAX_NAMES = 4
CACHED_NAMES = 4096
# A word after a tumour's head that ends its phrase ("liver tumours in mice", "... or"): a
# function word; any other word continues it ("tumor thrombus", "tumor growth").
PHRASE_ENDS = STOPWORDS


@dataclass(frozen=True)
class DiseaseWords:
    generic: frozenset[str]
    """Heads that name a disease only with a qualifier ("cancer")."""
    specific: frozenset[str]
    """Heads that name one alone ("myeloma")."""
    stage: frozenset[str]
    """Qualifiers that say how far a disease has gone, not which it is ("advanced")."""
    breaks: frozenset[str]
    """Words before which no qualifier is sought ("without")."""
    institutions: frozenset[str]
    """Words after a head that make it a place's name ("Cancer Center")."""
    inner: frozenset[str]
    """Qualifiers that continue a name and never start one ("cell" in "renal cell carcinoma")."""
    tumour: frozenset[str]
    """Heads of a tumour's name ("liver tumours"), a disease only where a follow-up replaces it."""


@cache
def disease_words() -> DiseaseWords:
    data = entities_data()
    heads = data["disease_heads"]
    return DiseaseWords(
        frozenset(heads["generic"]),
        frozenset(heads["specific"]),
        frozenset(data["stage_words"]),
        frozenset(data["qualifier_breaks"]),
        frozenset(data["institution_words"]),
        frozenset(data["inner_qualifiers"]),
        frozenset(data["tumour_heads"]),
    )


def disease_names(text: str) -> tuple[str, ...]:
    """The diseases `text` names, lowercased: a head with the qualifiers before it."""
    return tuple(dict.fromkeys(name for name, _, _ in disease_spans(text)))[:MAX_NAMES]


def disease_spans(text: str) -> list[tuple[str, int, int]]:
    """Each disease name of `text` (lowercased, as disease_names gives it) with where it is."""
    words = disease_words()
    return _spans(
        text, words.generic, words.specific, lambda following, between: following not in words.institutions
    )


def tumour_spans(text: str) -> list[tuple[str, int, int]]:
    """Each tumour `text` names by its organ ("liver tumours", as disease_spans gives a
    disease): what a follow-up naming a disease replaces when the question names no disease
    ("Does sorafenib shrink liver tumours?", then "And for leukaemia?"). Only a head that ends
    its phrase: "portal vein tumor thrombus" and "decreases tumor growth" name no tumour to
    replace (so "tumour" is no disease head, where such a name would choose documents)."""
    words = disease_words()
    return _spans(
        text,
        words.tumour,
        frozenset(),
        lambda following, between: not following or bool(between.strip()) or following in PHRASE_ENDS,
    )


def _spans(
    text: str, generic: frozenset[str], specific: frozenset[str], head_ends: Callable[[str, str], bool]
) -> list[tuple[str, int, int]]:
    """Names ending in a head of `generic` (with a qualifier) or of `specific` (alone), where
    `head_ends(following word, text between)` says the head ends a name there."""
    words = disease_words()
    tokens = list(WORD.finditer(text))
    found: list[tuple[str, int, int]] = []
    for position, match in enumerate(tokens):
        head = american(match.group().lower())
        after = tokens[position + 1] if position + 1 < len(tokens) else None
        following = after.group().lower() if after else ""
        between = text[match.end() : after.start()] if after else ""
        if (head not in generic and head not in specific) or not head_ends(following, between):
            continue
        qualifiers: list[str] = []
        start = match.start()
        for before in reversed(tokens[max(0, position - MAX_QUALIFIERS) : position]):
            if before.group().lower() in words.stage:
                continue
            if _ends_qualifiers(before.group(), words):
                break
            qualifiers.insert(0, american(before.group().lower()))
            start = before.start()
        if qualifiers or head in specific:
            found.append((" ".join([*qualifiers, head]), start, match.end()))
    return found


def name_variants(name: str) -> list[str]:
    """`name` and its shorter forms, down to one qualifier ("bezafibrate prevent colon cancer",
    "prevent colon cancer", "colon cancer"): a verb or a drug before a disease reads as one
    of its qualifiers, and the shortest form is then the disease. No shorter form starts inside
    the name ("cell carcinoma" of "renal cell carcinoma" would be as close to "liver cancer" as
    to "kidney cancer")."""
    words = name.split()
    known = disease_words()
    shortest = 1 if words[-1] in known.specific else 2
    return [
        " ".join(words[start:])
        for start in range(0, len(words) - shortest + 1)
        if start == 0 or words[start] not in known.inner
    ]


def _ends_qualifiers(word: str, words: DiseaseWords) -> bool:
    """A word that is not part of a disease's name: a question or function word, a preposition,
    a participle ("FLT3-mutated"), a drug or gene, another head, a number."""
    lower = word.lower()
    return (
        lower in QUESTION_WORDS
        or lower in words.breaks
        or lower in words.generic
        or lower.endswith("ed")
        or not word.isalpha()
        or names_drug_or_gene(word)
    )


class DiseaseMatcher:
    """How close each document's title diseases are to the question's, with the vectors of
    disease names kept (titles recur from question to question)."""

    def __init__(self, embed: Callable[[Sequence[str]], NDArray[np.float32]]) -> None:
        self._embed = embed
        self._vectors: dict[str, NDArray[np.float32]] = {}
        self._lock = threading.Lock()

    def similarities(
        self, asked: Sequence[str], asked_vectors: Sequence[NDArray[np.float32]], titles: Mapping[str, str]
    ) -> dict[str, float]:
        """For each document (by id, from its title) that names a disease: the highest
        similarity between one of its diseases and one the question names (`asked`, with their
        vectors). Two names with the same specific head ("leukemia") are of one disease: the
        qualifiers a question uses ("FLT3-mutated") vary more than the disease."""
        if not asked:
            return {}
        names = {
            doc_id: [v for name in disease_names(title) for v in name_variants(name)]
            for doc_id, title in titles.items()
        }
        vectors = self._vectors_of(n for found in names.values() for n in found)
        specific = disease_words().specific
        asked_heads = {name.split()[-1] for name in asked} & specific
        return {
            doc_id: 1.0
            if any(name.split()[-1] in asked_heads for name in found)
            else max(float(vectors[name] @ question) for name in found for question in asked_vectors)
            for doc_id, found in names.items()
            if found
        }

    def _vectors_of(self, names: Iterable[str]) -> dict[str, NDArray[np.float32]]:
        wanted = list(dict.fromkeys(names))
        with self._lock:
            known = {n: self._vectors[n] for n in wanted if n in self._vectors}
        missing = [n for n in wanted if n not in known]
        if missing:
            fresh = dict(zip(missing, self._embed(missing), strict=True))
            with self._lock:
                if len(self._vectors) + len(fresh) > CACHED_NAMES:
                    self._vectors.clear()
                self._vectors.update(fresh)
            known |= fresh
        return known
