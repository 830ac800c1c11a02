"""COVID-QA dev answered by sentence rankers that never saw the article (issue 16).

The shipped ranker (rag/answer/data/sentence-ranker.json) learned from every COVID-QA dev
article, so `rag eval --suite covidqa` scores it on articles it was fitted on. This script
gives the figure to report instead: each COVID-QA dev question is answered through the whole
pipeline by the ranker of the fold that held its article out, the same rankers `rag train`
composes the support model's answers with (rag/evaluation/cross_fitting.py: 5 folds by
document over COVID-QA dev, the gold tune half and realdocs, each ranker fitted exactly as
`rag train --model ranker` fits one).

    .venv/bin/python eval/ranker_folds.py [--out eval/results/ranker-folds.json] [--leave-out 5]

About 2 minutes on 2 cores once the suites' indexes are built. Seeded: the same inputs give
the same figures.

`--leave-out n` also gives the figure again n times, each time with one development question
of the other suites (gold tune, realdocs; drawn with `--seed`) left out of the rankers'
training: how much a refit moves the figure by itself. A change that alters a few training
candidates moves it as much as leaving one question out (docs/evaluation.md, "Table rows"),
so a difference between two versions of the code has to be larger than this spread to count.
About 90 seconds more a figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

from rag.evaluation.cross_fitting import fold_rankers
from rag.evaluation.ranker_training import Question, questions
from rag.evaluation.suite_runner import SuiteResult, report, run_suite, suite_pipeline
from rag.evaluation.suites import Suite, load_suite
from rag.settings import Settings

TRAINED_WITH = ("gold", "realdocs")


def cross_fitted(found: list[Question], covid: Suite, settings: Settings, cache: Path, seed: int) -> Any:
    """COVID-QA dev's report, each article answered by the ranker of the fold that held it out."""
    results: list[SuiteResult] = []
    with tempfile.TemporaryDirectory() as scratch:
        rankers = fold_rankers(found, Path(scratch), seed=seed)
        for fold, path in enumerate(rankers.paths):
            # An article none of whose questions the ranker chooses for is answered in fold 0.
            scored = [i for i in covid.items if rankers.fold_of.get(f"covidqa:{i.group}", 0) == fold]
            answer = settings.answer.model_copy(update={"sentence_ranker": path})
            pipeline = suite_pipeline(covid, settings.model_copy(update={"answer": answer}), cache)
            try:
                results += run_suite(pipeline, covid, scored)
                # every result so far: the last fold's report holds them all
                meta = {"folds": len(rankers.paths), "seed": seed, "cross_fitted": True}
                rep = report(covid, results, pipeline, meta)
            finally:
                pipeline.close()
    return rep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("eval/results/ranker-folds.json"))
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/eval"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--leave-out", type=int, default=0, help="refit this many times, one training question fewer each"
    )
    args = parser.parse_args()

    settings = Settings()
    collecting = settings.model_copy(
        update={"answer": settings.answer.model_copy(update={"rank_sentences": False})}
    )
    covid = load_suite("covidqa", gold=args.gold, data_dir=args.data)
    found: list[Question] = []
    for name in ("covidqa", *TRAINED_WITH):
        suite = covid if name == "covidqa" else load_suite(name, gold=args.gold, data_dir=args.data)
        pipeline = suite_pipeline(suite, collecting, args.cache)
        try:
            found += questions(pipeline, suite)
        finally:
            pipeline.close()
    rep = cross_fitted(found, covid, settings, args.cache, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rep, indent=1) + "\n", encoding="utf-8")
    metrics = rep["metrics"]["all"]
    print(
        "COVID-QA dev, each article answered by a ranker that never saw it: "
        + ", ".join(f"{k} {metrics[k]:.3f}" for k in ("hit@1", "cited", "answered", "false_abstention"))
        + f", median {metrics['answer_chars_median']:.0f} characters"
    )
    print(f"wrote {args.out}")
    if args.leave_out:
        others = [n for n, q in enumerate(found) if q.suite != "covidqa" and not q.held_out]
        answered = [float(metrics["answered"])]
        for leave in random.Random(args.seed).sample(others, min(args.leave_out, len(others))):
            fewer = [q for n, q in enumerate(found) if n != leave]
            figures = cross_fitted(fewer, covid, settings, args.cache, args.seed)["metrics"]["all"]
            answered.append(float(figures["answered"]))
            print(
                f"a question on {found[leave].group} left out: answered {figures['answered']:.3f}, "
                f"cited {figures['cited']:.3f}",
                flush=True,
            )
        print(
            f"answered over {len(answered)} fits: mean {statistics.mean(answered):.3f}, "
            f"range {min(answered):.3f}-{max(answered):.3f}"
        )


if __name__ == "__main__":
    main()
