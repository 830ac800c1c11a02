"""Abbreviations: found where a text defines them ("overall survival (OS)") plus common ones.

Documents define their own short forms, and the same short form can mean different things
in different papers (HR: hazard ratio, or hematologic response), so each document's
definitions are kept apart and take precedence over the common list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from rag.text import WORD, fold_ligatures, words

# Common clinical-literature abbreviations, used where a text does not define its own: data,
# not code (data/abbreviations.json), so another field can bring its own.
COMMON_FILE = Path(__file__).with_name("data") / "abbreviations.json"


@cache
def common_abbreviations() -> dict[str, str]:
    data = json.loads(COMMON_FILE.read_text(encoding="utf-8"))
    return {str(short): str(long) for short, long in data["abbreviations"].items()}


EXPANSION_CACHE_SIZE = 50_000
SHORT_FORM = re.compile(r"\(([A-Za-z][A-Za-z0-9-]{1,9})\)")


def looks_like_short_form(token: str) -> bool:
    """Capitals past the first letter ("HCC", "miR", "mAb", "eGFR"); a capitalized word is not one."""
    # Called for every word of every chunk when BM25 is rebuilt: compared as strings (in C), not
    # character by character; lower() changes a string exactly when it holds a capital.
    rest = token[1:]
    return rest != rest.lower() or (token[:1].isupper() and len(token) <= 3)


def find_definitions(text: str) -> list[tuple[str, str]]:
    """(short form, long form) pairs defined in `text` as "long form (SF)".

    The Schwartz-Hearst algorithm: match the short form's characters right to left inside
    the preceding words, the first one at the start of a word; the long form is the shortest
    such run of words (at most two words more than the short form has letters).
    """
    pairs = []
    for match in SHORT_FORM.finditer(text):
        short = match.group(1)
        letters = [c for c in short if c.isalnum()]
        if not looks_like_short_form(short) or len(letters) < 2:
            continue
        window = re.findall(r"[^\s()\[\],;:]+", text[max(0, match.start() - 160) : match.start()])
        window = window[-(len(letters) + 2) :]
        long_form = _schwartz_hearst(short, " ".join(window))
        if (
            long_form
            and short not in long_form
            and all(any(c.isalpha() for c in w) for w in long_form.split())
        ):
            pairs.append((short, long_form))
    return pairs


def _schwartz_hearst(short: str, candidate: str) -> str | None:
    s_index, l_index = len(short) - 1, len(candidate) - 1
    while s_index >= 0:
        char = short[s_index].lower()
        if not char.isalnum():
            s_index -= 1
            continue
        while l_index >= 0 and (
            candidate[l_index].lower() != char
            or (s_index == 0 and l_index > 0 and candidate[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    start = candidate.rfind(" ", 0, l_index + 1) + 1
    return candidate[start:].strip() or None


class Abbreviations:
    """Expands short forms into their long forms' words, per document where it defines them."""

    def __init__(self, by_document: Mapping[str, Iterable[tuple[str, str]]]) -> None:
        self._by_document: dict[str, dict[str, list[str]]] = {}
        self._cache: dict[tuple[str, str | None], tuple[str, ...]] = {}
        corpus_meanings: dict[str, set[str]] = {}
        for doc_id, pairs in by_document.items():
            local: dict[str, list[str]] = {}
            for short, long in pairs:
                local.setdefault(short, words(long))
                corpus_meanings.setdefault(short, set()).add(" ".join(words(long)))
            self._by_document[doc_id] = local
        common = common_abbreviations().items()
        self._global: dict[str, list[str]] = {short: words(long) for short, long in common}
        for short, meanings in corpus_meanings.items():
            if len(meanings) == 1:  # an ambiguous short form has no corpus-wide meaning
                self._global.setdefault(short, next(iter(meanings)).split())

    def meaning(self, short: str, doc_id: str | None = None) -> list[str] | None:
        local = self._by_document.get(doc_id or "", {})
        return local.get(short) or self._global.get(short)

    def expand(self, text: str, doc_id: str | None = None) -> list[str]:
        """Lower-cased words of `text`, each known short form replaced by its long form's words."""
        # Answers expand the same corpus sentences query after query: remember them (an
        # index generation's Abbreviations never change, so neither do the results).
        key = (text, doc_id)
        cached = self._cache.get(key)
        if cached is None:
            expanded: list[str] = []
            for token in WORD.findall(fold_ligatures(text)):
                meaning = self.meaning(token, doc_id) if looks_like_short_form(token) else None
                expanded.extend(meaning or [token.lower().replace("·", ".")])
            cached = tuple(expanded)
            if len(self._cache) >= EXPANSION_CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = cached
        return list(cached)
