"""PubMedQA-L (the 1,000 expert-labelled questions) as a retrieval and an answer benchmark.

The 1,000 abstracts become the corpus and every question is asked against all of them; the
relevant document of a question is its own record's abstract. Retrieval is scored at the
document level (R@1/5/10, MRR@10) for each retriever mode, next to the reference figures in
`shared/benchmarks/pubmedqa/README.md` (BM25, dense MiniLM on a flat index, and their RRF),
which were measured on all 1,000 questions; the 500-question official test split is reported
too. Answers (hybrid mode) are scored by ROUGE-L F1 against the record's LONG_ANSWER, by how
often they cite the record's own abstract, and by abstention rate; latencies are reported but
are indicative only (the benchmark shares its machine with whatever else runs).

How a record becomes a document is `rag.evaluation.pubmedqa`'s (shared with `rag eval --suite
pubmedqa`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.documents import Answer
from rag.embed import Embedder, load_embedder
from rag.errors import DocumentError
from rag.evaluation.metrics import mean, percentile, recall_at, reciprocal_rank, unique_in_order
from rag.evaluation.pubmedqa import (
    Dataset,
    Record,
    load_dataset,
    write_corpus,
)
from rag.pipeline import Pipeline
from rag.search.retrieval import Mode
from rag.settings import Settings
from rag.text import words

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "benchmarks" / "pubmedqa" / "ori_pqal.json"

MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")
# Passages fetched per query: deep enough that, deduplicated to documents (an abstract is
# one to three chunks), at least ten distinct documents remain for R@10 and MRR@10.
RANKING_DEPTH = 50
CUTOFFS = (1, 5, 10)
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10")
QUICK_QUESTIONS = 100
MISS_EXAMPLES = 25
MARKER = re.compile(r"\s*\[\d+\]")

REFERENCE: dict[str, dict[str, Any]] = {
    "bm25": {
        "label": "BM25 (bm25s, English stopwords)",
        "recall@1": 0.947,
        "recall@5": 0.983,
        "recall@10": 0.986,
        "mrr@10": 0.963,
    },
    "dense": {
        "label": "dense MiniLM, FAISS flat",
        "recall@1": 0.971,
        "recall@5": 0.991,
        "recall@10": 0.997,
        "mrr@10": 0.981,
    },
    "rrf": {
        "label": "RRF of both (k=60)",
        "recall@1": 0.969,
        "recall@5": 0.988,
        "recall@10": 0.992,
        "mrr@10": 0.978,
    },
}
REFERENCE_QUESTIONS = 1000


def build_index(
    settings: Settings, embedder: Embedder, records: Sequence[Record], workdir: Path
) -> tuple[Pipeline, dict[str, Any]]:
    """Ingest the records into a fresh index under `workdir`; the pipeline and the ingest figures."""
    corpus_dir, index_dir = workdir / "corpus", workdir / "index"
    write_corpus(records, corpus_dir)
    # model_copy keeps every other setting of the caller (an env-built Settings would re-read .env).
    local = settings.model_copy(update={"corpus_dir": corpus_dir, "index_dir": index_dir})
    pipeline = Pipeline(local, embedder, None)
    clock = time.perf_counter()
    result = pipeline.ingest([corpus_dir])
    seconds = time.perf_counter() - clock
    if result.skipped:
        pipeline.close()
        raise DocumentError(f"PubMedQA documents were refused: {result.skipped[:3]}")
    report = result.report
    figures = {
        "documents": result.documents_seen,
        "chunks": report.chunks_added,
        "texts_embedded": report.texts_embedded,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(report.chunks_added / seconds, 1) if seconds else 0.0,
        "texts_per_s": round(report.texts_embedded / seconds, 1) if seconds else 0.0,
        "timings_s": {k: round(v, 2) for k, v in report.timings_s.items()},
    }
    return pipeline, figures


# --- metrics -----------------------------------------------------------------------------


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (one DP row at a time)."""
    if len(b) > len(a):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens; citation markers are not words of the answer."""
    cand, ref = words(MARKER.sub("", candidate)), words(reference)
    common = lcs_length(cand, ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(cand), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class QuestionResult:
    pmid: str
    doc_id: str
    """The relevant document: the record's own abstract."""
    rankings: dict[str, list[str]]
    """Per mode, the first ten distinct documents retrieved, best first."""
    search_ms: float
    """The hybrid search alone."""
    ask_ms: float
    rouge_l: float
    abstained: bool
    cites_own: bool


def ranked_documents(pipeline: Pipeline, question: str, mode: Mode) -> tuple[list[str], float]:
    """The distinct documents of the best passages, in rank order, and the search time in ms."""
    clock = time.perf_counter()
    passages = pipeline.search(question, RANKING_DEPTH, mode=mode)
    elapsed = (time.perf_counter() - clock) * 1000.0
    return unique_in_order([p.doc_id for p in passages])[: max(CUTOFFS)], elapsed


def evaluate_question(pipeline: Pipeline, record: Record) -> QuestionResult:
    rankings: dict[str, list[str]] = {}
    search_ms = 0.0
    for mode in MODES:
        rankings[mode], elapsed = ranked_documents(pipeline, record.question, mode)
        if mode == "hybrid":
            search_ms = elapsed
    clock = time.perf_counter()
    answer: Answer = pipeline.ask(record.question, mode="hybrid")
    ask_ms = (time.perf_counter() - clock) * 1000.0
    return QuestionResult(
        pmid=record.pmid,
        doc_id=record.doc_id,
        rankings=rankings,
        search_ms=search_ms,
        ask_ms=ask_ms,
        rouge_l=0.0 if answer.abstained else rouge_l(answer.answer, record.long_answer),
        abstained=answer.abstained,
        cites_own=any(c.passage.doc_id == record.doc_id for c in answer.citations),
    )


def retrieval_metrics(results: Sequence[QuestionResult], mode: str) -> dict[str, float]:
    """Doc-level recall at each cutoff and MRR@10; the one relevant document is the record's own."""
    metrics: dict[str, float] = {}
    for k in CUTOFFS:
        metrics[f"recall@{k}"] = mean([recall_at(r.rankings[mode], [r.doc_id], k) for r in results])
    metrics["mrr@10"] = mean([reciprocal_rank(r.rankings[mode], [r.doc_id], 10) for r in results])
    return {name: round(value, 4) for name, value in metrics.items()}


def answer_metrics(results: Sequence[QuestionResult]) -> dict[str, float]:
    answered = [r for r in results if not r.abstained]
    search = [r.search_ms for r in results]
    ask = [r.ask_ms for r in results]
    figures = {
        # Over answered questions: how close a given answer is; over all: abstentions count 0.
        "rouge_l_f1": mean([r.rouge_l for r in answered]),
        "rouge_l_f1_all": mean([r.rouge_l for r in results]),
        "cites_own_abstract": mean([float(r.cites_own) for r in results]),
        "cites_own_abstract_answered": mean([float(r.cites_own) for r in answered]),
        "abstention_rate": mean([float(r.abstained) for r in results]),
    }
    latency = {
        "search_p50_ms": percentile(search, 50),
        "search_p95_ms": percentile(search, 95),
        "ask_p50_ms": percentile(ask, 50),
        "ask_p95_ms": percentile(ask, 95),
    }
    return {**{k: round(v, 4) for k, v in figures.items()}, **{k: round(v, 1) for k, v in latency.items()}}


def summarize_split(results: Sequence[QuestionResult]) -> dict[str, Any]:
    return {
        "questions": len(results),
        "retrieval": {mode: retrieval_metrics(results, mode) for mode in MODES},
        "answers": answer_metrics(results),
    }


def compare(ours: dict[str, float]) -> tuple[dict[str, bool], dict[str, float]]:
    """Per metric: does ours beat every reference (at the references' 3-decimal precision),
    and by how much over the best of them."""
    beats, margin = {}, {}
    for metric in METRICS:
        best = max(float(ref[metric]) for ref in REFERENCE.values())
        beats[metric] = round(ours[metric], 3) > best
        margin[metric] = round(ours[metric] - best, 4)
    return beats, margin


def misses(results: Sequence[QuestionResult], records: dict[str, Record]) -> dict[str, Any]:
    """The hybrid R@1 misses, with where each mode ranked the right abstract (None: not in top 10)."""

    def rank(result: QuestionResult, mode: str) -> int | None:
        ranking = result.rankings[mode]
        return ranking.index(result.doc_id) + 1 if result.doc_id in ranking else None

    missed = [r for r in results if rank(r, "hybrid") != 1]
    examples = [
        {
            "pmid": r.pmid,
            "question": records[r.pmid].question,
            "ranks": {mode: rank(r, mode) for mode in MODES},
            "hybrid_top": r.rankings["hybrid"][:1],
        }
        for r in missed[:MISS_EXAMPLES]
    ]
    by_mode = {mode: sum(1 for r in results if rank(r, mode) != 1) for mode in MODES}
    return {"count": len(missed), "count_by_mode": by_mode, "examples": examples}


# --- the benchmark -----------------------------------------------------------------------


def question_splits(dataset: Dataset, *, quick: bool) -> dict[str, list[str]]:
    """The test split (its first 100 in quick mode) and, in full mode, all the questions."""
    if quick:
        return {"test": dataset.test_ids[:QUICK_QUESTIONS]}
    return {"test": list(dataset.test_ids), "all": list(dataset.records)}


def evaluate_dataset(
    settings: Settings, embedder: Embedder, dataset: Dataset, *, quick: bool
) -> dict[str, Any]:
    """Index every record, ask the questions of the splits, and gather the results."""
    started = time.perf_counter()
    splits = question_splits(dataset, quick=quick)
    # Each question is asked once even when it belongs to several splits.
    asked = list(dict.fromkeys(pmid for ids in splits.values() for pmid in ids))
    with tempfile.TemporaryDirectory(prefix="pubmedqa-") as workdir:
        pipeline, ingest = build_index(settings, embedder, list(dataset.records.values()), Path(workdir))
        # Latencies mean little without the load they were measured under: record it.
        load_before = round(os.getloadavg()[0], 2)
        try:
            results = {}
            for number, pmid in enumerate(asked, start=1):
                results[pmid] = evaluate_question(pipeline, dataset.records[pmid])
                if number % 100 == 0:
                    log.info("pubmedqa: %d/%d questions", number, len(asked))
        finally:
            pipeline.close()
    load_after = round(os.getloadavg()[0], 2)
    summaries = {name: summarize_split([results[p] for p in ids]) for name, ids in splits.items()}
    # The references were measured on all 1,000 questions; quick mode has only a sample to offer.
    compared_on = "all" if "all" in summaries else "test"
    beats, margin = compare(summaries[compared_on]["retrieval"]["hybrid"])
    return {
        "benchmark": "pubmedqa",
        "quick": quick,
        "data": str(dataset.path),
        "model": embedder.model_id,
        "settings": settings.model_dump(mode="json", include={"top_k", "chunking", "retrieval", "answer"}),
        "ranking_depth": RANKING_DEPTH,
        "ingest": ingest,
        "load_average_1min": {
            "cpus": os.cpu_count(),
            "before_questions": load_before,
            "after_questions": load_after,
        },
        "splits": summaries,
        "reference": {"questions": REFERENCE_QUESTIONS, "doc_level": True, "retrievers": REFERENCE},
        "compared_on": {
            "split": compared_on,
            "questions": summaries[compared_on]["questions"],
            "comparable": summaries[compared_on]["questions"] == REFERENCE_QUESTIONS,
        },
        "beats_reference": beats,
        "reference_margin": margin,
        "misses": misses([results[p] for p in splits[compared_on]], dataset.records),
        "seconds": round(time.perf_counter() - started, 1),
    }


def run(settings: Settings, *, quick: bool, data: Path | None = None) -> dict[str, Any]:
    """The PubMedQA benchmark with the configured model; `data` is ori_pqal.json."""
    dataset = load_dataset(data or DEFAULT_DATA)
    embedder = load_embedder(settings.embedding, settings.model_cache_dir)
    return evaluate_dataset(settings, embedder, dataset, quick=quick)


# --- report ------------------------------------------------------------------------------

LABELS = {"recall@1": "R@1", "recall@5": "R@5", "recall@10": "R@10", "mrr@10": "MRR@10"}


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _metric_cells(metrics: dict[str, Any]) -> list[str]:
    return [f"{float(metrics[m]):.3f}" for m in METRICS]


def _ingest_markdown(ingest: dict[str, Any]) -> list[str]:
    return [
        "### Ingest",
        "",
        _row(["documents", "chunks", "texts embedded", "seconds", "chunks/s", "texts/s"]),
        _row(["---"] * 6),
        _row(
            [
                ingest["documents"],
                ingest["chunks"],
                ingest["texts_embedded"],
                ingest["seconds"],
                ingest["chunks_per_s"],
                ingest["texts_per_s"],
            ]
        ),
    ]


def _retrieval_markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "### Retrieval (document level)",
        "",
        _row(["retriever", "questions", *LABELS.values()]),
        _row(["---"] * (2 + len(METRICS))),
    ]
    for split, summary in result["splits"].items():
        for mode, metrics in summary["retrieval"].items():
            lines.append(_row([f"ours: {mode} ({split})", summary["questions"], *_metric_cells(metrics)]))
    reference = result["reference"]
    for ref in reference["retrievers"].values():
        lines.append(_row([f"reference: {ref['label']}", reference["questions"], *_metric_cells(ref)]))
    compared = result["compared_on"]
    verdicts = ", ".join(
        f"{LABELS[m]} {'yes' if beat else 'no'} ({result['reference_margin'][m]:+.3f})"
        for m, beat in result["beats_reference"].items()
    )
    caveat = "" if compared["comparable"] else " (a sample: not comparable with the references)"
    lines += [
        "",
        f"Hybrid beats all three references, on {compared['questions']} questions{caveat}: {verdicts}. "
        f"Hybrid R@1 misses: {result['misses']['count']}.",
    ]
    return lines


def _answers_markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "### Answers (hybrid)",
        "",
        _row(
            [
                "split",
                "questions",
                "ROUGE-L F1 (answered)",
                "ROUGE-L F1 (all)",
                "cites own abstract",
                "abstained",
                "search p50/p95 ms",
                "ask p50/p95 ms",
            ]
        ),
        _row(["---"] * 8),
    ]
    for split, summary in result["splits"].items():
        a = summary["answers"]
        lines.append(
            _row(
                [
                    split,
                    summary["questions"],
                    f"{a['rouge_l_f1']:.3f}",
                    f"{a['rouge_l_f1_all']:.3f}",
                    f"{a['cites_own_abstract']:.1%}",
                    f"{a['abstention_rate']:.1%}",
                    f"{a['search_p50_ms']:.0f} / {a['search_p95_ms']:.0f}",
                    f"{a['ask_p50_ms']:.0f} / {a['ask_p95_ms']:.0f}",
                ]
            )
        )
    load = result["load_average_1min"]
    lines += [
        "",
        f"Latencies are indicative: 1-minute load average {load['before_questions']} before the "
        f"questions and {load['after_questions']} after, on {load['cpus']} CPUs.",
    ]
    return lines


def to_markdown(result: dict[str, Any]) -> str:
    mode = "quick (first 100 test questions)" if result["quick"] else "full"
    lines = [
        "## PubMedQA",
        "",
        f"PubMedQA-L: {result['ingest']['documents']} abstracts indexed, each question asked against "
        f"all of them; {mode} run, model {result['model']}, {result['seconds']} s in all.",
        "",
        *_ingest_markdown(result["ingest"]),
        "",
        *_retrieval_markdown(result),
        "",
        *_answers_markdown(result),
    ]
    return "\n".join(lines) + "\n"
