"""How a value of each numeric answer type is written: the shapes are code, the units and the
counted nouns data (rag/answer/data/answer_units.json)."""

from __future__ import annotations

import json

import pytest

from rag.answer.answer_units import UNITS_FILE, number_word_pattern, unit_pattern, unit_patterns
from rag.answer.question import NUMERIC_TYPES, AnswerType

WRITTEN = [
    (AnswerType.DURATION, "The median PFS was 4.4 months.", "Sorafenib 400 mg twice daily."),
    (AnswerType.DURATION, "Median overall survival was 10·6 months.", "Median survival improved."),
    (AnswerType.DURATION, "Patients were followed for one year.", "Patients were followed up."),
    (AnswerType.DOSE, "Sorafenib 400 mg twice daily.", "The median PFS was 4.4 months."),
    (AnswerType.DOSE, "Cells were treated at 10 μM.", "Cells were treated for 24 hours."),
    (AnswerType.DOSE, "The dose was 5 mg/kg.", "The dose was reduced."),
    (AnswerType.PERCENT, "The response rate was 36%.", "The response was 36 months."),
    (AnswerType.PERCENT, "12 of 48 patients responded.", "Forty-eight patients enrolled."),
    (AnswerType.COUNT, "Forty-eight patients were enrolled.", "The trial enrolled rapidly."),
    (AnswerType.COUNT, "We enrolled 212 healthy adult volunteers.", "Volunteers were enrolled."),
    (AnswerType.COUNT, "Randomized (n = 602).", "Randomized in 2007 in Europe."),
    (AnswerType.RATIO, "The hazard ratio was 0.69.", "The ratio was favourable."),
    (AnswerType.TIME, "It was approved in 2007.", "It was approved recently."),
    (AnswerType.TIME, "Fever within two weeks.", "Fever after the start."),
    (AnswerType.REASON, "It was stopped because of toxicity.", "It was stopped after 18 months."),
    (AnswerType.REASON, "Bats are reservoirs due to their immunity.", "Bats are reservoirs."),
]


@pytest.mark.parametrize(("kind", "value", "other"), WRITTEN)
def test_a_value_is_found_in_its_units(kind: AnswerType, value: str, other: str) -> None:
    pattern = unit_pattern(kind)
    assert pattern is not None
    assert pattern.search(value), (kind, value)
    assert not pattern.search(other), (kind, other)


def test_a_count_in_words() -> None:
    pattern = number_word_pattern()
    for counted in ("Eleven patients were accrued.", "None of them relapsed.", "No patient died."):
        assert pattern.search(counted), counted
    for other in ("Nonetheless, it was safe.", "Someone noted it.", "Tenfold higher."):
        assert not pattern.search(other), other


def test_every_numeric_type_has_a_pattern_and_others_none() -> None:
    assert set(unit_patterns()) >= set(NUMERIC_TYPES)
    assert unit_pattern(AnswerType.YES_NO) is None


def test_the_units_are_data_a_field_can_extend() -> None:
    words = json.loads(UNITS_FILE.read_text(encoding="utf-8"))
    assert "description" in words
    lists = {key: value for key, value in words.items() if key != "description"}
    assert lists and all(
        isinstance(v, list) and v and all(isinstance(w, str) and w.strip() for w in v) for v in lists.values()
    )
    assert all(len(set(v)) == len(v) for v in lists.values()), "a word listed twice"
    # The shipped list is not tied to one field: no drug, disease or trial name in it.
    assert not {w.lower() for v in lists.values() for w in v} & {"sorafenib", "hcc", "rcc", "covid"}
