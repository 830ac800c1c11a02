"""COVID-QA dev answered by sentence rankers that never saw the article (issue 16).

The shipped ranker (rag/answer/data/sentence-ranker.json) learned from every COVID-QA dev
article, so `rag eval --suite covidqa` scores it on articles it was fitted on. This script
gives the figure to report instead: COVID-QA dev's articles in FOLDS folds (by article); each
fold is answered through the whole pipeline by a ranker fitted on the other folds' articles
and the other training suites (gold tune half, realdocs), exactly as `rag train --model
ranker` fits one.

    .venv/bin/python eval/ranker_folds.py [--out eval/results/ranker-folds.json]

About 3 minutes on 2 cores once the suites' indexes are built. Seeded: the same inputs give
the same figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rag.evaluation.ranker_training import Question, fit, questions
from rag.evaluation.suite_runner import report, run_suite, suite_pipeline
from rag.evaluation.suites import load_suite
from rag.settings import Settings

FOLDS = 5
TRAINED_WITH = ("gold", "realdocs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("eval/results/ranker-folds.json"))
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/eval"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from sklearn.model_selection import GroupKFold

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
    items = list(covid.items)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        folds = GroupKFold(FOLDS).split(items, groups=[item.group for item in items])
        for fold, (_, scored) in enumerate(folds):
            unseen = {f"covidqa:{items[i].group}" for i in scored}
            model, _ = fit([q for q in found if q.group not in unseen], seed=args.seed)
            path = Path(scratch) / f"ranker-{fold}.json"
            path.write_text(json.dumps(model), encoding="utf-8")
            answer = settings.answer.model_copy(update={"sentence_ranker": path})
            pipeline = suite_pipeline(covid, settings.model_copy(update={"answer": answer}), args.cache)
            try:
                results += run_suite(pipeline, covid, [items[i] for i in scored])
                # every result so far: the last fold's report holds them all
                rep = report(
                    covid, results, pipeline, {"folds": FOLDS, "seed": args.seed, "cross_fitted": True}
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
