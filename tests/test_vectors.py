"""Contract tests: the FAISS index behaves exactly like a brute-force reference, as a flat index
and as an IVF index searched exhaustively (nprobe = nlist)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError
from rag.index import vectors as vectors_module
from rag.index.vectors import FaissVectorIndex, NumpyVectorIndex, VectorIndex
from rag.settings import VectorSettings

DIM = 16


def random_unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


EXHAUSTIVE_IVF = VectorSettings(type="ivf", nlist=4, nprobe=4)


@pytest.fixture(params=["flat", "ivf"])
def pair(request: pytest.FixtureRequest) -> tuple[VectorIndex, VectorIndex, np.random.Generator]:
    rng = np.random.default_rng(7)
    faiss_index, reference = FaissVectorIndex.empty(DIM), NumpyVectorIndex(DIM)
    ids, vectors = np.arange(100, 300, dtype=np.int64), random_unit(rng, 200)
    for index in (faiss_index, reference):
        index.add(ids, vectors)
    if request.param == "ivf":
        faiss_index = faiss_index.fitted(EXHAUSTIVE_IVF)
        assert faiss_index.describe()["structure"] == "ivf"
    return faiss_index, reference, rng


def ranked_ids(index: VectorIndex, query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[int]:
    return [i for i, _ in index.search(query, k, allowed)]


def test_search_matches_reference(pair: tuple[VectorIndex, VectorIndex, np.random.Generator]) -> None:
    faiss_index, reference, rng = pair
    for query in random_unit(rng, 20):
        assert ranked_ids(faiss_index, query, 10) == ranked_ids(reference, query, 10)
        scores = [s for _, s in faiss_index.search(query, 10)]
        assert np.allclose(scores, [s for _, s in reference.search(query, 10)], atol=1e-5)


def test_remove_and_filter_match_reference(
    pair: tuple[VectorIndex, VectorIndex, np.random.Generator],
) -> None:
    faiss_index, reference, rng = pair
    removed = set(range(100, 200, 3))
    for index in (faiss_index, reference):
        index.remove(removed)
    assert faiss_index.size == reference.size == 200 - len(removed)
    allowed = {i for i in range(100, 300) if i % 5 == 0}
    for query in random_unit(rng, 10):
        got = ranked_ids(faiss_index, query, 8, allowed)
        assert got == ranked_ids(reference, query, 8, allowed)
        assert set(got) <= allowed - removed
    assert faiss_index.search(random_unit(rng, 1)[0], 5, set()) == []


def test_a_large_filter_on_ivf_goes_through_the_selector(
    pair: tuple[VectorIndex, VectorIndex, np.random.Generator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above EXACT_FILTER_LIMIT allowed ids, IVF searches its lists with an id selector."""
    faiss_index, reference, rng = pair
    monkeypatch.setattr(vectors_module, "EXACT_FILTER_LIMIT", 0)
    allowed = set(range(100, 300, 2))
    for query in random_unit(rng, 10):
        assert ranked_ids(faiss_index, query, 8, allowed) == ranked_ids(reference, query, 8, allowed)


def test_round_trip_and_corruption(
    tmp_path: Path, pair: tuple[VectorIndex, VectorIndex, np.random.Generator]
) -> None:
    faiss_index, _, rng = pair
    assert isinstance(faiss_index, FaissVectorIndex)
    path = tmp_path / "v.faiss"
    faiss_index.write(path)
    loaded = FaissVectorIndex.read(path, DIM)
    query = random_unit(rng, 1)[0]
    assert loaded.search(query, 5) == faiss_index.search(query, 5)
    with pytest.raises(IndexCorruptError, match="dimensional"):
        FaissVectorIndex.read(path, DIM + 1)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="not a readable FAISS index"):
        FaissVectorIndex.read(path, DIM)


def test_merged_shards_match_reference_and_stay_removable(
    pair: tuple[VectorIndex, VectorIndex, np.random.Generator],
) -> None:
    faiss_index, reference, rng = pair
    shards = [
        (np.arange(start, start + 40, dtype=np.int64), random_unit(rng, 40)) for start in (500, 540, 580)
    ]
    for index in (faiss_index, reference):
        index.merge(shards)
    assert faiss_index.size == reference.size == 320
    for query in random_unit(rng, 10):
        assert ranked_ids(faiss_index, query, 10) == ranked_ids(reference, query, 10)
    for index in (faiss_index, reference):  # removal needs the id map that a merge rebuilds
        index.remove({510, 550, 590})
    assert faiss_index.size == reference.size == 317
    assert ranked_ids(faiss_index, shards[0][1][10], 1) != [510]
