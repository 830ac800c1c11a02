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

import rag.answer.extractive as answer_module
from rag.answer.extractive import Evidence, ExtractiveComposer
from rag.answer.features import Weights
from rag.evaluation.metrics import normalize
from rag.evaluation.runner import evaluate, load_gold
from rag.pipeline import Pipeline

FEATURES = [f.name for f in dataclasses.fields(Weights)]


def collect(pipeline: Pipeline, gold_path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    captured: dict[str, Evidence] = {}
    original = answer_module.ExtractiveComposer.compose

    def spy(self: ExtractiveComposer, evidence: Evidence) -> answer_module.Composition:
        captured["evidence"] = evidence
        return original(self, evidence)

    answer_module.ExtractiveComposer.compose = spy  # type: ignore[method-assign]
    rows, labels, groups = [], [], []
    try:
        for group, item in enumerate(load_gold(gold_path)):
            if not item.answerable or item.type == "list":
                continue
            pipeline.ask(item.question)
            evidence = captured["evidence"]
            if len(evidence.parts) != 1:
                continue
            candidates = ExtractiveComposer(
                pipeline.settings.answer, pipeline.index.abbreviations
            ).candidates(evidence)
            wanted = [normalize(e) for e in item.evidence]
            flags = [any(e in normalize(c.text) for e in wanted) for c in candidates]
            if not any(flags):
                continue
            for candidate, flag in zip(candidates, flags, strict=True):
                rows.append([getattr(candidate.features[0], name) for name in FEATURES])
                labels.append(float(flag))
                groups.append(group)
    finally:
        answer_module.ExtractiveComposer.compose = original  # type: ignore[method-assign]
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
    pipeline._composer = ExtractiveComposer(
        pipeline.settings.answer,
        pipeline.index.abbreviations,
        Weights(**dict(zip(FEATURES, fitted.round(2).tolist(), strict=True))),
    )
    metrics = evaluate(pipeline, load_gold(args.gold)).metrics
    print("with fitted weights:", {k: round(v, 3) for k, v in metrics.items() if not k.startswith("latency")})


if __name__ == "__main__":
    main()
