"""A quantity a question asks for by name is found by the units of its value."""

from __future__ import annotations

from rag.answer.features import focus_match
from rag.answer.quantities import quantities_given, unit_patterns
from rag.text import stem

TEMPERATURE, INTENSITY, CONCENTRATION, WEIGHT = stem(["temperature", "intensity", "concentration", "weight"])


def test_a_value_in_a_quantitys_units_gives_that_quantity() -> None:
    assert quantities_given([TEMPERATURE], "the optimal GDP binding at 49.4 °C (90% CI: 45.8–50.1 °C)")
    assert quantities_given([TEMPERATURE], "it was cold crashed via a glycol jacket to 4.4°C.")
    assert quantities_given([INTENSITY], "mounted to one side of the petri dish at approximately 3000 lux.")
    assert quantities_given([CONCENTRATION], "cells were treated with 10 μM sorafenib")
    assert quantities_given(["ph"], "buffered at pH 7.4") and not quantities_given(["ph"], "the pH was read")
    # The word without a value, a value in another quantity's units, or letters after the unit.
    assert not quantities_given([TEMPERATURE], "the beer was held at cold temperatures for 2 weeks")
    assert not quantities_given([TEMPERATURE], "the laser source (532 nm) was split in two")
    assert not quantities_given([CONCENTRATION], "in 10 MM patients previously treated")
    assert not quantities_given([WEIGHT], "we found 10 genes")
    assert not quantities_given(["survival"], "survival at 37 °C")  # not a quantity's name


def test_the_focus_counts_a_value_in_its_units_as_its_name() -> None:
    sentence = "In addition, IQ-Anc showed optimal GDP binding at 49.4 °C."
    assert focus_match((TEMPERATURE,), set(stem(["optimal", "binding"])), sentence) == 1.0
    assert focus_match((TEMPERATURE,), set(), "GDP binding was measured with a filter assay.") == 0.0
    assert focus_match((), set(), sentence) == 0.0


def test_every_quantity_has_units() -> None:
    assert len(unit_patterns()) >= 10 and TEMPERATURE in unit_patterns()
