"""The vector index takes the structure its size calls for: exact flat, then IVF."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.index.layout import MIN_POINTS_PER_LIST, build, contents, fits, lists_for, structure_for
from rag.index.vectors import FaissVectorIndex
from rag.pipeline import Pipeline
from rag.settings import Settings, VectorSettings
from rag.testing import FakeEmbedder
from tests.conftest import CORPUS

DIM = 32


def clustered(rng: np.random.Generator, n: int, clusters: int = 40) -> np.ndarray:
    """Unit vectors around a few centres, as real embeddings are (uniform noise has no structure)."""
    centres = rng.normal(size=(clusters, DIM))
    x = centres[rng.integers(clusters, size=n)] + 0.35 * rng.normal(size=(n, DIM))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_auto_is_flat_below_the_threshold_and_ivf_from_it() -> None:
    policy = VectorSettings(type="auto", ivf_threshold=10_000)
    assert structure_for(policy, 9_999) == "flat"
    assert structure_for(policy, 10_000) == "ivf"
    # Shrinking a little does not flip an IVF index back; shrinking by half does.
    assert structure_for(policy, 6_000, current="ivf") == "ivf"
    assert structure_for(policy, 4_999, current="ivf") == "flat"
    assert structure_for(VectorSettings(type="flat"), 10**7) == "flat"
    assert structure_for(VectorSettings(type="ivf"), MIN_POINTS_PER_LIST - 1) == "flat"


def test_lists_grow_with_the_square_root_of_the_size() -> None:
    policy = VectorSettings()
    assert lists_for(policy, 100_000) == 1265
    assert lists_for(policy, 1_000_000) == 4000
    assert lists_for(VectorSettings(nlist=300), 1_000_000) == 300
    assert lists_for(policy, 100) == 100 // MIN_POINTS_PER_LIST  # never fewer than 39 points per list


def test_ivf_recall_against_exact_search() -> None:
    rng = np.random.default_rng(3)
    data, queries = clustered(rng, 20_000), clustered(rng, 50)
    ids = np.arange(20_000, dtype=np.int64) * 7
    policy = VectorSettings(type="auto", ivf_threshold=10_000, nprobe=32)
    ivf = FaissVectorIndex(build(ids, data, policy))
    exact = FaissVectorIndex(build(ids, data, VectorSettings(type="flat")))
    assert ivf.describe()["structure"] == "ivf" and exact.describe()["structure"] == "flat"
    recall = np.mean(
        [len({i for i, _ in ivf.search(q, 10)} & {i for i, _ in exact.search(q, 10)}) / 10 for q in queries]
    )
    assert recall >= 0.95


def test_contents_round_trip_through_both_structures() -> None:
    rng = np.random.default_rng(5)
    data, ids = clustered(rng, 3_000), rng.permutation(10_000)[:3_000].astype(np.int64)
    for policy in (VectorSettings(type="flat"), VectorSettings(type="ivf")):
        got_ids, got_vectors = contents(build(ids, data, policy))
        order = np.argsort(got_ids)
        expected = np.argsort(ids)
        assert np.array_equal(got_ids[order], ids[expected])
        assert np.allclose(got_vectors[order], data[expected])


def test_fitted_converts_as_the_collection_grows_and_shrinks(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    policy = VectorSettings(type="auto", ivf_threshold=2_000, nprobe=16)
    index = FaissVectorIndex.empty(DIM)
    index.add(np.arange(1_000, dtype=np.int64), clustered(rng, 1_000))
    assert index.fitted(policy) is index  # small: stays flat
    index.add(np.arange(1_000, 3_000, dtype=np.int64), clustered(rng, 2_000))
    grown = index.fitted(policy)
    assert grown.describe() == {
        "structure": "ivf",
        "factory": "IVF76,Flat",
        "vectors": 3000,
        "nlist": 76,
        "nprobe": 16,
    }
    # Deletes work on IVF, and the structure survives a write and a read.
    grown.remove(set(range(0, 3_000, 2)))
    path = tmp_path / "v.faiss"
    grown.write(path)
    loaded = FaissVectorIndex.read(path, DIM)
    assert loaded.describe()["nprobe"] == 16 and loaded.size == 1_500
    assert fits(loaded._index, policy)
    assert not fits(loaded._index, VectorSettings(type="auto", ivf_threshold=2_000, nprobe=32))
    with pytest.raises(RuntimeError, match="read-only"):  # a read index is mapped from its file
        loaded.remove(set(range(1, 3_000, 4)))
    grown.remove(set(range(1, 3_000, 4)))  # 750 left: under half the threshold
    assert grown.fitted(policy).describe()["structure"] == "flat"
    assert loaded.fitted(policy) is loaded and loaded.size == 1_500  # unchanged


def test_the_manifest_records_the_structure_and_ingest_applies_a_new_setting(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    small_ivf = VectorSettings(type="auto", ivf_threshold=60, nprobe=2)
    pipeline = Pipeline(
        Settings(corpus_dir=CORPUS, index_dir=index_dir, vectors=small_ivf), FakeEmbedder(), None
    )
    pipeline.ingest()
    first = pipeline.index
    manifest = json.loads((first.directory / "manifest.json").read_text())
    assert manifest["vectors"]["structure"] == "ivf" and manifest["vectors"]["nprobe"] == 2
    question = "median progression-free survival of sorafenib after sunitinib"
    assert pipeline.search(question)  # answers from the IVF index
    pipeline.close()

    flat = Pipeline(Settings(corpus_dir=CORPUS, index_dir=index_dir), FakeEmbedder(), None)
    result = flat.ingest()  # no document changed, but the structure must
    assert not result.report.changed and result.report.generation == first.generation + 1
    assert flat.index.manifest is not None and flat.index.manifest.vectors["structure"] == "flat"
    assert flat.ingest().report.generation == first.generation + 1  # now nothing to do
    flat.close()


@pytest.mark.parametrize("n", [0, 10])
def test_tiny_collections_stay_flat_even_when_ivf_is_asked_for(n: int) -> None:
    rng = np.random.default_rng(1)
    index = build(np.arange(n, dtype=np.int64), clustered(rng, n), VectorSettings(type="ivf"))
    assert FaissVectorIndex(index).describe()["structure"] == "flat"


def test_the_same_vectors_under_other_ids_and_in_another_order_train_the_same_lists() -> None:
    """What `rag optimize` merges after writes (rows renumbered, segments in another order) is
    indexed as a fresh build of the same documents indexes it: same lists, same results."""
    rng = np.random.default_rng(8)
    data, queries = clustered(rng, 12_000), clustered(rng, 40)
    policy = VectorSettings(type="ivf", nprobe=4)
    fresh = FaissVectorIndex(build(np.arange(12_000, dtype=np.int64), data, policy))
    shuffled = rng.permutation(12_000)
    merged = FaissVectorIndex(build(shuffled.astype(np.int64) + 50_000, data[shuffled], policy))
    for query in queries:
        ours = [(i - 50_000, round(s, 5)) for i, s in merged.search(query, 10)]
        theirs = [(i, round(s, 5)) for i, s in fresh.search(query, 10)]
        assert ours == theirs
