from __future__ import annotations

import numpy as np
import pytest

from rag.index.lexical import BM25S_LUCENE, LexicalIndex, PostingsPart
from rag.index.postings import Postings
from rag.index.vectors import FaissVectorIndex
from rag.search.retrieval import (
    HybridRetriever,
    min_max,
    reciprocal_rank_fusion,
    weighted_fusion,
)
from rag.testing import FakeEmbedder
from rag.text.analyzer import Analyzer


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([[(1, 9.0), (2, 8.0)], [(2, 0.5), (3, 0.4)]], k=60)
    assert [item for item, _ in fused] == [2, 1, 3]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_min_max_and_weighted_fusion() -> None:
    assert min_max([(1, 2.0), (2, 4.0), (3, 3.0)]) == {1: 0.0, 2: 1.0, 3: 0.5}
    assert min_max([(1, 5.0)]) == {1: 1.0}
    fused = dict(weighted_fusion([(1, 0.9), (2, 0.1)], [(2, 10.0), (3, 5.0)], dense_weight=0.25))
    assert fused == pytest.approx({1: 0.25, 2: 0.75, 3: 0.0})


ANALYZER = Analyzer()
TEXTS = {
    10: "sorafenib median progression-free survival 4.4 months renal cell carcinoma",
    11: "regorafenib hazard ratio overall survival hepatocellular carcinoma",
    12: "fever predicts response to sorafenib in liver cancer",
}


@pytest.fixture
def retriever() -> tuple[HybridRetriever, FakeEmbedder]:
    embedder = FakeEmbedder()
    vectors = FaissVectorIndex.empty(embedder.dimension)
    vectors.add(np.array(list(TEXTS), dtype=np.int64), embedder.embed(list(TEXTS.values())))
    lexical = LexicalIndex.build([(row, ANALYZER.terms(text)) for row, text in TEXTS.items()])
    return HybridRetriever(vectors, lexical), embedder


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_mode_finds_the_matching_chunk(
    retriever: tuple[HybridRetriever, FakeEmbedder], mode: str
) -> None:
    hybrid, embedder = retriever
    query = "hazard ratio for overall survival with regorafenib"
    hits = hybrid.retrieve(embedder.embed([query])[0], ANALYZER.terms(query), 2, mode=mode)  # type: ignore[arg-type]
    assert hits[0][0] == 11


def test_allowed_ids_filter_every_mode(retriever: tuple[HybridRetriever, FakeEmbedder]) -> None:
    hybrid, embedder = retriever
    query = "sorafenib"
    for mode in ("hybrid", "dense", "bm25"):
        terms = ANALYZER.terms(query)
        hits = hybrid.retrieve(embedder.embed([query])[0], terms, 3, allowed={12}, mode=mode)  # type: ignore[arg-type]
        assert {i for i, _ in hits} == {12}


def test_bm25_round_trip_without_pickle(tmp_path, retriever: tuple[HybridRetriever, FakeEmbedder]) -> None:  # type: ignore[no-untyped-def]
    postings = Postings.build([(row, ANALYZER.terms(text)) for row, text in sorted(TEXTS.items())])
    index = LexicalIndex([PostingsPart(postings)])
    postings.write(tmp_path, "seg-000001")
    assert not list(tmp_path.glob("*.pkl"))
    loaded = LexicalIndex([PostingsPart(Postings.read(tmp_path, "seg-000001"))])
    query = ANALYZER.terms("fever liver")
    assert loaded.search(query, 3, parameters=BM25S_LUCENE) == index.search(query, 3, parameters=BM25S_LUCENE)
    assert loaded.search(ANALYZER.terms("nothing matches this"), 3, parameters=BM25S_LUCENE) == []


def test_a_letter_or_digit_tells_variants_apart_in_lexical_search() -> None:
    # Content terms drop single characters, so alone they read hepatitis C as hepatitis B.
    assert ANALYZER.terms("hepatitis C") == ANALYZER.terms("hepatitis B")
    assert ANALYZER.search_terms("SARS-CoV-2 in grade 3 hepatitis C") == [
        "sar", "cov", "grade", "hepat", "cov2", "grade3", "hepatc"
    ]  # fmt: skip
    # A character after a stop word or among others names nothing, nor does a p-value's "p".
    for text in ("seen in 3 patients", "patients 2, 3 and 5", "vaccines, e.g. MVA", "significant, p < 0.05"):
        assert ANALYZER.search_terms(text) == ANALYZER.terms(text), text
    texts = {
        1: "sorafenib in hepatitis B related hepatocellular carcinoma",
        2: "sorafenib in hepatitis C related hepatocellular carcinoma",
    }
    lexical = LexicalIndex.build([(row, ANALYZER.search_terms(text)) for row, text in texts.items()])
    for letter, row in (("B", 1), ("C", 2)):
        query = ANALYZER.search_terms(f"sorafenib for hepatitis {letter}")
        assert lexical.search(query, 2, parameters=BM25S_LUCENE)[0][0] == row
