"""The generative composer against the extractive one, from `rag eval --suite ... --mode` reports.

    .venv/bin/python eval/generative_report.py --generative G1.json [G2.json ...] \\
        --extractive E1.json [E2.json ...] --out eval/results/generative-smollm2.json

Each argument is a `suite-<name>.json` that `rag eval --out DIR` wrote; the parts of a long run
(`--offset`) are merged by suite. Prints the comparison as Markdown and writes one JSON with
the figures of both composers and every generative answer. It also scores the model's own text
before verification by the suite's `answered` (`unverified_answered`), beside the extractive
composer's on the same questions: what verification costs or spares.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rag.documents import Answer
from rag.evaluation.suite_runner import result_from_json, summaries
from rag.evaluation.suites import Suite, load_suite

FIGURES = ("questions", "answered", "cited", "false_abstention", "answer_chars_median", "latency_p50_ms")


def merged(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Reports by suite, the parts of one suite joined (their questions must not overlap)."""
    suites: dict[str, dict[str, Any]] = {}
    for path in paths:
        report = json.loads(path.read_text(encoding="utf-8"))
        into = suites.setdefault(report["suite"], {"meta": report["meta"], "parts": [], "items": []})
        into["parts"].append(report["meta"].get("selection"))
        into["items"].extend(report["items"])
    for name, suite in suites.items():
        ids = [item["id"] for item in suite["items"]]
        if len(set(ids)) != len(ids):
            raise SystemExit(f"{name}: the parts ask some questions twice")
        metrics, generation = summaries([result_from_json(item) for item in suite["items"]])
        suite |= {"metrics": metrics, "generation": generation}
    return suites


def unverified(
    suite: Suite, generated: list[dict[str, Any]], extractive: list[dict[str, Any]]
) -> dict[str, Any]:
    """`answered` of the model's raw text, and of the extractive answers, on the questions where
    the model wrote something (an answerable question; the suite's own definition)."""
    items = {item.id: item for item in suite.items}
    baseline = {r["id"]: r["answered"] for r in extractive}
    ran = [r for r in generated if r["generation"]["stopped"] is not None and r["answerable"]]
    raw = [
        bool(suite.answered(items[r["id"]], Answer(r["generation"]["text"], False, (), (), {}))) for r in ran
    ]
    return {
        "questions": len(ran),
        "unverified_answered": round(sum(raw) / len(raw), 3) if raw else None,
        "extractive_answered": round(sum(bool(baseline[r["id"]]) for r in ran) / len(ran), 3)
        if ran
        else None,
    }


def table(generative: dict[str, dict[str, Any]], extractive: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| suite | composer | " + " | ".join(FIGURES) + " |",
        "|---|---|" + "---|" * len(FIGURES),
    ]
    for name in generative:
        for composer, runs in (("extractive", extractive), ("generative", generative)):
            if name in runs:
                row = runs[name]["metrics"]["all"]
                cells = [
                    "n/a" if row.get(f) is None else f"{row[f]:.3f}".rstrip("0").rstrip(".") for f in FIGURES
                ]
                lines.append(f"| {name} | {composer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--generative", type=Path, nargs="+", required=True)
    parser.add_argument("--extractive", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    args = parser.parse_args()
    generative, extractive = merged(args.generative), merged(args.extractive)
    for name, suite in generative.items():
        other = extractive.get(name)
        if other is None or sorted(i["id"] for i in other["items"]) != sorted(
            i["id"] for i in suite["items"]
        ):
            raise SystemExit(f"{name}: the extractive run must ask the same questions")
    payload = {
        "generation_model": next(iter(generative.values()))["meta"].get("generation_model"),
        "suites": {
            name: {
                "selection": suite["parts"],
                "suite_questions": suite["meta"].get("suite_questions"),
                "date": suite["meta"].get("date"),
                "generative": {
                    "metrics": suite["metrics"],
                    "generation": suite["generation"],
                    "before_verification": unverified(
                        load_suite(name, gold=args.gold, data_dir=args.data),
                        suite["items"],
                        extractive[name]["items"],
                    ),
                },
                "extractive": {"metrics": extractive[name]["metrics"]},
                "items": suite["items"],
            }
            for name, suite in generative.items()
        },
    }
    args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(generative, extractive))
    for name, suite in payload["suites"].items():
        print(f"\n{name}: " + json.dumps(suite["generative"]["generation"]["all"]))
        print(f"{name} before verification: " + json.dumps(suite["generative"]["before_verification"]))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
