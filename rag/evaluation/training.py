"""`rag train`: fit the support model (rag/answer/support.py) on development suites.

Each development question is answered by the extractive composer; what the model learns is
whether the answer holds the gold answer (by the suite's own definition), from the signals
the composer chose the answer by. Questions of a `test` split are never fitted on: they are
scored by the model fitted on everything else and reported apart. Folds keep a suite's group
(an article, a document) together, so no figure comes from a document the model saw."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rag.answer.extractive import ExtractiveComposer
from rag.answer.support import FEATURES, FORMAT
from rag.documents import Answer
from rag.errors import ConfigurationError
from rag.evaluation.suites import Suite
from rag.pipeline import Pipeline

VERSION = "support-2"  # 2: cross-fitted answers (rag/evaluation/cross_fitting.py), suites weighted
FOLDS = 5
# The abstention threshold: the highest probability below which, out of fold, at least this
# share of the answers were wrong, while no more than MAX_ABSTAINED of the answers fall below.
# The share is a lower confidence bound (Wilson, one-sided, at PRECISION_CONFIDENCE), not the
# share seen: a dozen answers below a threshold measure it too loosely to choose on (12 of 14
# wrong is 0.86 seen, at least 0.65 at 95%): a refit on slightly different candidates once
# moved the threshold from 0 to 0.14 on such a dozen (docs/evaluation.md, "Support model").
ABSTAIN_PRECISION = 0.85
PRECISION_CONFIDENCE = 0.95
MAX_ABSTAINED = 0.02
THRESHOLDS = tuple(round(0.01 * i, 2) for i in range(51))
CALIBRATION_BINS = 10
CONFIGURED = "composed by the configured composer"  # how the answers learned from were composed, by default


@dataclass(frozen=True)
class Example:
    suite: str
    group: str
    held_out: bool
    """A question of a test split: scored, never fitted on."""
    features: dict[str, float]
    holds: bool


def examples(
    pipeline: Pipeline,
    suite: Suite,
    advance: Callable[[int], None] | None = None,
    composer_for: Callable[[str], ExtractiveComposer | None] | None = None,
) -> list[Example]:
    """Every question of `suite` that the composer answers, with what the model reads and
    whether the answer holds the gold answer (an answer to an unanswerable question never does).
    `composer_for`: a question's group -> the composer that answers it (None: the configured
    one; rag/evaluation/cross_fitting.py)."""
    settings, abbreviations = pipeline.settings.answer, pipeline.index.abbreviations
    configured = ExtractiveComposer(settings, abbreviations, score_support=False)
    judge = suite.holds or suite.answered
    found = []
    for item in suite.items:
        group = f"{suite.name}:{item.group}"
        composer = (composer_for(group) if composer_for is not None else None) or configured
        evidence = pipeline.evidence(item.question)
        composition = composer.compose(evidence)
        if advance is not None:
            advance(1)
        if composition.abstained or composition.support_features is None:
            continue
        answer = Answer(composition.answer, False, composition.citations, tuple(evidence.passages), {})
        holds = bool(judge(item, answer)) if item.answerable else False
        found.append(
            Example(
                suite.name,
                group,
                item.split == "test",
                composition.support_features,
                holds,
            )
        )
    return found


def fit(
    examples: Sequence[Example], *, seed: int = 0, answers: str = CONFIGURED
) -> tuple[dict[str, Any], str]:
    """The model's JSON form (rag/answer/support.py reads it) and a Markdown report of how it
    did out of fold. `answers`: how the answers were composed (recorded in the file; see
    rag/evaluation/cross_fitting.py)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    train = [e for e in examples if not e.held_out]
    held_out = [e for e in examples if e.held_out]
    x, y = _matrix(train), np.array([e.holds for e in train], dtype=int)
    groups = np.array([e.group for e in train])
    if len(set(groups)) < FOLDS or len(set(y.tolist())) < 2:
        raise ConfigurationError(
            f"too little to train on: {len(train)} answered questions from {len(set(groups))} documents "
            f"({int(y.sum())} right); need right and wrong answers from at least {FOLDS} documents"
        )

    # As the sentence ranker's: each answer of a suite of n weighs 1 / sqrt(n), so that COVID-QA,
    # most of the answers, does not set the probabilities the shipped corpus's answers get.
    sizes = Counter(e.suite for e in train)
    weight = np.array([1.0 / math.sqrt(sizes[e.suite]) for e in train])

    def fitted(rows: NDArray[np.int_]) -> tuple[StandardScaler, LogisticRegression]:
        scaler = StandardScaler().fit(x[rows])
        model = LogisticRegression(C=1.0, max_iter=5000, random_state=seed)
        return scaler, model.fit(scaler.transform(x[rows]), y[rows], sample_weight=weight[rows])

    out_of_fold = np.zeros(len(train))
    for rows, scored in GroupKFold(FOLDS).split(x, y, groups):
        scaler, model = fitted(rows)
        out_of_fold[scored] = model.predict_proba(scaler.transform(x[scored]))[:, 1]
    scaler, model = fitted(np.arange(len(train)))
    threshold = _threshold(out_of_fold, y)
    held_probability = (
        model.predict_proba(scaler.transform(_matrix(held_out)))[:, 1] if held_out else np.zeros(0)
    )
    measured = _measures(train, out_of_fold, held_out, held_probability, threshold)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "features": list(FEATURES),
        "mean": _floats(scaler.mean_),
        "scale": _floats(scaler.scale_),
        "coef": _floats(model.coef_[0]),
        "intercept": round(float(model.intercept_[0]), 6),
        "threshold": threshold,
        "trained_on": {
            suite: sum(e.suite == suite for e in train) for suite in dict.fromkeys(e.suite for e in train)
        },
        "label": "the answer holds the gold answer (COVID-QA: 60% of its tokens; gold, realdocs: every fact)",
        "weights": "each answer of a suite of n answers: 1 / sqrt(n)",
        "answers": answers,
        "threshold_rule": f"highest t with, out of fold, >= {ABSTAIN_PRECISION} of answers below t wrong "
        f"(the Wilson lower bound at {PRECISION_CONFIDENCE}) and <= {MAX_ABSTAINED} of answers below t",
        "measured": measured,
        "seed": seed,
    }
    return data, render(measured, threshold)


def _matrix(examples: Sequence[Example]) -> NDArray[np.float64]:
    return np.array([[e.features[name] for name in FEATURES] for e in examples], dtype=np.float64).reshape(
        len(examples), len(FEATURES)
    )


def _floats(values: NDArray[np.float64]) -> list[float]:
    return [round(float(v), 6) for v in values]


def _threshold(probability: NDArray[np.float64], holds: NDArray[np.int_]) -> float:
    best = 0.0
    for t in THRESHOLDS:
        below = probability < t
        if below.any() and below.mean() <= MAX_ABSTAINED:
            wrong = int(below.sum() - holds[below].sum())
            if _lower_bound(wrong, int(below.sum())) >= ABSTAIN_PRECISION:
                best = t
    return best


def _lower_bound(successes: int, trials: int) -> float:
    """The one-sided lower confidence bound of a share (Wilson score interval)."""
    from scipy.stats import binomtest

    # A two-sided interval at 1 - 2a has the one-sided bound at 1 - a as its lower end.
    interval = binomtest(successes, trials).proportion_ci(2 * PRECISION_CONFIDENCE - 1, method="wilson")
    return float(interval.low)


def _measures(
    train: Sequence[Example],
    out_of_fold: NDArray[np.float64],
    held_out: Sequence[Example],
    held_probability: NDArray[np.float64],
    threshold: float,
) -> list[dict[str, Any]]:
    """Per suite: discrimination (AUC), calibration (Brier, expected calibration error) and
    what the threshold abstains on; out of fold for fitted data, by the final model for held-out."""
    rows = []
    for held, group, probability in ((False, train, out_of_fold), (True, held_out, held_probability)):
        for suite in dict.fromkeys(e.suite for e in group):
            chosen = np.array([e.suite == suite for e in group])
            p, y = probability[chosen], np.array([e.holds for e in group], dtype=int)[chosen]
            below = p < threshold
            rows.append(
                {
                    "suite": suite + (" (test split)" if held else ""),
                    "answers": len(p),
                    "holds": round(float(y.mean()), 3),
                    "mean_probability": round(float(p.mean()), 3),
                    "auc": _auc(p, y),
                    "brier": round(float(np.mean((p - y) ** 2)), 3),
                    "calibration_error": _calibration_error(p, y),
                    "abstained": int(below.sum()),
                    "abstained_wrong": int((below & (y == 0)).sum()),
                }
            )
    return rows


def _auc(probability: NDArray[np.float64], y: NDArray[np.int_]) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, probability)), 3) if 0 < y.sum() < len(y) else None


def _calibration_error(probability: NDArray[np.float64], y: NDArray[np.int_]) -> float:
    """Expected calibration error over equal-width bins."""
    bins = np.minimum((probability * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    error = 0.0
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        if inside.any():
            error += inside.mean() * abs(probability[inside].mean() - y[inside].mean())
    return round(error, 3)


def render(measured: Sequence[dict[str, Any]], threshold: float) -> str:
    lines = [
        f"Support model: out of fold ({FOLDS} folds by document), test splits by the final model; "
        f"abstention threshold {threshold:.2f}.",
        "",
        "| suite | answers | holds | mean p | AUC | Brier | calibration error | abstained (wrong) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in measured:
        auc = "n/a" if m["auc"] is None else f"{m['auc']:.3f}"
        lines.append(
            f"| {m['suite']} | {m['answers']} | {m['holds']:.3f} | {m['mean_probability']:.3f} | {auc} | "
            f"{m['brier']:.3f} | {m['calibration_error']:.3f} | {m['abstained']} ({m['abstained_wrong']}) |"
        )
    return "\n".join(lines)


__all__ = ["Example", "examples", "fit"]
