"""Run an evaluation suite through the pipeline and report it per split.

Every suite is scored the same way: retrieval `hit@k` (a relevant passage among the first k of
the search), `cited` (a citation holds the evidence; an abstention counts as not cited),
`answered` (a short, correct answer, by the suite's definition), abstention on the questions
the documents cannot answer, false abstention on those they can, answer length (median and
90th percentile, in characters, of the answers given) and latency (in process).
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.answer.asker import AnswerMode
from rag.answer.followup import Turn
from rag.answer.llm import LanguageModel
from rag.errors import DocumentError
from rag.evaluation.generation import (
    GenerationRecord,
    MeteredModel,
    generation_table,
    record,
    summarize_generation,
)
from rag.evaluation.metrics import mean, percentile
from rag.evaluation.runner import markers_valid
from rag.evaluation.suites import Suite, SuiteItem
from rag.pipeline import Pipeline
from rag.progress import Progress, no_progress
from rag.settings import Settings

HIT_DEPTH = 10
CUTOFFS = (1, 5, 10)


@dataclass
class SuiteResult:
    id: str
    question: str
    split: str
    group: str
    answerable: bool
    answer: str
    abstained: bool
    reason: str | None
    hit_rank: int | None
    cited: bool | None
    answered: bool | None
    markers_valid: bool
    latency_ms: float
    cited_doc_ids: list[str]
    generation: GenerationRecord | None = None
    """Generative mode: what the model wrote and what verification kept."""


def select_items(
    items: Sequence[SuiteItem],
    *,
    split: str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    offset: int = 0,
) -> list[SuiteItem]:
    """The items of one split (None: all), or a random `sample` of them drawn with `seed` and
    kept in the suite's order (the same seed draws the same questions); of those, `limit`
    items from `offset` on (a long run done in parts)."""
    chosen = [item for item in items if split is None or item.split == split]
    if sample is not None and sample < len(chosen):
        drawn = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [item for n, item in enumerate(chosen) if n in drawn]
    chosen = chosen[offset:]
    return chosen[:limit] if limit else chosen


def suite_pipeline(
    suite: Suite,
    settings: Settings,
    cache_dir: Path,
    progress: Progress = no_progress,
    llm: LanguageModel | None = None,
) -> Pipeline:
    """A pipeline over the suite's own corpus, indexed under `cache_dir/<corpus>` (kept between
    runs: a second run only checks that nothing changed); the configured one for `gold`.
    `llm`: a generative model already loaded, shared by the suites."""
    if suite.write_corpus is None:
        return Pipeline.load(settings, llm=llm)
    corpus = suite.corpus or suite.name.removesuffix("-followups")
    corpus_dir, index_dir = cache_dir / corpus / "corpus", cache_dir / corpus / "index"
    suite.write_corpus(corpus_dir)
    local = settings.model_copy(update={"corpus_dir": corpus_dir, "index_dir": index_dir})
    pipeline = Pipeline.load(local, require_index=False, llm=llm)
    result = pipeline.ingest([corpus_dir], rebuild_if_incompatible=True, progress=progress)
    if result.skipped and not suite.refusals_expected:
        pipeline.close()
        raise DocumentError(f"{suite.name}: documents were refused: {result.skipped[:3]}")
    return pipeline


def conversation(pipeline: Pipeline, questions: Sequence[str], answer_mode: AnswerMode | None) -> list[Turn]:
    """The earlier turns as a client of the service holds them: each question asked in its turn,
    with the answer it got and the documents that answer cited (what the web page sends back)."""
    history: list[Turn] = []
    for question in questions:
        said = pipeline.ask(question, history=history, answer_mode=answer_mode)
        cited = tuple(dict.fromkeys(c.passage.doc_id for c in said.citations))
        history.append(Turn(question, said.answer, cited))
    return history


def run_suite(
    pipeline: Pipeline,
    suite: Suite,
    items: Sequence[SuiteItem] | None = None,
    advance: Callable[[int], None] | None = None,
    answer_mode: AnswerMode | None = None,
) -> list[SuiteResult]:
    """Ask every item; in generative mode, the pipeline's model should be a MeteredModel, so
    that each result records what generation did."""
    chosen = suite.items if items is None else items
    metered = pipeline.llm if isinstance(pipeline.llm, MeteredModel) else None
    results = []
    for item in chosen:
        history = conversation(pipeline, item.history, answer_mode)
        if metered is not None:
            metered.take()  # what the earlier turns generated is not this answer's
        clock = time.perf_counter()
        answer = pipeline.ask(item.question, history=history, answer_mode=answer_mode)
        latency = (time.perf_counter() - clock) * 1000.0
        generation = record(answer, metered.take()) if metered is not None else None
        passages = pipeline.search(answer.resolved_question or item.question, HIT_DEPTH)
        hit = next((p.rank for p in passages if suite.hit(item, p)), None)
        results.append(
            SuiteResult(
                id=item.id,
                question=item.question,
                split=item.split,
                group=item.group,
                answerable=item.answerable,
                answer=answer.answer,
                abstained=answer.abstained,
                reason=answer.reason,
                hit_rank=hit,
                cited=suite.cited(item, answer) if item.answerable else None,
                answered=suite.answered(item, answer) if item.answerable else None,
                markers_valid=markers_valid(answer),
                latency_ms=round(latency, 2),
                cited_doc_ids=list(dict.fromkeys(c.passage.doc_id for c in answer.citations)),
                generation=generation,
            )
        )
        if advance is not None:
            advance(1)
    return results


def summarize(results: Sequence[SuiteResult]) -> dict[str, float | None]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    given = [r for r in results if not r.abstained]
    lengths = [float(len(r.answer)) for r in given]
    latencies = [r.latency_ms for r in results]
    summary: dict[str, float | None] = {"questions": float(len(results))}
    for k in CUTOFFS:
        summary[f"hit@{k}"] = _share(
            [r.hit_rank is not None and r.hit_rank <= k for r in answerable], defined=bool(answerable)
        )
    scored_cited = [r for r in answerable if r.cited is not None]
    summary["cited"] = _share([bool(r.cited) for r in scored_cited], defined=bool(scored_cited))
    scored = [r for r in answerable if r.answered is not None]
    summary["answered"] = _share([bool(r.answered) for r in scored], defined=bool(scored))
    summary["abstention"] = _share([r.abstained for r in unanswerable], defined=bool(unanswerable))
    summary["false_abstention"] = _share([r.abstained for r in answerable], defined=bool(answerable))
    summary["answer_chars_median"] = statistics.median(lengths) if lengths else None
    summary["answer_chars_p90"] = percentile(lengths, 90) if lengths else None
    summary["markers_valid"] = mean([1.0 if r.markers_valid else 0.0 for r in results])
    summary["latency_p50_ms"] = percentile(latencies, 50)
    summary["latency_p95_ms"] = percentile(latencies, 95)
    return summary


def report(
    suite: Suite, results: Sequence[SuiteResult], pipeline: Pipeline, meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Metrics per split; with generation records, what generation did per split too."""
    metrics, generation = summaries(results)
    rep: dict[str, Any] = {
        "suite": suite.name,
        "metrics": metrics,
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "python": platform.python_version(),
            "model": pipeline.embedder.model_id,
            "documents": pipeline.stats().get("documents"),
            **(meta or {}),
        },
    }
    if generation is not None:
        rep["meta"]["generation_model"] = pipeline.llm.model_id if pipeline.llm else None
        rep["generation"] = generation
    rep["items"] = [asdict(r) for r in results]
    return rep


def summaries(
    results: Sequence[SuiteResult],
) -> tuple[dict[str, dict[str, float | None]], dict[str, dict[str, Any]] | None]:
    """The metrics of all results and of each split, and what generation did (None: nothing
    was generated, an extractive run)."""
    splits = sorted({r.split for r in results})
    groups = {"all": list(results)}
    if len(splits) > 1:
        groups |= {s: [r for r in results if r.split == s] for s in splits}
    metrics = {name: summarize(group) for name, group in groups.items()}
    if all(r.generation is None for r in results):
        return metrics, None
    generation = {
        name: summarize_generation(
            [r.generation for r in group if r.generation is not None], [r.latency_ms for r in group]
        )
        for name, group in groups.items()
    }
    return metrics, generation


def result_from_json(item: dict[str, Any]) -> SuiteResult:
    """A result as `report` wrote it, read back (to merge the parts of a long run)."""
    generation = item.get("generation")
    fields = {**item, "generation": GenerationRecord(**generation) if generation else None}
    return SuiteResult(**fields)


COLUMNS = (
    "questions",
    "hit@1",
    "hit@5",
    "hit@10",
    "cited",
    "answered",
    "abstention",
    "false_abstention",
    "answer_chars_median",
    "answer_chars_p90",
    "latency_p50_ms",
    "latency_p95_ms",
)


def render_markdown(reports: Sequence[dict[str, Any]]) -> str:
    lines = [
        "# Evaluation suites",
        "",
        "Definitions: docs/evaluation.md. n/a: the suite does not define the figure.",
        "",
        "| suite | split | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for rep in reports:
        for split, metrics in rep["metrics"].items():
            cells = [_fmt(metrics.get(c), c) for c in COLUMNS]
            lines.append(f"| {rep['suite']} | {split} | " + " | ".join(cells) + " |")
    lines += generation_table(reports)
    for rep in reports:
        misses = [
            i for i in rep["items"] if i["answered"] is False or (not i["answerable"] and not i["abstained"])
        ]
        if misses:
            lines += ["", f"First misses of {rep['suite']} ({len(misses)} in all):", ""]
            for item in misses[:15]:
                what = (
                    "answered an unanswerable question"
                    if not item["answerable"]
                    else (f"abstained ({item['reason']})" if item["abstained"] else "not answered")
                )
                lines.append(f"- {item['id']} [{item['split']}] {what}: {item['question']}")
    return "\n".join(lines) + "\n"


def write_suite_reports(reports: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for rep in reports:
        path = out_dir / f"suite-{rep['suite']}.json"
        path.write_text(json.dumps(rep, indent=2, ensure_ascii=False), encoding="utf-8")
        written.append(path)
    md = out_dir / "suites.md"
    md.write_text(render_markdown(reports), encoding="utf-8")
    written.append(md)
    return written


def _share(flags: Sequence[bool], *, defined: bool) -> float | None:
    return mean([1.0 if f else 0.0 for f in flags]) if defined else None


def _fmt(value: float | None, column: str) -> str:
    if value is None:
        return "n/a"
    if column == "questions" or column.startswith("answer_chars"):
        return f"{value:.0f}"
    return f"{value:.1f}" if column.endswith("_ms") else f"{value:.3f}"
