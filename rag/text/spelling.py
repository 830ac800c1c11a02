"""British spellings read as American ones ("tumour" as "tumor", "randomised" as "randomized",
"leukaemia" as "leukemia"), so that a question and a document that spell a word differently
still share its term. The rules are data (data/spelling.json), applied to one lower-cased word
before stemming, the same way to questions and to documents."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

SPELLING_FILE = Path(__file__).with_name("data") / "spelling.json"
# Every rule needs one of these in the word: most words are passed over by one search.
_CANDIDATE = re.compile(r"is|ys|[bt]re|our|ogue|ae|oe")


@dataclass(frozen=True)
class SpellingRules:
    version: int
    keep: tuple[str, ...]
    rules: tuple[tuple[re.Pattern[str], str], ...]


@cache
def spelling_rules() -> SpellingRules:
    data = json.loads(SPELLING_FILE.read_text(encoding="utf-8"))
    return SpellingRules(
        int(data["version"]),
        tuple(data["keep"]),
        tuple((re.compile(pattern), replacement) for pattern, replacement in data["rules"]),
    )


@lru_cache(maxsize=200_000)
def american(word: str) -> str:
    """`word` (lower-cased) in American spelling; unchanged when no rule applies."""
    if not _CANDIDATE.search(word):
        return word
    rules = spelling_rules()
    if word.startswith(rules.keep):
        return word
    for pattern, replacement in rules.rules:
        word = pattern.sub(replacement, word, count=1)
    return word


@cache
def spelling_rules_id() -> str:
    """Names the rules an index was built with (its manifest records it): editing the file
    means the index must be rebuilt."""
    digest = hashlib.sha256(SPELLING_FILE.read_bytes()).hexdigest()[:16]
    return f"british-as-american v{spelling_rules().version} sha256:{digest}"
