"""How much the sentence rankers' refit moves cross-fitted COVID-QA by itself (issue 16).

`eval/ranker_folds.py` answers each COVID-QA dev question with a ranker that never saw its
article. This script gives that figure once with every training question, then once for each
of `--questions` development questions of the other suites (gold tune, realdocs) left out of
the rankers' training, drawn at random with `--seed`. The spread says how large a difference
between two versions of the code has to be before it is more than a refit's chance: a change
that alters a few training candidates moves the figure as much as leaving one question out.

    .venv/bin/python eval/refit_noise.py [--questions 5] [--seed 0]

About 90 seconds a figure on 2 cores once the suites' indexes are built.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

from rag.evaluation.cross_fitting import fold_rankers
from rag.evaluation.ranker_training import Question, questions
from rag.evaluation.suite_runner import SuiteResult, report, run_suite, suite_pipeline
from rag.evaluation.suites import Suite, load_suite
from rag.settings import Settings

TRAINED_WITH = ("gold", "realdocs")


def cross_fitted(found: list[Question], covid: Suite, settings: Settings, cache: Path) -> dict[str, float]:
    """COVID-QA dev's metrics, each article answered by the ranker of the fold that held it out."""
    results: list[SuiteResult] = []
    with tempfile.TemporaryDirectory() as scratch:
        rankers = fold_rankers(found, Path(scratch))
        for fold, path in enumerate(rankers.paths):
            scored = [i for i in covid.items if rankers.fold_of.get(f"covidqa:{i.group}", 0) == fold]
            answer = settings.answer.model_copy(update={"sentence_ranker": path})
            pipeline = suite_pipeline(covid, settings.model_copy(update={"answer": answer}), cache)
            try:
                results += run_suite(pipeline, covid, scored)
                metrics = report(covid, results, pipeline, {})["metrics"]["all"]
            finally:
                pipeline.close()
    return {k: float(metrics[k]) for k in ("answered", "cited")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=5, help="how many to leave out, one at a time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/eval"))
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
    others = [n for n, q in enumerate(found) if q.suite != "covidqa" and not q.held_out]
    left_out = random.Random(args.seed).sample(others, min(args.questions, len(others)))
    answered = []
    for leave in (None, *left_out):
        metrics = cross_fitted([q for n, q in enumerate(found) if n != leave], covid, settings, args.cache)
        answered.append(metrics["answered"])
        what = "nothing" if leave is None else f"a question on {found[leave].group}"
        figures = f"answered {metrics['answered']:.3f}, cited {metrics['cited']:.3f}"
        print(f"left out {what}: {figures}", flush=True)
    print(
        f"answered: mean {statistics.mean(answered):.3f}, range {min(answered):.3f}-{max(answered):.3f} "
        f"over {len(answered)} fits"
    )


if __name__ == "__main__":
    main()
