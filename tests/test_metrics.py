from __future__ import annotations

import pytest

from rag.evaluation.metrics import (
    answer_correct,
    citation_supported,
    fact_present,
    ndcg_at,
    normalize,
    percentile,
    recall_at,
    reciprocal_rank,
)


def test_normalize_handles_unicode_numbers_and_units() -> None:
    assert normalize("HR 0·63 (95 % CI) – 1,234\u2009patients") == "hr 0.63 (95% ci) - 1234 patients"


def test_facts() -> None:
    answer = "The median PFS was 4.4 months (95% CI, 3.6–5.9) [1]."
    assert fact_present("4.4 MONTHS", answer)
    assert fact_present(["4.4 mo", "3.6-5.9"], answer)
    assert not fact_present("4.5 months", answer)
    assert answer_correct(["4.4 months", "95 % CI"], answer)
    assert not answer_correct(["4.4 months", "one month"], answer)
    assert not answer_correct([], answer)


def test_citation_support() -> None:
    assert citation_supported(
        ["median PFS was 4.4 months"], ["The median PFS was 4.4 months (95% CI, 3.6-5.9)."]
    )
    assert not citation_supported(["median PFS was 4.4 months"], ["No responses were observed."])


def test_ranking_metrics() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at(ranked, ["b", "z"], 1) == 0.0
    assert recall_at(ranked, ["b", "z"], 2) == 0.5
    assert reciprocal_rank(ranked, ["c"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, ["z"]) == 0.0
    assert ndcg_at(ranked, ["a"]) == 1.0
    assert ndcg_at(ranked, ["b"]) == pytest.approx(1 / 1.5849625)


def test_percentile() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 95) == 5.0
    assert percentile([], 50) == 0.0
