"""Definition questions ("What is X?") and the sentences that define X."""

from __future__ import annotations

import pytest

from rag.answer.definitions import defined_term, defines


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("What are viroporins?", "viroporins"),
        ("What  is RSV?", "RSV"),
        ("What is an incubation period?", "incubation period"),
        ("What is Bacillus subtilis?", "Bacillus subtilis"),
        ("What is the dose of sorafenib?", None),  # asks about the dose, not a term
        ("What is labeled in red?", None),
        ("What is the median overall survival in patients given sorafenib?", None),
        ("How is the split virus inactivated?", None),
        ("What does the word Chikungunya mean?", "Chikungunya"),
        ("What does HCC stand for?", "HCC"),
        ("What is the meaning of superspreading?", "superspreading"),
        ("What does sorafenib do?", None),
        ("What do the results mean for patients?", None),
    ],
)
def test_a_definition_question_names_its_term(question: str, term: str | None) -> None:
    assert defined_term(question) == term


@pytest.mark.parametrize(
    ("sentence", "term", "expected"),
    [
        ("Orf8 orf8 is an accessory protein found in the Betacoronavirus lineage B.", "orf8", True),
        (
            "Text: Coronaviruses are spherical, enveloped and large RNA viruses.",
            "coronaviruses",
            True,
        ),
        ("The NYVAC vector is a highly attenuated vaccinia virus strain.", "NYVAC", True),
        (
            "in response to lipopolysaccharide (LPS), a cell wall component.",
            "lipopolysaccharide",
            True,
        ),
        ("influenza and respiratory syncytial virus (RSV) cause substantial mortality.", "RSV", True),
        (
            "Disease resilience is the ability of a host to tolerate an infection.",
            "disease resilience",
            True,
        ),
        ("We used NYVAC as a vector in mice.", "NYVAC", False),
        ("Replication of ribozymes was demonstrated in the test tube.", "ribozymes", False),
        ("Sorafenib was given to patients with RSV infection.", "RSV", False),
        ("and the word chikungunya means 'that which contorts or bends up'", "chikungunya", True),
        ("TACE stands for transarterial chemoembolization.", "TACE", True),
    ],
)
def test_a_sentence_defines_the_term(sentence: str, term: str, expected: bool) -> None:
    assert defines(sentence, term) is expected
