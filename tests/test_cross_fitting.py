"""The support model learns from answers composed as a new document would get them: by sentence
rankers that never saw the question's document (rag/evaluation/cross_fitting.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.ranking import FEATURES, load_sentence_ranker
from rag.answer.support import load_support_model
from rag.evaluation.cross_fitting import CROSS_FITTED, cross_fits, fold_rankers, refitted
from rag.evaluation.ranker_training import FOLDS, Question
from rag.settings import AnswerSettings
from rag.text.abbreviations import Abbreviations
from tests.support.cli import rag


def test_rankers_are_refitted_only_when_every_suite_they_learned_from_is_given() -> None:
    shipped = {"trained_on": {"covidqa": 957, "gold": 28, "realdocs": 32}}
    assert cross_fits(shipped, ["covidqa", "gold", "realdocs"])
    assert cross_fits(shipped, ["realdocs", "covidqa", "gold", "clinical"])
    # Your own questions in the gold format: the shipped ranker never saw their documents.
    assert not cross_fits(shipped, ["gold"])
    assert not cross_fits({}, ["gold"]) and not cross_fits({"trained_on": {}}, ["gold"])


def synthetic(documents: int) -> list[Question]:
    """One question per document; the candidate whose first feature is highest answers."""
    rng = np.random.default_rng(0)
    found = []
    for d in range(documents):
        rows = rng.random((6, len(FEATURES)))
        holds = rows[:, 0] == rows[:, 0].max()
        found.append(Question("gold", f"gold:doc{d}", False, rows, holds))
    found.append(Question("gold", "gold:held", True, rng.random((6, len(FEATURES))), np.ones(6, dtype=bool)))
    return found


def test_each_document_is_answered_by_the_ranker_of_the_fold_that_held_it_out(tmp_path: Path) -> None:
    found = synthetic(30)
    rankers = fold_rankers(found, tmp_path, seed=0)
    assert len(rankers.paths) == FOLDS
    # every document of the training questions in exactly one fold; a test split's in none
    assert set(rankers.fold_of) == {q.group for q in found if not q.held_out}
    sizes = [sum(fold == f for fold in rankers.fold_of.values()) for f in range(FOLDS)]
    assert sizes == [6] * FOLDS
    for fold, path in enumerate(rankers.paths):
        ranker = load_sentence_ranker(path)
        assert ranker.metadata["trained_on"] == {"gold": 30 - sizes[fold]}
    composer_for = rankers.composer_for(AnswerSettings(), Abbreviations({}))
    assert composer_for("gold:held") is None and composer_for("gold:unknown") is None
    first, second = composer_for("gold:doc0"), composer_for("gold:doc1")
    assert first is not None and second is not None
    assert (first is second) == (rankers.fold_of["gold:doc0"] == rankers.fold_of["gold:doc1"])
    # the same questions give the same rankers
    (tmp_path / "again").mkdir()
    again = fold_rankers(found, tmp_path / "again", seed=0)
    assert [p.read_bytes() for p in again.paths] == [p.read_bytes() for p in rankers.paths]


def test_too_few_documents_to_refit_the_ranker_leave_the_configured_one_and_say_why(tmp_path: Path) -> None:
    rankers, how = refitted(synthetic(6), tmp_path, seed=0)  # a fold of 2 of 6 documents leaves 4
    assert rankers is None
    assert how.startswith("composed by the configured composer (not cross-fitted: too little to train on")
    rankers, how = refitted(synthetic(30), tmp_path, seed=0)
    assert rankers is not None and how == CROSS_FITTED


@pytest.mark.integration
def test_rag_train_cross_fits_the_answers_of_the_suites_its_ranker_learned_from(
    tmp_path: Path, corpus_index: Path
) -> None:
    ranker = tmp_path / "ranker.json"
    done = rag("train", "--model", "ranker", "--suites", "gold", "--out", str(ranker), index=corpus_index)
    assert done.returncode == 0, done.stderr
    support = tmp_path / "support.json"
    env = {"RAG_ANSWER__SENTENCE_RANKER": str(ranker)}
    done = rag("train", "--suites", "gold", "--out", str(support), index=corpus_index, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(support.read_text())
    assert data["answers"] == CROSS_FITTED and "Answers each composed by" in done.stdout
    assert load_support_model(support).features and data["trained_on"].keys() == {"gold"}
    # The shipped ranker learned from COVID-QA and realdocs too: gold's answers are its own.
    plain = tmp_path / "plain.json"
    done = rag("train", "--suites", "gold", "--out", str(plain), index=corpus_index)
    assert done.returncode == 0, done.stderr
    assert json.loads(plain.read_text())["answers"] == "composed by the configured composer"
