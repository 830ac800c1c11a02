"""Words of a question the corpus lacks, read as the corpus word one typing slip away
("bacteial" as "bacterial", "CEAMCAM1" as "CEACAM1"): a misspelled word finds no passage by its
letters, and a misspelled name would be declined as absent."""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.index.vocabulary import Lexicon
from rag.text import STOPWORDS, WORD
from rag.text.typos import digit_signature

# Shorter words are left as typed: one letter off, they are often another word. A name with
# digits is compared only with names of the same digits, so a shorter one is read too ("rdA5").
MIN_CORRECTED_LENGTH = 5
MIN_CORRECTED_NAME_LENGTH = 4


def corrected(question: str, lexicon: Lexicon, is_word: Callable[[str], bool] = lambda _: False) -> str:
    """`question` with each word the corpus lacks replaced by the corpus word one slip from it
    (`correction`); unchanged when there is none."""

    def replacement(match: re.Match[str]) -> str:
        token = match.group(0)
        return correction(token, lexicon, is_word) or token

    return WORD.sub(replacement, question)


def correction(token: str, lexicon: Lexicon, is_word: Callable[[str], bool] = lambda _: False) -> str | None:
    """The corpus word one typing slip from `token` (Lexicon.slip_of) when the corpus lacks
    `token`; None otherwise. A word `is_word` knows ("healthy", "stayed": one piece of the
    embedding model's vocabulary) is another word, not a slip, and so is one that differs only
    in its last letter ("fibula" and "fibular", "aphasia" and "aphasic")."""
    lower = token.lower()
    if (
        len(token) < (MIN_CORRECTED_NAME_LENGTH if digit_signature(token) else MIN_CORRECTED_LENGTH)
        or lower in STOPWORDS
        or token.replace(".", "").isdigit()
        or lexicon.contains_in_any_case(token)
        or is_word(lower)
    ):
        return None
    known = lexicon.slip_of(token)
    if known is None or _in_ending(lower, known.lower()):
        return None
    if token[:1].isupper() and not digit_signature(known) and known.islower():
        return known[:1].upper() + known[1:]
    return known


def _in_ending(typed: str, known: str) -> bool:
    """Whether the two differ only in the last letter (one changed, added or dropped): a
    word's other form ("fibula" and "fibular"), not a slip ("sunitinb" for "sunitinib")."""
    return typed[:-1] == known[:-1] or typed == known[:-1] or typed[:-1] == known
