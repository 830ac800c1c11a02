"""Everyday words for medical things read as the clinical terms the corpus uses ("side effects"
as "adverse events", "kidney cancer" as "renal cell carcinoma", "high blood pressure" as
"hypertension"): clinical papers rarely use the lay words, so a question in them finds passages
by the wrong words ("blood" finds blood counts). The phrases are data (data/lay_terms.json),
general medicine rather than one corpus's; a corpus that uses the lay words keeps them.

Replacing measured better than adding the clinical term in brackets: the lay words, rare in
such a corpus, kept most of the question's weight (docs/evaluation.md)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rag.errors import ConfigurationError
from rag.index.vocabulary import Lexicon
from rag.text import alternation, words
from rag.text.analyzer import content_terms

LAY_TERMS_FILE = Path(__file__).with_name("data") / "lay_terms.json"
Terms = frozenset[str]
"""A clinical term as the stems of its content words ("adverse events": {"advers", "event"})."""


@dataclass(frozen=True)
class LayTerms:
    pattern: re.Pattern[str]  # every lay phrase, longest first, whole words, case-insensitive
    clinical: dict[str, tuple[str, ...]]  # lower-cased lay phrase -> its clinical alternatives
    names: tuple[tuple[Terms, ...], ...] = ()
    """Clinical names of one thing, from entries with several ("adverse events", "adverse
    effects", "toxicities"), as stems."""


@cache
def lay_terms(path: Path = LAY_TERMS_FILE) -> LayTerms:
    """The parsed lay-terms file (the bundled data/lay_terms.json unless another is given)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pairs = [
            (str(lay).lower(), tuple(str(c) for c in t["clinical"]))
            for t in data["terms"]
            for lay in t["lay"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"lay terms file {path} is not readable ({exc})",
            'give RAG_ANSWER__LAY_TERMS a JSON file {"terms": [{"lay": [...], "clinical": [...]}]}',
        ) from exc
    clinical = {lay: alternatives for lay, alternatives in pairs if lay and alternatives}
    alternatives = alternation(clinical)
    names = {
        tuple(sorted({_terms(a) for a in group} - {frozenset()}, key=sorted)) for group in clinical.values()
    }
    # A hyphen joins a lay word to another one ("flu-like"): that is not the phrase.
    pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.I)
    several = sorted((n for n in names if len(n) > 1), key=lambda n: [sorted(name) for name in n])
    return LayTerms(pattern, clinical, tuple(several))


def _terms(phrase: str) -> Terms:
    return frozenset(content_terms(words(phrase)))


Equivalents = tuple[tuple[Terms, tuple[Terms, ...]], ...]


def equivalents(asked: set[str], terms: LayTerms | None) -> Equivalents:
    """The clinical terms among the question's stems (`asked`), each with every name of the
    same thing: a sentence that says "toxicities" names the "adverse events" asked about. A
    corpus settles on no one name (the lay reading picks one for the whole corpus; one paper
    says "toxicity", the next "adverse events")."""
    if terms is None:
        return ()
    found = []
    for names in terms.names:
        held = [name for name in names if name <= asked]
        if held:
            found.append((frozenset().union(*held), names))
    return tuple(found)


def with_equivalents(stems: set[str], found: Equivalents) -> set[str]:
    """A sentence's stems with the question's own name of each thing the sentence names."""
    for asked, names in found:
        if any(name <= stems for name in names):
            stems = stems | asked
    return stems


def clinical_reading(question: str, lexicon: Lexicon, terms: LayTerms | None = None) -> str:
    """`question` with each lay phrase read as its clinical alternative: the first in the data's
    order that the corpus uses more than the lay phrase. A phrase with no such alternative stays
    as typed (a corpus in lay words keeps its questions). An alternative in most passages ("liver
    cancer" as "hepatocellular carcinoma" in a corpus on it) is read too: the lay words, rare
    there, would otherwise match only where they happen to appear, such as a staging system's
    name ("Barcelona Clinic Liver Cancer", at every "BCLC"), and draw every lay question to
    those papers."""
    terms = terms or lay_terms()
    if not terms.clinical:
        return question

    def read(match: re.Match[str]) -> str:
        lay = match.group(0)
        rarity = _rarity(lay, lexicon)
        for phrase in terms.clinical[lay.lower()]:
            if _rarity(phrase, lexicon) < rarity:
                return phrase
        return lay

    return terms.pattern.sub(read, question)


def _rarity(phrase: str, lexicon: Lexicon) -> float:
    """How rare the phrase is in the corpus, by its rarest word (the inverse document frequency
    of its stem; a word the corpus lacks has the largest)."""
    return max((lexicon.idf(s) for s in _terms(phrase)), default=math.inf)
