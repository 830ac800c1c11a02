"""Run a gold question set through the pipeline and report retrieval, answer and abstention quality."""

from __future__ import annotations

import json
import platform
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.documents import Answer
from rag.errors import DocumentError
from rag.evaluation.metrics import (
    GoldItem,
    answer_correct,
    citation_supported,
    mean,
    ndcg_at,
    percentile,
    recall_at,
    reciprocal_rank,
    unique_in_order,
)

if TYPE_CHECKING:
    from rag.pipeline import Pipeline
    from rag.search.retrieval import Mode

MARKER = re.compile(r"\[(\d+)\]")
RANKING_DEPTH = 50


@dataclass
class ItemResult:
    id: str
    type: str
    question: str
    answer: str
    abstained: bool
    reason: str | None
    correct: bool | None
    supported: bool | None
    markers_valid: bool
    gold_doc_ids: list[str]
    ranked_doc_ids: list[str]
    latency_ms: float


@dataclass
class EvalReport:
    retriever: str
    metrics: dict[str, float]
    by_type: dict[str, dict[str, float]]
    items: list[ItemResult] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def load_gold(path: Path) -> list[GoldItem]:
    if not path.is_file():
        raise DocumentError(f"gold set {path} not found", "pass --gold with the path to a .jsonl gold set")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(GoldItem.from_dict(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DocumentError(f"{path}:{number}: invalid gold item ({exc})") from exc
    return items


def markers_valid(answer: Answer) -> bool:
    """Every [n] names a citation, and every citation's quote is its passage's text at its offsets."""
    markers = {int(m) for m in MARKER.findall(answer.answer)}
    by_marker = {c.marker: c for c in answer.citations}
    if not markers.issubset(by_marker) or (not answer.abstained and not markers):
        return False
    return all(c.passage.text[c.quote_start : c.quote_end] == c.quote for c in answer.citations)


def evaluate(pipeline: Pipeline, items: Sequence[GoldItem], mode: Mode = "hybrid") -> EvalReport:
    results = []
    for item in items:
        ranked = unique_in_order([p.doc_id for p in pipeline.search(item.question, RANKING_DEPTH, mode=mode)])
        clock = time.perf_counter()
        answer = pipeline.ask(item.question, mode=mode)
        latency = (time.perf_counter() - clock) * 1000.0
        answered = not answer.abstained
        results.append(
            ItemResult(
                id=item.id,
                type=item.type,
                question=item.question,
                answer=answer.answer,
                abstained=answer.abstained,
                reason=answer.reason,
                correct=answered and answer_correct(item.facts, answer.answer) if item.answerable else None,
                supported=(
                    citation_supported(item.evidence, [c.quote for c in answer.citations])
                    if item.answerable and answered
                    else None
                ),
                markers_valid=markers_valid(answer),
                gold_doc_ids=item.doc_ids,
                ranked_doc_ids=ranked[:10],
                latency_ms=round(latency, 2),
            )
        )
    report = EvalReport(mode, summarize(results, items), by_type(results), results)
    report.meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "questions": len(items),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "model": pipeline.embedder.model_id,
        "settings": pipeline.settings.model_dump(
            mode="json", include={"top_k", "chunking", "retrieval", "answer"}
        ),
    }
    return report


def summarize(results: Sequence[ItemResult], items: Sequence[GoldItem]) -> dict[str, float]:
    gold = {i.id: i for i in items}
    answerable = [r for r in results if gold[r.id].answerable]
    unanswerable = [r for r in results if not gold[r.id].answerable]
    answered = [r for r in answerable if not r.abstained]
    latencies = [r.latency_ms for r in results]
    return {
        "recall@1": mean([recall_at(r.ranked_doc_ids, r.gold_doc_ids, 1) for r in answerable]),
        "recall@5": mean([recall_at(r.ranked_doc_ids, r.gold_doc_ids, 5) for r in answerable]),
        "recall@10": mean([recall_at(r.ranked_doc_ids, r.gold_doc_ids, 10) for r in answerable]),
        "mrr@10": mean([reciprocal_rank(r.ranked_doc_ids, r.gold_doc_ids, 10) for r in answerable]),
        "ndcg@10": mean([ndcg_at(r.ranked_doc_ids, r.gold_doc_ids, 10) for r in answerable]),
        "answer_accuracy": mean([1.0 if r.correct else 0.0 for r in answerable]),
        "citation_support": mean([1.0 if r.supported else 0.0 for r in answered]),
        "abstention_recall": mean([1.0 if r.abstained else 0.0 for r in unanswerable]),
        "false_abstention_rate": mean([1.0 if r.abstained else 0.0 for r in answerable]),
        "markers_valid": mean([1.0 if r.markers_valid else 0.0 for r in results]),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "answerable": float(len(answerable)),
        "unanswerable": float(len(unanswerable)),
    }


def by_type(results: Sequence[ItemResult]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for kind in sorted({r.type for r in results}):
        group = [r for r in results if r.type == kind]
        row = {"count": float(len(group)), "abstained": mean([1.0 if r.abstained else 0.0 for r in group])}
        if kind != "unanswerable":
            row["accuracy"] = mean([1.0 if r.correct else 0.0 for r in group])
        table[kind] = row
    return table


METRIC_COLUMNS = [
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "ndcg@10",
    "answer_accuracy",
    "citation_support",
    "abstention_recall",
    "false_abstention_rate",
    "latency_p50_ms",
    "latency_p95_ms",
]


def render_markdown(reports: Sequence[EvalReport]) -> str:
    first = reports[0]
    lines = [
        "# Evaluation results",
        "",
        f"{first.meta.get('questions')} questions ({int(first.metrics['answerable'])} answerable, "
        f"{int(first.metrics['unanswerable'])} unanswerable), model {first.meta.get('model')}, "
        f"{first.meta.get('date')}, {first.meta.get('machine')}.",
        "",
        "| retriever | " + " | ".join(METRIC_COLUMNS) + " |",
        "|---|" + "---|" * len(METRIC_COLUMNS),
    ]
    for report in reports:
        cells = [_fmt(report.metrics[c], c) for c in METRIC_COLUMNS]
        lines.append(f"| {report.retriever} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"By question type ({first.retriever}):",
        "",
        "| type | count | accuracy | abstained |",
        "|---|---|---|---|",
    ]
    for kind, row in first.by_type.items():
        accuracy = f"{row['accuracy']:.3f}" if "accuracy" in row else "n/a"
        lines.append(f"| {kind} | {int(row['count'])} | {accuracy} | {row['abstained']:.3f} |")
    failures = [
        r for r in first.items if (r.correct is False) or (r.type == "unanswerable" and not r.abstained)
    ]
    if failures:
        lines += ["", f"Misses ({first.retriever}):", ""]
        for r in failures:
            what = (
                "answered"
                if r.type == "unanswerable"
                else ("abstained: " + (r.reason or "") if r.abstained else "missing facts")
            )
            lines.append(f"- {r.id} ({r.type}, {what}): {r.question}")
    return "\n".join(lines) + "\n"


def _fmt(value: float, column: str) -> str:
    return f"{value:.1f}" if column.endswith("_ms") else f"{value:.3f}"


def write_reports(reports: Sequence[EvalReport], out_dir: Path, name: str = "latest") -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    payload = [
        {
            "retriever": r.retriever,
            "metrics": r.metrics,
            "by_type": r.by_type,
            "meta": r.meta,
            "items": [asdict(i) for i in r.items],
        }
        for r in reports
    ]
    json_path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    md_path.write_text(render_markdown(reports), encoding="utf-8")
    return json_path, md_path
