"""Near misses in a field without names to check: each COVID-QA dev question asked with its own
article left out (issue 16; docs/evaluation.md, "Near misses outside the shipped corpus").

The shipped corpus declines most near misses by its topic checks (a drug, disease or study the
documents never name). COVID-QA's articles are on the same few viruses, so a question whose
article is missing meets passages on its topic that do not answer it: what a user of a new
field meets when the paper that answers is not in the collection. This script asks every
question twice, with its article and without it (`doc_ids` = the other articles), and reports
how often the service declines each and what the support probability says about them.

    .venv/bin/python eval/near_misses.py [--out eval/results/near-misses.json]

About 2 minutes on 2 cores once the COVID-QA index is built (`rag eval --suite covidqa`).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from rag.documents import Answer
from rag.evaluation.suite_runner import suite_pipeline
from rag.evaluation.suites import Suite, SuiteItem, load_suite
from rag.pipeline import Pipeline
from rag.settings import Settings

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)


def outcome(suite: Suite, item: SuiteItem, answer: Answer) -> dict[str, Any]:
    """Whether the answer was declined, whether it holds the gold answer (the support model's
    label: whatever its length), and the support probability."""
    judge = suite.holds or suite.answered
    return {
        "abstained": answer.abstained,
        "holds": (not answer.abstained) and bool(judge(item, answer)),
        "probability": answer.support.probability if answer.support is not None else None,
    }


def ask_both(pipeline: Pipeline, suite: Suite) -> list[dict[str, Any]]:
    articles = sorted({item.group for item in suite.items})
    rows = []
    for item in suite.items:
        others = [doc for doc in articles if doc != item.group]
        rows.append(
            {
                "id": item.id,
                "article": item.group,
                "with": outcome(suite, item, pipeline.ask(item.question)),
                "without": outcome(suite, item, pipeline.ask(item.question, doc_ids=others)),
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    present = [r["with"] for r in rows]
    missing = [r["without"] for r in rows]
    scored_right = [o["probability"] for o in present if o["holds"] and o["probability"] is not None]
    scored_wrong = [o["probability"] for o in missing if not o["holds"] and o["probability"] is not None]
    # At each threshold: the near misses it would decline (of those answered wrongly), and the
    # right answers with the article present it would cost (of all questions: false abstention).
    below = {
        str(t): {
            "near_misses_declined": sum(p < t for p in scored_wrong) / max(1, len(scored_wrong)),
            "false_abstention_added": sum(p < t for p in scored_right) / n,
        }
        for t in THRESHOLDS
    }
    return {
        "questions": n,
        "with_article": {
            "declined": sum(o["abstained"] for o in present) / n,
            "holds": sum(o["holds"] for o in present) / n,
            "mean_probability": statistics.mean(scored_right) if scored_right else None,
        },
        "without_article": {
            "declined": sum(o["abstained"] for o in missing) / n,
            "holds": sum(o["holds"] for o in missing) / n,
            "mean_probability": statistics.mean(scored_wrong) if scored_wrong else None,
        },
        "support_threshold": below,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("eval/results/near-misses.json"))
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/eval"))
    args = parser.parse_args()

    suite = load_suite("covidqa", gold=args.gold, data_dir=args.data)
    pipeline = suite_pipeline(suite, Settings(), args.cache)
    try:
        rows = ask_both(pipeline, suite)
    finally:
        pipeline.close()
    s = summary(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": s, "items": rows}, indent=1) + "\n", encoding="utf-8")
    print(
        f"COVID-QA dev, {s['questions']} questions: with the article declined "
        f"{s['with_article']['declined']:.3f}, holds {s['with_article']['holds']:.3f}; "
        f"without it declined {s['without_article']['declined']:.3f}, "
        f"holds {s['without_article']['holds']:.3f}"
    )
    for t, at in s["support_threshold"].items():
        print(
            f"  support below {t}: declines {at['near_misses_declined']:.3f} of the wrong near-miss answers, "
            f"adds {at['false_abstention_added']:.3f} false abstention"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
