"""One typing slip between two names (rag/text/typos.py)."""

from __future__ import annotations

import pytest

from rag.text.typos import digit_signature, one_slip


@pytest.mark.parametrize(
    ("typed", "known", "slip"),
    [
        ("CEAMCAM1", "CEACAM1", True),  # a letter more, in a long name
        ("rdA5", "rAd5", True),  # two letters swapped, in a short one
        ("sorafinib", "sorafenib", True),  # a letter changed
        ("FLT4", "FLT3", False),  # another number: another name
        ("H5N1", "H1N1", False),
        ("IL6R", "IL6", False),  # a letter more in a short name: another name
        ("IL8", "IL6", False),
        ("CEACAM1", "CEACAM1", False),  # the same name is no slip
        ("CEACAM12", "CEACAM1", False),
        ("ACEMCAC1", "CEACAM1", False),  # more than one slip
    ],
)
def test_one_slip(typed: str, known: str, slip: bool) -> None:
    assert one_slip(typed, known) is slip


def test_digit_signature_keeps_the_numbers_apart() -> None:
    assert digit_signature("H1N1") == "1 1" and digit_signature("H11N") == "11"
    assert digit_signature("RESORCE") == ""
