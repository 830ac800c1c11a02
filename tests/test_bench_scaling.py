"""Structural checks of the index-scaling benchmark on tiny sizes; no timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from bench import scaling
from rag.index.lexical import BM25S_LUCENE, LexicalIndex

VECTORS = 2000
STORE_SIZES = (200, 2000)
LEXICAL = 300
TILES = 4


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    plan = scaling.Plan(
        vector_sizes=(VECTORS,),
        store_sizes=STORE_SIZES,
        lexical_sizes=(LEXICAL,),
        lexical_target=LEXICAL * TILES,
        budget_s=0.0,  # no time left: the target size is reached by tiling
        depth=20,
    )
    # Latencies are not checked here: one FAISS thread (no waiting on busy cores for a second one)
    # and a few timed calls keep the test fast.
    with pytest.MonkeyPatch.context() as patch, scaling.omp_threads(1):
        patch.setattr(scaling, "WARMUP_QUERIES", 1)
        patch.setattr(scaling, "LATENCY_QUERIES", 5)
        patch.setattr(scaling, "MIN_LATENCY_QUERIES", 5)
        patch.setattr(scaling, "RESIDENT_MEMORY", False)  # one test below covers the probe
        return scaling.run_plan(plan)


def index(result: dict[str, Any], kind: str) -> dict[str, Any]:
    entries = result["vectors"]["sizes"][0]["indexes"]
    return next(entry for entry in entries if entry["kind"] == kind)


def test_the_synthetic_vectors_are_clustered(result: dict[str, Any]) -> None:
    stats = result["vectors"]["sizes"][0]["data"]
    # A query's nearest chunks are far closer than a random pair, as with real embeddings.
    assert stats["query_top10_cosine"] > stats["random_pair_cosine"] + 0.3
    assert 0.05 < stats["random_pair_cosine"] < 0.4


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_ann_indexes_reach_the_flat_results(result: dict[str, Any], kind: str) -> None:
    settings = index(result, kind)["settings"]
    assert max(s["recall_at_10"] for s in settings) >= 0.9
    assert index(result, kind)["best"] is not None


def test_flat_recall_is_exact_and_costs_one_float32_vector(result: dict[str, Any]) -> None:
    flat = index(result, "flat")
    assert flat["settings"][0]["recall_at_10"] == 1.0
    assert flat["bytes_per_vector"] == pytest.approx(4 * scaling.DIMENSION, rel=0.03)


def test_resident_memory_of_a_loaded_flat_index_is_its_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scaling, "RESIDENT_MEMORY", True)
    data = np.random.default_rng(0).standard_normal((5000, scaling.DIMENSION)).astype(np.float32)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(scaling.DIMENSION))
    index.add_with_ids(data, np.arange(len(data), dtype=np.int64))
    stored, resident = scaling.memory_per_vector(index, len(data))
    assert stored == pytest.approx(4 * scaling.DIMENSION, rel=0.03)
    assert resident == pytest.approx(4 * scaling.DIMENSION, rel=0.2)


def test_recommendation_names_a_threshold_and_an_index(result: dict[str, Any]) -> None:
    recommendation = result["recommendation"]
    assert recommendation["flat_up_to"] in {p["n"] for p in result["vectors"]["flat_curve"]} | {0}
    assert recommendation["above"].startswith(("IVF", "IDMap2,HNSW"))


def test_the_service_index_supports_every_operation(result: dict[str, Any]) -> None:
    compatibility = result["vectors"]["compatibility"]
    assert set(compatibility["flat"].values()) == {"ok"}
    assert compatibility["hnsw"]["remove"].startswith("error")


def test_chunk_store_lookups_read_the_same_rows_at_every_size(result: dict[str, Any]) -> None:
    small, large = result["chunk_store"]["sizes"]
    assert (small["n"], large["n"]) == STORE_SIZES
    assert large["passages_rows"] == scaling.LOOKUP_ROWS
    assert large["sentences_rows"] == scaling.LOOKUP_ROWS * scaling.SENTENCES_PER_CHUNK
    assert large["passages_vm_steps"] == small["passages_vm_steps"]
    assert large["sentences_vm_steps"] == small["sentences_vm_steps"]


def test_lexical_target_is_reached_by_tiling_when_no_time_is_left(result: dict[str, Any]) -> None:
    built, tiled = result["lexical"]["sizes"]
    assert built["method"] == "LexicalIndex.build"
    assert tiled["n"] == LEXICAL * TILES
    assert tiled["method"].startswith("tiled")
    assert "budget" in tiled["reason"]


def test_tiled_bm25_repeats_every_hit_in_the_same_order(tmp_path: Path) -> None:
    text = scaling.TextModel.create(np.random.default_rng(0))
    rows = [
        (row, chunk.split()) for row, chunk in enumerate(text.chunks(50, np.random.default_rng(1)), start=1)
    ]
    original = LexicalIndex.build(rows)
    tiled = scaling.tiled_index(original, tmp_path, 3)
    assert tiled.size == 150 and len(tiled.parts) == 3
    query = rows[7][1][:6]
    hits = original.search(query, 5, parameters=BM25S_LUCENE)
    assert hits
    tiled_hits = tiled.search(query, 15, parameters=BM25S_LUCENE)
    # Each hit comes back three times (one per copy, the same score), in the original's order.
    assert [row for row, _ in tiled_hits[::3]] == [row for row, _ in hits]
    by_row = dict(tiled_hits)
    for row, _ in hits:
        assert {by_row[row + copy * len(rows)] for copy in range(3)} == {by_row[row]}


def test_result_is_json_and_renders_every_table(result: dict[str, Any]) -> None:
    json.dumps(result)
    markdown = scaling.to_markdown(result)
    assert markdown.startswith("## Index scaling")
    threads = result["vectors"]["faiss_omp_threads"]
    headers = ("| N | index | build s |", f"| N | p50 ms {threads}t", "| index | add |", "| N | how |")
    for header in (*headers, "| N | insert s |"):
        assert header in markdown
