"""`rag train --model ranker`: fit the sentence ranker (rag/answer/ranking.py) on development
suites.

For each development question the composer's best RANKED sentences (by hand-set score) are
each rendered as the answer alone; the label is whether that answer holds the gold answer by
the suite's own definition. The model is sklearn's histogram gradient boosting, seeded, its
trees written out as arrays (no pickle). Questions of a `test` split are never fitted on;
folds keep a suite's group (an article, a document) together, so every out-of-fold figure
comes from documents the model did not see.

Weights: each question of a suite of n questions weighs 1 / sqrt(n), so the large COVID-QA
set does not drown the small ones (the shipped corpus's paraphrased questions) and the small
ones, a few dozen questions each, do not dominate either."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rag.answer.composition import Composition
from rag.answer.extractive import ExtractiveComposer
from rag.answer.ranking import FEATURES, FORMAT, RANKED, ranking_features
from rag.documents import Answer
from rag.errors import ConfigurationError
from rag.evaluation.suites import Suite
from rag.pipeline import Pipeline

VERSION = "ranker-2"  # 2: the longest run of the question's words (run, run_gap, best_run)
FOLDS = 5
BOOSTING = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 40}


@dataclass(frozen=True)
class Question:
    suite: str
    group: str
    held_out: bool
    """A question of a test split: scored, never fitted on."""
    rows: NDArray[np.float64]
    """One row of FEATURES per candidate sentence, best hand-set score first."""
    holds: NDArray[np.bool_]
    """Whether each candidate, quoted alone, holds the gold answer."""


def questions(
    pipeline: Pipeline, suite: Suite, advance: Callable[[int], None] | None = None
) -> list[Question]:
    """Every answerable question of `suite` whose answer the ranker would choose (one part, not
    a list) and that reaches candidate sentences."""
    settings = pipeline.settings.answer.model_copy(update={"rank_sentences": False})
    composer = ExtractiveComposer(settings, pipeline.index.abbreviations, score_support=False)
    judge = suite.holds or suite.answered
    found = []
    for item in suite.items:
        if advance is not None:
            advance(1)
        if not item.answerable:
            continue
        evidence = pipeline.evidence(item.question)
        pool = composer.pool(evidence)
        if isinstance(pool, Composition) or not composer.rankable(evidence):
            continue
        head = pool[:RANKED]
        holds = []
        for candidate in head:
            alone = composer.render_alone(candidate, pool, evidence)
            answer = Answer(alone.answer, False, alone.citations, tuple(evidence.passages), {})
            holds.append(bool(judge(item, answer)))
        found.append(
            Question(
                suite.name,
                f"{suite.name}:{item.group}",
                item.split == "test",
                ranking_features(head, evidence, composer.analyzer),
                np.array(holds, dtype=bool),
            )
        )
    return found


def _boosting(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**BOOSTING, early_stopping=False, random_state=seed)


def fit(found: Sequence[Question], *, seed: int = 0) -> tuple[dict[str, Any], str]:
    """The ranker's JSON form (rag/answer/ranking.py reads it) and a Markdown report: per suite,
    the share of questions whose first sentence holds the answer, by hand-set score and by the
    ranker (out of fold; test splits by the final model)."""
    from sklearn.model_selection import GroupKFold

    train = [q for q in found if not q.held_out]
    held_out = [q for q in found if q.held_out]
    sizes = {s: sum(q.suite == s for q in train) for s in dict.fromkeys(q.suite for q in train)}
    x = np.vstack([q.rows for q in train]) if train else np.zeros((0, len(FEATURES)))
    y = np.concatenate([q.holds for q in train]).astype(int) if train else np.zeros(0, dtype=int)
    owner = np.concatenate([np.full(len(q.holds), n) for n, q in enumerate(train)]) if train else np.zeros(0)
    weight = np.array([1.0 / math.sqrt(sizes[train[int(n)].suite]) for n in owner])
    groups = np.array([train[int(n)].group for n in owner])
    if len(set(groups.tolist())) < FOLDS or len(set(y.tolist())) < 2:
        raise ConfigurationError(
            f"too little to train on: {len(train)} questions from {len(set(groups.tolist()))} documents "
            f"({int(y.sum())} sentences that answer); need answering and other sentences from at least "
            f"{FOLDS} documents"
        )
    out_of_fold = np.zeros(len(y))
    for rows, scored in GroupKFold(FOLDS).split(x, y, groups):
        model = _boosting(seed).fit(x[rows], y[rows], sample_weight=weight[rows])
        out_of_fold[scored] = model.decision_function(x[scored])
    model = _boosting(seed).fit(x, y, sample_weight=weight)
    measured = _measures(train, out_of_fold, owner, held_out, model)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "features": list(FEATURES),
        **trees_of(model),
        "trained_on": sizes,
        "label": "the sentence, quoted alone, holds the gold answer (COVID-QA: 60% of its tokens; "
        "gold, realdocs: every fact)",
        "weights": "each question of a suite of n questions: 1 / sqrt(n)",
        "boosting": BOOSTING,
        "measured": measured,
        "seed": seed,
    }
    return data, render(measured)


def trees_of(model: Any) -> dict[str, Any]:
    """A fitted HistGradientBoostingClassifier's trees as plain arrays: rag/answer/ranking.py
    evaluates them exactly as sklearn does (a value <= a node's threshold goes left)."""
    trees = []
    depth = 1
    for (predictor,) in model._predictors:  # one tree per iteration for a binary target
        nodes = predictor.nodes
        depth = max(depth, int(nodes["depth"].max()))
        trees.append(
            {
                "feature": [int(v) for v in nodes["feature_idx"]],
                "threshold": [_finite(v) for v in nodes["num_threshold"]],
                "left": [int(v) for v in nodes["left"]],
                "right": [int(v) for v in nodes["right"]],
                "value": [round(float(v), 9) for v in nodes["value"]],
                "is_leaf": [bool(v) for v in nodes["is_leaf"]],
            }
        )
    return {"trees": trees, "depth": depth, "baseline": float(np.ravel(model._baseline_prediction)[0])}


def _finite(value: float) -> float:
    """A leaf's threshold is unused and may be infinite; JSON has no infinity."""
    return float(value) if math.isfinite(value) else 0.0


def _measures(
    train: Sequence[Question],
    out_of_fold: NDArray[np.float64],
    owner: NDArray[Any],
    held_out: Sequence[Question],
    model: Any,
) -> list[dict[str, Any]]:
    rows = []
    logits = [out_of_fold[owner == n] for n in range(len(train))]
    for held, group, scores in (
        (False, train, logits),
        (True, held_out, [model.decision_function(q.rows) for q in held_out]),
    ):
        for suite in dict.fromkeys(q.suite for q in group):
            chosen = [(q, s) for q, s in zip(group, scores, strict=True) if q.suite == suite]
            rows.append(
                {
                    "suite": suite + (" (test split)" if held else ""),
                    "questions": len(chosen),
                    "any_holds": round(float(np.mean([q.holds.any() for q, _ in chosen])), 3),
                    "hand_first_holds": round(float(np.mean([q.holds[0] for q, _ in chosen])), 3),
                    "ranker_first_holds": round(
                        float(np.mean([q.holds[int(np.argmax(s))] for q, s in chosen])), 3
                    ),
                }
            )
    return rows


def render(measured: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"Sentence ranker: share of questions whose first sentence holds the answer; out of fold "
        f"({FOLDS} folds by document), test splits by the final model.",
        "",
        f"| suite | questions | any of the best {RANKED} holds | hand-set first | ranker first |",
        "|---|---|---|---|---|",
    ]
    for m in measured:
        lines.append(
            f"| {m['suite']} | {m['questions']} | {m['any_holds']:.3f} | {m['hand_first_holds']:.3f} | "
            f"{m['ranker_first_holds']:.3f} |"
        )
    return "\n".join(lines)


__all__ = ["Question", "fit", "questions", "trees_of"]
