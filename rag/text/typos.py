"""One typing slip between two words or names: "bacteial" for "bacterial", "CEAMCAM1" for
"CEACAM1", "rdA5" for "rAd5". A name is compared only with names that carry the same digits, so
"FLT3" is never "FLT4", nor "H1N1" "H5N1"; a short one only by two swapped letters, since one
letter more or less makes another name ("IL6R" is not "IL6")."""

from __future__ import annotations

import re

# The shortest name whose one added, dropped or changed letter is taken for a slip.
MIN_SLIP_LENGTH = 6
DIGITS = re.compile(r"\d+")


def digit_signature(word: str) -> str:
    """The digits of `word` in order, separated ("H1N1" -> "1 1")."""
    return " ".join(DIGITS.findall(word))


def one_slip(typed: str, known: str) -> bool:
    """Whether `typed` is `known` with one slip (case ignored): two neighbouring letters
    swapped, or, for names of at least MIN_SLIP_LENGTH characters, one letter added, dropped
    or changed. The digits must be the same."""
    a, b = typed.lower(), known.lower()
    if a == b or digit_signature(a) != digit_signature(b) or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [i for i in range(len(a)) if a[i] != b[i]]
        if len(differ) == 2 and differ[1] == differ[0] + 1:
            return a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]]
        return len(differ) == 1 and min(len(a), len(b)) >= MIN_SLIP_LENGTH
    if min(len(a), len(b)) < MIN_SLIP_LENGTH:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def slip_key(word: str) -> tuple[str, int]:
    """Where the words one slip from `word` are sought: a name with digits among the words
    with the same digits; another word among those of its first letter and its length, give
    or take one (a slip in the first letter is not sought)."""
    signature = digit_signature(word)
    if signature:
        return (signature, -1)
    return (word[:1].lower(), len(word))


def slip_keys(word: str) -> list[tuple[str, int]]:
    """The keys under which `word` is filed, so that `slip_key` of any slip of it finds it."""
    signature = digit_signature(word)
    if signature:
        return [(signature, -1)]
    first = word[:1].lower()
    return [(first, len(word) - 1), (first, len(word)), (first, len(word) + 1)]
