"""How a value of each numeric answer type is written: "4.4 months" for a duration, "400 mg"
for a dose, "12 of 48" for a share, "30 patients" for a count; and how a cause is given ("due
to", "because"), which a why-question asks for. The shapes (a number, then its
unit) are code; the units, the nouns a count counts and the number words are data
(data/answer_units.json), so that another field adds its own without touching code."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from rag.answer.question import AnswerType
from rag.text import alternation

UNITS_FILE = Path(__file__).with_name("data") / "answer_units.json"
# A number as papers print it, with a decimal point, a thousands comma or a middle dot ("10·6").
_NUMBER = r"\b\d[\d.,·]*"


@cache
def unit_patterns() -> dict[AnswerType, re.Pattern[str]]:
    """For each numeric answer type, a pattern of a value written in its units; for REASON, of a
    stated cause."""
    words = _words()
    periods = alternation(words["periods"])
    counted = alternation(words["counted_nouns"])
    shapes = {
        AnswerType.DURATION: rf"{_NUMBER}\s*(?:\+\s*)?(?:{alternation(words['duration_units'])})\b"
        rf"|\bone (?:{periods})\b",
        AnswerType.DOSE: rf"{_NUMBER}\s*(?:{alternation(words['dose_units'])})\b"
        rf"|\b(?:{alternation(words['dose_units_alone'])})\b|\b(?:{alternation(words['dose_units_per'])})/",
        AnswerType.PERCENT: rf"\d\s*%|\b(?:{alternation(words['percent_words'])})\b"
        r"|\b\d+ (?:of|in) [\d,]+\b|\b1/[\d,]{2,}\b",
        AnswerType.COUNT: rf"\b\d[\d,]*\s+(?:[\w-]+\s+){{0,2}}(?:{counted})\b"
        r"|\b\d+ of (?:the )?\d+\b|\bn\s*=\s*\d"
        rf"|\b(?:{alternation(words['number_words'])})(?:-\w+)?(?: [\w-]+){{0,3}}? "
        rf"(?:{alternation(words['counted_after_number_words'])})\b",
        # Tried from every ratio word to the next full stop: quadratic in a run of them, but a
        # sentence lies within one chunk (at most 256 word pieces), where it stays under 1 ms.
        AnswerType.RATIO: rf"\b(?:{alternation(words['ratio_words'])})\b[^.]*\d|\d\.\d",
        AnswerType.TIME: rf"\b(?:19|20)\d\d\b|\b(?:{periods})\s+\d+|\d+(?:st|nd|rd|th) (?:{periods})"
        rf"|\b(?:{alternation(words['time_words'])})\b",
        AnswerType.NUMBER: r"\d",
        AnswerType.REASON: rf"\b(?:{alternation(words['reason_words'])})\b",
    }
    return {kind: re.compile(shape, re.I) for kind, shape in shapes.items()}


@cache
def number_word_pattern() -> re.Pattern[str]:
    """A count written in words ("six patients", "none of them")."""
    words = _words()
    return re.compile(rf"\b(?:{alternation([*words['number_words'], *words['no_number_words']])})\b", re.I)


@cache
def drug_nouns() -> frozenset[str]:
    """What a "Which drug / agent / tablet ...?" asks for by name, lower-cased."""
    return frozenset(word.lower() for word in _words()["drug_nouns"])


def unit_pattern(kind: AnswerType) -> re.Pattern[str] | None:
    """The pattern of a value of type `kind`; None for a type that is not a number."""
    return unit_patterns().get(kind)


@cache
def _words() -> dict[str, list[str]]:
    """The data file, read once for both patterns."""
    data: dict[str, list[str]] = json.loads(UNITS_FILE.read_text(encoding="utf-8"))
    return data
