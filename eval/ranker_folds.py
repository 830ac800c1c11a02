"""COVID-QA dev answered by sentence rankers that never saw the article (issue 16).

The shipped ranker (rag/answer/data/sentence-ranker.json) learned from every COVID-QA dev
article, so `rag eval --suite covidqa` scores it on articles it was fitted on. This script
gives the figure to report instead: each COVID-QA dev question is answered through the whole
pipeline by the ranker of the fold that held its article out, the same rankers `rag train`
composes the support model's answers with (rag/evaluation/cross_fitting.py: 5 folds by
document over COVID-QA dev, the gold tune half and realdocs, each ranker fitted exactly as
`rag train --model ranker` fits one).

    .venv/bin/python eval/ranker_folds.py [--out eval/results/ranker-folds.json]

About 2 minutes on 2 cores once the suites' indexes are built. Seeded: the same inputs give
the same figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rag.evaluation.cross_fitting import fold_rankers
from rag.evaluation.ranker_training import Question, questions
from rag.evaluation.suite_runner import SuiteResult, report, run_suite, suite_pipeline
from rag.evaluation.suites import load_suite
from rag.settings import Settings

TRAINED_WITH = ("gold", "realdocs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("eval/results/ranker-folds.json"))
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/eval"))
    parser.add_argument("--seed", type=int, default=0)
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
    results: list[SuiteResult] = []
    with tempfile.TemporaryDirectory() as scratch:
        rankers = fold_rankers(found, Path(scratch), seed=args.seed)
        for fold, path in enumerate(rankers.paths):
            # An article none of whose questions the ranker chooses for is answered in fold 0.
            scored = [i for i in covid.items if rankers.fold_of.get(f"covidqa:{i.group}", 0) == fold]
            answer = settings.answer.model_copy(update={"sentence_ranker": path})
            pipeline = suite_pipeline(covid, settings.model_copy(update={"answer": answer}), args.cache)
            try:
                results += run_suite(pipeline, covid, scored)
                # every result so far: the last fold's report holds them all
                rep = report(
                    covid,
                    results,
                    pipeline,
                    {"folds": len(rankers.paths), "seed": args.seed, "cross_fitted": True},
                )
            finally:
                pipeline.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rep, indent=1) + "\n", encoding="utf-8")
    metrics = rep["metrics"]["all"]
    print(
        "COVID-QA dev, each article answered by a ranker that never saw it: "
        + ", ".join(f"{k} {metrics[k]:.3f}" for k in ("hit@1", "cited", "answered", "false_abstention"))
        + f", median {metrics['answer_chars_median']:.0f} characters"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
