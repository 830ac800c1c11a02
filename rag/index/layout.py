"""Which FAISS structure an index of N vectors should have, and building it.

Exact flat search is the right index while it is fast enough; bench/results measured it under
10 ms per query up to 80k-150k vectors on one core, depending on the load, so the switch comes
at 50k. Past that, IVF-Flat
(nlist = 4·√N, spherical k-means) met every target at 1M: p50 about 1 ms, recall@10 ≥ 0.95,
about 1.55 KB per vector. HNSW was not chosen: it cannot delete vectors, and documents are
deleted and replaced here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import faiss
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from rag.settings import VectorSettings

Structure = Literal["flat", "ivf"]
LISTS_PER_SQRT_N = 4
TRAINING_POINTS_PER_LIST = 32  # FAISS's default asks for 39; spherical k-means converges well before
MIN_POINTS_PER_LIST = 39
KMEANS_ITERATIONS = 10
TRAINING_SEED = 1234
SAMPLE_BLOCK = 65_536
SAMPLE_SCALE = 4096.0


def structure_for(settings: VectorSettings, n: int, current: Structure | None = None) -> Structure:
    """The structure an index of `n` vectors should have (`current`: the one it has now)."""
    if n < MIN_POINTS_PER_LIST:
        return "flat"  # too few vectors to train even one list
    if settings.type != "auto":
        return settings.type
    if current == "ivf" and n >= settings.ivf_threshold // 2:
        return "ivf"  # hysteresis: deleting a few documents must not flip the index back and forth
    return "ivf" if n >= settings.ivf_threshold else "flat"


def lists_for(settings: VectorSettings, n: int) -> int:
    """IVF lists for `n` vectors."""
    wanted = settings.nlist or round(LISTS_PER_SQRT_N * math.sqrt(max(n, 1)))
    return max(1, min(wanted, n // MIN_POINTS_PER_LIST))


def structure_of(index: faiss.Index) -> Structure:
    return "ivf" if faiss.try_extract_index_ivf(index) is not None else "flat"


def fits(index: faiss.Index, policy: VectorSettings) -> bool:
    """True when `index` already has the structure (and, for IVF, the list count) `policy` wants."""
    n = int(index.ntotal)
    current = structure_of(index)
    if structure_for(policy, n, current) != current:
        return False
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return True
    if int(ivf.nprobe) != policy.nprobe:
        return False
    wanted = lists_for(policy, n)
    if policy.nlist:
        return int(ivf.nlist) == wanted
    # Retrain when the collection has grown or shrunk about 4x since the lists were made.
    return wanted / 2 <= int(ivf.nlist) <= wanted * 2


def build(ids: NDArray[np.int64], vectors: NDArray[np.float32], policy: VectorSettings) -> faiss.Index:
    """A new index of the wanted structure holding `vectors` under `ids`."""
    dimension = vectors.shape[1]
    index: faiss.Index
    if structure_for(policy, len(ids)) == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    else:
        index = _trained_ivf(vectors, lists_for(policy, len(ids)), policy.nprobe)
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index


def _trained_ivf(vectors: NDArray[np.float32], nlist: int, nprobe: int) -> faiss.Index:
    dimension = vectors.shape[1]
    index = faiss.index_factory(dimension, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.spherical = True  # the vectors are unit length: centroids should be too
    ivf.cp.niter = KMEANS_ITERATIONS
    ivf.cp.seed = TRAINING_SEED
    sample = vectors[training_sample(vectors, min(len(vectors), nlist * TRAINING_POINTS_PER_LIST))]
    ivf.cp.max_points_per_centroid = TRAINING_POINTS_PER_LIST
    ivf.cp.min_points_per_centroid = TRAINING_POINTS_PER_LIST  # the sample is sized on purpose
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    ivf.nprobe = nprobe
    # Deleting and re-adding documents removes ids; a hash table finds them without a scan.
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    return index


def training_sample(vectors: NDArray[np.float32], size: int) -> NDArray[np.int64]:
    """The positions of `size` vectors to train the lists on, in training order: a pseudo-random
    choice that depends on the vectors' values only, not on their order or row ids. The same
    vectors then train the same lists wherever they come from: `rag optimize` merging segments
    after writes builds the index a fresh build of the same documents builds."""
    direction = np.random.default_rng(TRAINING_SEED).standard_normal(vectors.shape[1])
    keys = np.empty(len(vectors), dtype=np.float64)
    for start in range(0, len(vectors), SAMPLE_BLOCK):  # float64 one block at a time
        block = np.asarray(vectors[start : start + SAMPLE_BLOCK], dtype=np.float64)
        keys[start : start + len(block)] = block @ direction
    # The fractional part of a scaled projection: spread like a uniform draw, unrelated to where
    # the vector lies, and the same number for the same vector.
    order = np.argsort(np.modf(np.abs(keys) * SAMPLE_SCALE)[0], kind="stable")
    return order[:size].astype(np.int64)


def contents(index: faiss.Index) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Every (id, vector) the index holds, for rebuilding it with another structure."""
    dimension = int(index.d)
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        mapped: Any = index  # IndexIDMap2 over IndexFlatIP, as FaissVectorIndex.empty makes it
        flat = faiss.downcast_index(mapped.index)
        ids = faiss.vector_to_array(mapped.id_map).astype(np.int64)
        vectors = flat.reconstruct_n(0, int(flat.ntotal)) if flat.ntotal else np.zeros((0, dimension))
        return ids, np.ascontiguousarray(vectors, dtype=np.float32)
    lists: Any = ivf.invlists
    id_parts, vector_parts = [], []
    for number in range(int(ivf.nlist)):
        size = int(lists.list_size(number))
        if size:
            id_parts.append(faiss.rev_swig_ptr(lists.get_ids(number), size).copy())
            codes = faiss.rev_swig_ptr(lists.get_codes(number), size * int(lists.code_size)).copy()
            vector_parts.append(codes.view(np.float32).reshape(size, dimension))
    if not id_parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dimension), dtype=np.float32)
    return np.concatenate(id_parts).astype(np.int64), np.concatenate(vector_parts)


def describe(index: faiss.Index) -> dict[str, Any]:
    """What the manifest records about the vector index."""
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return {"structure": "flat", "factory": "IDMap2,Flat", "vectors": int(index.ntotal)}
    return {
        "structure": "ivf",
        "factory": f"IVF{ivf.nlist},Flat",
        "vectors": int(index.ntotal),
        "nlist": int(ivf.nlist),
        "nprobe": int(ivf.nprobe),
    }
