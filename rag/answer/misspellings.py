"""Words of a question the corpus lacks, read as the corpus word one typing slip away
("bacteial" as "bacterial", "CEAMCAM1" as "CEACAM1"): a misspelled word finds no passage by its
letters, and a misspelled name would be declined as absent."""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.index.vocabulary import Lexicon
from rag.text import STOPWORDS, WORD
from rag.text.typos import digit_signature

# Shorter words are left as typed: one letter off, they are often another word.
MIN_CORRECTED_LENGTH = 5


def corrected(question: str, lexicon: Lexicon, is_word: Callable[[str], bool] = lambda _: False) -> str:
    """`question` with each word the corpus lacks replaced by the corpus word one slip from it
    (Lexicon.slip_of); unchanged when there is none. A word `is_word` knows ("healthy", "stayed":
    one piece of the embedding model's vocabulary) is another word, not a slip, and so is one
    that differs only in its last letter ("fibula" and "fibular", "diplomates" and "diplomats")."""

    def replacement(match: re.Match[str]) -> str:
        token = match.group(0)
        lower = token.lower()
        if (
            len(token) < MIN_CORRECTED_LENGTH
            or lower in STOPWORDS
            or token.replace(".", "").isdigit()
            or lexicon.contains(token)
            or lexicon.contains(lower)
            or is_word(lower)
        ):
            return token
        known = lexicon.slip_of(token)
        if known is None or _in_ending(lower, known.lower()):
            return token
        if token[:1].isupper() and not digit_signature(known) and known.islower():
            return known[:1].upper() + known[1:]
        return known

    return WORD.sub(replacement, question)


def _in_ending(typed: str, known: str) -> bool:
    """Whether the two differ only in the last letter (one changed, added or dropped): a
    word's other form ("fibula" and "fibular"), not a slip ("sunitinb" for "sunitinib")."""
    return typed[:-1] == known[:-1] or typed == known[:-1] or typed[:-1] == known
