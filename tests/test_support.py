"""The support model: how likely an extractive answer holds what was asked. Its file format
(what a user may hand us), the shipped artifact, the composer's use of it (probability and
abstention) and `rag train` fitting one on the real gold suite."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.answer.extractive import ExtractiveComposer
from rag.answer.support import FEATURES, SHIPPED_MODEL, load_support_model, model_from_json
from rag.errors import ConfigurationError
from rag.evaluation.suites import gold_suite
from rag.evaluation.training import Example, examples, fit
from rag.pipeline import Pipeline
from tests.conftest import GOLD, QUESTION
from tests.support.cli import rag


def tiny_model(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": "rag-support-model/1",
        "version": "test",
        "features": ["score", "words"],
        "mean": [0.5, 0.5],
        "scale": [0.1, 0.2],
        "coef": [2.0, -1.0],
        "intercept": 0.25,
        "threshold": 0.1,
    }
    return {**data, **changes}


def test_the_probability_is_the_logistic_of_the_scaled_features() -> None:
    model = model_from_json(tiny_model(), "ab" * 32, "test")
    z = 0.25 + 2.0 * (0.7 - 0.5) / 0.1 - 1.0 * (0.1 - 0.5) / 0.2
    assert model.probability({"score": 0.7, "words": 0.1}) == pytest.approx(1 / (1 + math.exp(-z)))
    assert model.name == "test@" + "ab" * 6 and model.threshold == 0.1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"format": "something-else/1"}, "format"),
        ({"features": ["score", "shoe_size"]}, "unknown features"),
        ({"coef": [1.0]}, "one value per feature"),
        ({"scale": [0.1, 0.0]}, "scales positive"),
        ({"mean": [0.5, float("nan")]}, "finite"),
        ({"threshold": 1.5}, "threshold"),
        ({"intercept": None}, "intercept"),
    ],
)
def test_a_bad_model_file_is_named_with_what_to_do(change: dict[str, Any], named: str) -> None:
    data = tiny_model(**change)
    if change.get("intercept", 0) is None:
        del data["intercept"]
    with pytest.raises(ConfigurationError, match=named) as raised:
        model_from_json(data, "0" * 64, "my-model.json")
    assert "my-model.json" in str(raised.value) and "rag train" in str(raised.value)


def test_unreadable_files_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_support_model(tmp_path / "missing.json")
    (tmp_path / "garbled.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not JSON"):
        load_support_model(tmp_path / "garbled.json")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not a support model"):
        load_support_model(tmp_path / "list.json")


def test_the_shipped_model_reads_every_feature_and_says_how_it_was_measured() -> None:
    model = load_support_model(SHIPPED_MODEL)
    assert model.features == FEATURES
    assert 0.0 <= model.threshold <= 0.5
    suites = {m["suite"] for m in model.metadata["measured"]}
    assert {"covidqa", "gold", "gold (test split)"} <= suites  # the test half is scored, not fitted
    assert set(model.metadata["trained_on"]) == {"covidqa", "gold", "realdocs"}


@pytest.mark.integration
def test_answers_carry_the_probability_and_abstain_below_the_threshold(pipeline: Pipeline) -> None:
    answer = pipeline.ask(QUESTION)
    assert answer.support is not None and answer.support.model == load_support_model().name
    assert 0.0 < answer.support.probability < 1.0
    evidence = pipeline.evidence(QUESTION)
    settings = pipeline.settings.answer
    strict = ExtractiveComposer(
        settings.model_copy(update={"min_support_probability": 1.0}), pipeline.index.abbreviations
    )
    refused = strict.compose(evidence)
    assert refused.abstained and refused.reason is not None and refused.reason.startswith("unlikely support")
    never = ExtractiveComposer(
        settings.model_copy(update={"min_support_probability": 0.0}), pipeline.index.abbreviations
    )
    assert never.compose(evidence).support == answer.support


@pytest.mark.integration
def test_fitting_on_the_gold_suite_is_reproducible_and_keeps_the_test_half_out(pipeline: Pipeline) -> None:
    found = examples(pipeline, gold_suite(GOLD))
    assert {e.held_out for e in found} == {True, False}
    assert all(set(e.features) == set(FEATURES) for e in found)
    first, report = fit(found, seed=0)
    assert fit(found, seed=0)[0] == first
    model = model_from_json(first, "0" * 64, "fitted")
    assert model.metadata["trained_on"] == {"gold": sum(not e.held_out for e in found)}
    test_row = next(m for m in first["measured"] if m["suite"] == "gold (test split)")
    assert test_row["answers"] == sum(e.held_out for e in found)
    assert "| gold (test split) |" in report
    for e in found[:5]:
        assert 0.0 < model.probability(e.features) < 1.0


def test_the_abstention_threshold_needs_its_precision_measured_on_enough_answers() -> None:
    from rag.evaluation.training import _threshold

    right = np.full(990, 0.6)

    def threshold(wrong: int, also_right: int = 0) -> float:
        # `wrong` wrong answers and `also_right` right ones at 0.03, the rest right at 0.6.
        probability = np.concatenate([right, np.full(wrong + also_right, 0.03)])
        holds = np.concatenate([np.ones(990, int), np.zeros(wrong, int), np.ones(also_right, int)])
        return _threshold(probability, holds)

    # One wrong answer at 0.03 alone would make any threshold above it one of perfect precision.
    assert threshold(1) == 0.0
    # 12 of 14 wrong is 0.86 seen, but at least 0.65 at 95% confidence: not enough for 0.85.
    assert threshold(12, also_right=2) == 0.0
    # 10 of 10 wrong: at least 0.79; 16 of 16: at least 0.855, which the rule takes.
    assert threshold(10) == 0.0
    assert threshold(16) == 0.5  # the highest the rule considers


def test_each_suite_weighs_by_the_square_root_of_its_size() -> None:
    # The same signals, a large suite where 30% of the answers hold and a small one where 90% do:
    # unweighted the probability would follow the large suite (about 0.32); each answer of a
    # suite of n weighing 1 / sqrt(n), 900 answers count as 30 and 36 as 6: about 0.40.
    rng = np.random.default_rng(0)
    found = [
        Example(suite, f"{suite}:d{i % 10}", False, {f: float(rng.normal()) for f in FEATURES}, bool(holds))
        for suite, n, share in (("covidqa", 900, 0.3), ("gold", 36, 0.9))
        for i, holds in enumerate(rng.random(n) < share)
    ]
    data, _ = fit(found)
    assert data["weights"] == "each answer of a suite of n answers: 1 / sqrt(n)"
    model = model_from_json(data, "0" * 64, "fitted")
    typical = dict.fromkeys(FEATURES, 0.0)
    assert model.probability(typical) == pytest.approx(0.40, abs=0.04)


def test_too_little_to_train_on_is_a_clear_error() -> None:
    few = [
        Example("gold", f"gold:d{i % 2}", False, dict.fromkeys(FEATURES, float(i)), i % 2 == 0)
        for i in range(10)
    ]
    with pytest.raises(ConfigurationError, match="too little to train on"):
        fit(few)


@pytest.mark.integration
def test_rag_train_writes_a_model_the_service_can_load(tmp_path: Path, corpus_index: Path) -> None:
    out = tmp_path / "support.json"
    done = rag("train", "--suites", "gold", "--out", str(out), index=corpus_index)
    assert done.returncode == 0, done.stderr
    assert "| gold (test split) |" in done.stdout
    model = load_support_model(out)
    assert model.features == FEATURES and json.loads(out.read_text())["trained_on"].keys() == {"gold"}
    refused = rag("train", "--suites", "pubmedqa", "--out", str(out), index=corpus_index)
    assert refused.returncode == 2 and "suites to train on" in refused.stderr
