"""Fit the sentence-scoring weights (rag.answer.features.Weights) on the gold set.

For every answerable single-part question, each candidate sentence of its retrieved passages
is a row of features; the sentences holding the gold evidence are the positives. Weights are
fitted to rank a positive first (a listwise softmax loss, weights kept non-negative and
normalized to sum to 1), then the whole gold set is evaluated with them.

    .venv/bin/python eval/tune.py [--gold eval/gold.jsonl]

The fit is a calibration on our own questions: keep the result only if the held-out half
(printed as "2-fold") agrees, and prefer round numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from rag.answer.extractive import ExtractiveComposer
from rag.answer.features import Weights
from rag.evaluation.metrics import normalize
from rag.evaluation.runner import evaluate, load_gold
from rag.pipeline import Pipeline

FEATURES = [f.name for f in dataclasses.fields(Weights)]


def collect(pipeline: Pipeline, gold_path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    composer = ExtractiveComposer(pipeline.settings.answer, pipeline.index.abbreviations)
    rows, labels, groups = [], [], []
    for group, item in enumerate(load_gold(gold_path)):
        if not item.answerable or item.type == "list":
            continue
        evidence = pipeline.evidence(item.question)  # as pipeline.ask builds it
        if len(evidence.parts) != 1:
            continue
        candidates = composer.candidates(evidence)
        wanted = [normalize(e) for e in item.evidence]
        flags = [any(e in normalize(c.text) for e in wanted) for c in candidates]
        if not any(flags):
            continue
        for candidate, flag in zip(candidates, flags, strict=True):
            rows.append([getattr(candidate.features[0], name) for name in FEATURES])
            labels.append(float(flag))
            groups.append(group)
    return np.array(rows), np.array(labels), np.array(groups)


def fit(x: np.ndarray, y: np.ndarray, groups: np.ndarray, steps: int = 2000) -> np.ndarray:
    weights = np.zeros(x.shape[1])
    for _ in range(steps):
        gradient = np.zeros_like(weights)
        for group in np.unique(groups):
            mask = groups == group
            scores = x[mask] @ weights * 10
            probabilities = np.exp(scores - scores.max())
            probabilities /= probabilities.sum()
            positive = y[mask] > 0
            target = probabilities * positive / probabilities[positive].sum()
            gradient -= 10 * (target - probabilities) @ x[mask]
        weights = np.maximum(weights - 0.5 * gradient / len(np.unique(groups)), 0.0)
    return weights / weights.sum()


def top1(x: np.ndarray, y: np.ndarray, groups: np.ndarray, weights: np.ndarray, keep: set[int]) -> str:
    hits = sum(y[groups == g][np.argmax(x[groups == g] @ weights)] for g in keep)
    return f"{int(hits)}/{len(keep)}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    args = parser.parse_args()
    pipeline = Pipeline.load()
    x, y, groups = collect(pipeline, args.gold)
    everything = set(np.unique(groups).tolist())
    current = np.array([getattr(Weights(), name) for name in FEATURES])
    fitted = fit(x, y, groups)
    print(
        "current weights:",
        dict(zip(FEATURES, current.round(3), strict=True)),
        "top-1",
        top1(x, y, groups, current, everything),
    )
    print(
        "fitted weights: ",
        dict(zip(FEATURES, fitted.round(3), strict=True)),
        "top-1",
        top1(x, y, groups, fitted, everything),
    )
    order = np.random.default_rng(0).permutation(sorted(everything))
    halves = [set(order[: len(order) // 2].tolist()), set(order[len(order) // 2 :].tolist())]
    for train, test in (halves, halves[::-1]):
        mask = np.isin(groups, list(train))
        half = fit(x[mask], y[mask], groups[mask], steps=1000)
        print(
            "2-fold:",
            dict(zip(FEATURES, half.round(2), strict=True)),
            "held-out top-1",
            top1(x, y, groups, half, test),
        )
    weights = Weights(**dict(zip(FEATURES, fitted.round(2).tolist(), strict=True)))
    refitted = Pipeline(
        pipeline.settings,
        pipeline.embedder,
        pipeline.index,
        composer=lambda index: ExtractiveComposer(pipeline.settings.answer, index.abbreviations, weights),
    )
    metrics = evaluate(refitted, load_gold(args.gold)).metrics
    print("with fitted weights:", {k: round(v, 3) for k, v in metrics.items() if not k.startswith("latency")})


if __name__ == "__main__":
    main()
