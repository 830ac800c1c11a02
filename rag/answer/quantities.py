"""Quantities a question asks for by name, found by their units.

"At what temperature did IQ-Anc show optimal GDP binding?" is answered by "we observed the
optimal GDP binding at 49.4 °C", which never says "temperature": the unit says it. Which nouns
name a quantity and the units their values are written in is data (data/quantities.json), not
code, and holds no field's own terms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from rag.text import alternation, stem

QUANTITIES_FILE = Path(__file__).with_name("data") / "quantities.json"
# A value: a number (with decimals, thousands or a range), then its unit, which no letter follows.
# A number is matched from the start of its run of digits and never backtracked into, so a
# hostile run of thousands of digits costs one pass, not one per position.
_NUMBER = r"(?<![\d.,])\d[\d.,]*+(?:\s?[-–—]\s?\d[\d.,]*+)?"


@cache
def unit_patterns() -> dict[str, re.Pattern[str]]:
    """For the stem of each quantity's name, a pattern of a value in one of its units."""
    data = json.loads(QUANTITIES_FILE.read_text(encoding="utf-8"))
    patterns = {}
    for name, units in data["quantities"].items():
        patterns[stem([name])[0]] = re.compile(rf"{_NUMBER}\s?(?:{alternation(units)})(?![^\W\d_])")
    for name, units in data.get("written_before", {}).items():  # "pH 7.4"
        patterns[stem([name])[0]] = re.compile(rf"\b(?:{alternation(units)})\s?(?:of\s)?\d")
    return patterns


def quantities_given(focus_stems: Iterable[str], text: str) -> set[str]:
    """The focus stems naming a quantity whose value `text` gives in its units."""
    patterns = unit_patterns()
    return {s for s in focus_stems if s in patterns and patterns[s].search(text)}
