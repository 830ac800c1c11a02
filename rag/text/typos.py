"""One typing slip between two names: "CEAMCAM1" for "CEACAM1", "rdA5" for "rAd5". A name is
compared only with names that carry the same digits, so "FLT3" is never "FLT4", nor "H1N1"
"H5N1"; a short name only by two swapped letters, since one letter more or less makes another
name ("IL6R" is not "IL6")."""

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
