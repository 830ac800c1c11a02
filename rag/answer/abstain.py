"""Finding what a question names that the corpus never mentions.

A question about a drug, trial or disease the corpus does not contain should be declined,
not answered from the nearest passage about something else. A question word counts as
absent when the corpus lacks it (by stem, acronyms case-sensitively), no abbreviation
explains it, and no corpus word is a near-synonym by embedding similarity ("kidney" is
covered by "renal", "tumour" by "tumor"). Only absent words that name a specific thing
lead to abstention: drug names (by their INN stems), disease names (by their suffixes, or
as the qualifier of "cancer", "tumor" ...), trial and gene names (with digits, in mixed
case, or qualifying "trial" or "study"). Ordinary words missing from the corpus
("inoperable", "fortnight") are a paraphrase, not a missing topic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rag.answer.question import QUESTION_WORDS
from rag.index.vocabulary import Lexicon
from rag.text import WORD
from rag.text.abbreviations import Abbreviations
from rag.text.analyzer import is_acronym

# Which words name a drug, disease, trial or study: data (data/entities.json), not code.
ENTITIES_FILE = Path(__file__).with_name("data") / "entities.json"


@dataclass(frozen=True)
class EntityCues:
    entity_heads: frozenset[str]
    study_heads: frozenset[str]
    drug_suffixes: tuple[str, ...]
    """WHO INN stems of drug names."""
    organ_endings: tuple[str, ...]
    disease_suffixes: tuple[str, ...]
    populations: frozenset[str]


@cache
def entities_data() -> dict[str, Any]:
    """The parsed data/entities.json (read once per process)."""
    data: dict[str, Any] = json.loads(ENTITIES_FILE.read_text(encoding="utf-8"))
    return data


@cache
def entity_cues() -> EntityCues:
    data = entities_data()
    return EntityCues(
        frozenset(data["entity_heads"]),
        frozenset(data["study_heads"]),
        tuple(data["drug_suffixes"]),
        tuple(data["organ_endings"]),
        tuple(data["disease_suffixes"]),
        frozenset(data["populations"]),
    )


def names_a_thing(token: str, following: str) -> bool:
    """Whether a word the corpus lacks names a specific drug, disease, trial or gene, or a
    group of people ("pregnant", "children")."""
    cues = entity_cues()
    lower = token.lower()
    if lower in cues.populations:
        return True
    if names_drug_or_gene(token) or lower.endswith(cues.drug_suffixes + cues.disease_suffixes):
        return True
    if following in cues.study_heads and (is_acronym(token) or token[:1].isupper()):
        return True
    # "pancreatic cancer", "prostate tumours", "bladder carcinoma": an organ or adjective
    # qualifying a disease; verbs before one ("help carcinomas") do not count.
    return following in cues.entity_heads and lower.endswith(cues.organ_endings)


# The shortest word taken for a drug by its INN stem when the corpus has it: "concept" and
# "accept" end like etanercept; "imatinib" is long enough.
MIN_DRUG_NAME = 8


def names_drug_or_gene(token: str) -> bool:
    """Whether a word names a drug (by its INN stem) or a gene, strain or trial (with digits
    or in mixed case: "FLT3", "H1N1", "rAd5"): names that a paper on something else does not
    use. Diseases have other names ("liver cancer" is "hepatocellular carcinoma"), and so do
    studies ("the phase II trial")."""
    has_digit = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
    mixed_case = any(c.isupper() for c in token[1:]) and any(c.islower() for c in token)
    if has_digit or (mixed_case and not is_acronym(token)):
        return True
    return names_drug(token)


def names_drug(token: str) -> bool:
    """Whether a word names a drug by its INN stem ("sorafenib", "oseltamivir")."""
    suffixes = entity_cues().drug_suffixes
    return len(token) >= MIN_DRUG_NAME and token.isalpha() and token.lower().endswith(suffixes)


def drugs_named(text: str) -> set[str]:
    """The drugs a text names by their INN stems, lowercased."""
    return {token.lower() for token in WORD.findall(text) if names_drug(token)}


@dataclass(frozen=True)
class UnknownWord:
    token: str
    names_thing: bool
    needs_similarity: bool


def unknown_words(question: str, lexicon: Lexicon, abbreviations: Abbreviations) -> list[UnknownWord]:
    """Words of the question the corpus does not contain, in question order."""
    found: list[UnknownWord] = []
    # A question in capitals ("IN THE PREGNANT WOMAN") has no case to tell an acronym by: its
    # words are looked up as the corpus writes them, in any case.
    in_capitals = is_acronym("".join(WORD.findall(question)))
    for token, following in _content_words(question):
        if lexicon.contains(token) or _written_apart(token, lexicon):
            continue
        if in_capitals and lexicon.contains(token.lower()):
            continue
        meaning = abbreviations.meaning(token) if is_acronym(token) else None
        if meaning and all(lexicon.contains(w) for w in meaning if w not in QUESTION_WORDS):
            continue
        found.append(
            UnknownWord(token, names_a_thing(token, following), needs_similarity=not is_acronym(token))
        )
    return found


def named_words(question: str, lexicon: Lexicon) -> tuple[str, ...]:
    """Words of the question that name a drug, gene or strain the corpus mentions
    ("regorafenib", "FLT3", "H1N1"): an answer must come from a document that names them all."""
    words = _content_words(question)
    named = [token for token, _ in words if names_drug_or_gene(token)]
    return tuple(dict.fromkeys(t for t in named if not ORDINAL.fullmatch(t) and lexicon.contains(t)))


# "11th", "2nd": a date or a rank, not a name.
ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)", re.I)


def _content_words(question: str) -> list[tuple[str, str]]:
    """(word, the word after it, lowercased) for the question's words that may name something."""
    tokens = WORD.findall(question)
    words = []
    for position, token in enumerate(tokens):
        lower = token.lower()
        if (
            lower in QUESTION_WORDS
            or lower.replace(".", "").isdigit()
            or (len(lower) < 3 and not is_acronym(token))
        ):
            continue
        following = tokens[position + 1].lower() if position + 1 < len(tokens) else ""
        words.append((token, following))
    return words


# Letters and digits written together ("COVID19", "HIV1", "IL6") or a name run into a word
# ("likeCOV"): the pieces of such a token, which the corpus may write apart ("COVID-19").
PIECES = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _written_apart(token: str, lexicon: Lexicon) -> bool:
    """The corpus has each piece of the token, written apart: "COVID19" as "COVID-19"."""
    pieces = PIECES.findall(token)
    words = [p for p in pieces if not p.isdigit()]
    if len(pieces) < 2 or not any(len(w) >= 2 for w in words):
        return False
    return all(lexicon.contains(w) for w in words if len(w) >= 2)


def absent_terms(
    unknown: list[UnknownWord], similarities: dict[str, float], threshold: float
) -> tuple[str, ...]:
    """The unknown words naming a thing that no corpus word paraphrases."""
    return tuple(
        dict.fromkeys(
            w.token
            for w in unknown
            if w.names_thing and (not w.needs_similarity or similarities.get(w.token, 0.0) < threshold)
        )
    )
