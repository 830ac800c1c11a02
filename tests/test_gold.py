"""The gold set is well formed, and the service meets its quality floors on it."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from rag.evaluation.metrics import GoldItem, fact_present
from rag.evaluation.runner import EvalReport, evaluate, load_gold
from rag.ingest.loaders import load_paths
from rag.pipeline import Pipeline
from tests.conftest import CORPUS, GOLD

# Floors: the figures reached when they were last raised (see eval/results/latest.md), minus a
# small margin for numerical noise across machines. A change that loses quality fails here.
FLOORS = {
    # measured 0.922 with the sentence ranker (0.883 before it; 0.896 before BM25's k1 and b went
    # to 0.9 and 0.4, 0.909 before the extra-sentence ratio went to 0.93; docs/evaluation.md)
    "answer_accuracy": 0.90,
    "citation_support": 0.95,  # measured 0.961 with the sentence ranker (0.935 before it)
    "abstention_recall": 0.91,  # measured 0.957
}
CEILINGS = {"false_abstention_rate": 0.03}  # measured 0.000


@pytest.fixture(scope="module")
def gold() -> list[GoldItem]:
    return load_gold(GOLD)


def test_gold_set_is_well_formed(gold: list[GoldItem]) -> None:
    bodies = {d.doc_id: d.text for d in load_paths([CORPUS]).documents}
    kinds = Counter(item.type for item in gold)
    assert len(gold) >= 80 and kinds["unanswerable"] >= 15
    assert {"factual", "paraphrase", "list", "unanswerable"} <= set(kinds)
    assert len({item.id for item in gold}) == len(gold)
    for item in gold:
        if not item.answerable:
            assert not item.facts and not item.doc_ids and not item.evidence, item.id
            continue
        assert item.facts and item.doc_ids and item.evidence, item.id
        assert all(doc in bodies for doc in item.doc_ids), item.id
        for evidence in item.evidence:
            assert any(evidence in bodies[doc] for doc in item.doc_ids), (item.id, evidence)
        for fact in item.facts:
            assert any(fact_present(fact, evidence) for evidence in item.evidence), (item.id, fact)


def test_clinical_set_is_well_formed() -> None:
    """eval/clinical.jsonl: questions in lay words, the same rules as the gold set."""
    bodies = {d.doc_id: d.text for d in load_paths([CORPUS]).documents}
    clinical = load_gold(GOLD.with_name("clinical.jsonl"))
    kinds = Counter(item.type for item in clinical)
    assert len(clinical) >= 40 and kinds["unanswerable"] >= 8 and kinds["list"] >= 5
    assert len({item.id for item in clinical}) == len(clinical)
    assert Counter(item.split for item in clinical) == {"tune": 20, "test": 20}
    for item in clinical:
        if not item.answerable:
            assert not item.facts and not item.doc_ids and not item.evidence, item.id
            continue
        assert all(doc in bodies for doc in item.doc_ids), item.id
        for evidence in item.evidence:
            assert any(evidence in bodies[doc] for doc in item.doc_ids), (item.id, evidence)
        for fact in item.facts:
            assert any(fact_present(fact, evidence) for evidence in item.evidence), (item.id, fact)


@pytest.fixture(scope="module")
def report(pipeline: Pipeline, gold: list[GoldItem]) -> EvalReport:
    return evaluate(pipeline, gold)


@pytest.mark.integration
def test_every_marker_cites_an_exact_quote(report: EvalReport) -> None:
    for item in report.items:
        assert item.markers_valid, (item.id, item.answer)
        if not item.abstained:
            assert re.search(r"\[\d+\]", item.answer), item.id


@pytest.mark.integration
def test_quality_floors(report: EvalReport) -> None:
    metrics = report.metrics
    summary = json.dumps({k: round(v, 3) for k, v in metrics.items()})
    for name, floor in FLOORS.items():
        assert metrics[name] >= floor, f"{name} fell below {floor}: {summary}"
    for name, ceiling in CEILINGS.items():
        assert metrics[name] <= ceiling, f"{name} rose above {ceiling}: {summary}"


@pytest.mark.integration
def test_hybrid_is_at_least_as_good_as_each_retriever(
    pipeline: Pipeline, gold: list[GoldItem], report: EvalReport
) -> None:
    hybrid = report.metrics
    for mode in ("bm25", "dense"):
        single = evaluate(pipeline, [g for g in gold if g.answerable], mode).metrics
        for metric in ("recall@5", "mrr@10"):
            assert hybrid[metric] >= single[metric], (mode, metric, hybrid[metric], single[metric])
