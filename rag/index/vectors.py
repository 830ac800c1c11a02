"""Vector indexes: inner-product search over L2-normalized embeddings.

`FaissVectorIndex` is the product's index: exact (flat) for small collections, IVF past a
size threshold (`rag.index.layout`). `NumpyVectorIndex` is a brute-force reference with the
same interface, used to check FAISS in the contract tests.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import faiss
import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError
from rag.index import layout as vector_layout
from rag.index.ids import id_array
from rag.settings import VectorSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

INDEX_TYPE = "faiss-ip"
# Below this many allowed ids, a filtered IVF search scores them exactly: probing lists could
# miss a small document set entirely, and scoring a few thousand vectors takes well under 1 ms.
EXACT_FILTER_LIMIT = 4096
# A filter's ids as a bitmap over 0..max id unless that takes more than this many bits per id
# (and more than BITMAP_MIN_BITS in all): then as FAISS's hash set.
BITMAP_BITS_PER_ID = 512
BITMAP_MIN_BITS = 1 << 23


class VectorIndex(Protocol):
    """Maps int64 ids to vectors; search returns ids ranked by inner product."""

    @property
    def size(self) -> int: ...

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None: ...

    def merge(self, shards: Sequence[tuple[NDArray[np.int64], NDArray[np.float32]]]) -> None:
        """Add vectors computed in parts (one per worker batch of a distributed ingest)."""
        ...

    def remove(self, ids: Collection[int]) -> None: ...

    def search(
        self, query: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]: ...


class FaissVectorIndex:
    def __init__(self, index: faiss.Index, *, mapped: bool = False) -> None:
        self._index = index
        self.mapped = mapped
        """Read with its vectors mapped from a file (`read`): searched, never changed."""

    @classmethod
    def empty(cls, dimension: int) -> FaissVectorIndex:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    @classmethod
    def read(cls, path: Path, dimension: int) -> FaissVectorIndex:
        """The index in `path`, its vectors (a flat index's or the IVF lists') mapped read-only
        from the file rather than read into memory (FAISS's `IO_FLAG_MMAP_IFC`): opening costs
        the same at any size and a search touches only the pages it scores. Verify the file
        first; it must not change while mapped (segment files never do)."""
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing", REBUILD_HINT)
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as exc:
            raise IndexCorruptError(f"{path} is not a readable FAISS index: {exc}", REBUILD_HINT) from exc
        if index.d != dimension:
            raise IndexCorruptError(
                f"{path} holds {index.d}-dimensional vectors, the manifest says {dimension}", REBUILD_HINT
            )
        return cls(index, mapped=True)

    def write(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @property
    def faiss_index(self) -> faiss.Index:
        return self._index

    def ids(self) -> NDArray[np.int64]:
        """The ids it holds, sorted (a flat index's id map; an IVF index's inverted lists)."""
        if faiss.try_extract_index_ivf(self._index) is None:
            mapped: Any = self._index
            return np.sort(faiss.vector_to_array(mapped.id_map).astype(np.int64))
        return np.sort(vector_layout.contents(self._index)[0])

    def fitted(self, policy: VectorSettings) -> FaissVectorIndex:
        """This index, rebuilt if its structure is not what `policy` wants at its size."""
        if vector_layout.fits(self._index, policy):
            return self
        ivf = faiss.try_extract_index_ivf(self._index)
        if ivf is not None and vector_layout.structure_for(policy, self.size, "ivf") == "ivf":
            ivf.nprobe = policy.nprobe  # a search setting: no need to rebuild for it
            if vector_layout.fits(self._index, policy):
                return self
        ids, vectors = vector_layout.contents(self._index)
        return FaissVectorIndex(vector_layout.build(ids, vectors, policy))

    def fits(self, policy: VectorSettings) -> bool:
        return vector_layout.fits(self._index, policy)

    def describe(self) -> dict[str, object]:
        return vector_layout.describe(self._index)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def _check_writable(self) -> None:
        if self.mapped:  # FAISS would write into the read-only mapping and crash the process
            raise RuntimeError("a FAISS index mapped from a segment file is read-only")

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        self._check_writable()
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def merge(self, shards: Sequence[tuple[NDArray[np.int64], NDArray[np.float32]]]) -> None:
        """Each part becomes an index of this one's structure (flat, or IVF on this index's trained
        quantizer) and is merged in with FAISS's `merge_from`, as shards built on separate
        workers would be."""
        self._check_writable()
        ivf = faiss.try_extract_index_ivf(self._index)
        if ivf is not None:  # FAISS merges IVF lists only without a direct map; it is rebuilt after
            ivf.set_direct_map_type(faiss.DirectMap.NoMap)  # type: ignore[attr-defined]
        for ids, vectors in shards:
            if not len(ids):
                continue
            shard: faiss.Index
            if ivf is None:
                shard = faiss.IndexIDMap2(faiss.IndexFlatIP(int(self._index.d)))
            else:
                shard = faiss.IndexIVFFlat(
                    ivf.quantizer, int(ivf.d), int(ivf.nlist), faiss.METRIC_INNER_PRODUCT
                )
            shard.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
            self._index.merge_from(shard, 0)
        if ivf is not None:
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]

    def remove(self, ids: Collection[int]) -> None:
        self._check_writable()
        if ids:
            self._index.remove_ids(np.fromiter(ids, dtype=np.int64, count=len(ids)))  # type: ignore[arg-type]

    def search(
        self,
        query: NDArray[np.float32],
        k: int,
        allowed: Collection[int] | None = None,
        excluded: NDArray[np.int64] | None = None,
    ) -> list[tuple[int, float]]:
        """The k ids most similar to `query`, among `allowed` when given, never `excluded`
        (deleted rows; ignored when `allowed` is given: leave them out of it)."""
        if self.size == 0 or k <= 0:
            return []
        query = query.reshape(1, -1).astype(np.float32)
        ivf = faiss.try_extract_index_ivf(self._index)
        params: faiss.SearchParameters | None = None
        selectors: list[faiss.IDSelector] = []  # kept alive until the search returns
        if allowed is None and excluded is not None and len(excluded):
            selectors = [faiss.IDSelectorBatch(excluded.astype(np.int64))]
            selectors.append(faiss.IDSelectorNot(selectors[0]))
            if ivf is not None:
                params = faiss.SearchParametersIVF(sel=selectors[1], nprobe=int(ivf.nprobe))  # type: ignore[call-arg]
            else:
                params = faiss.SearchParameters(sel=selectors[1])  # type: ignore[call-arg]
        if allowed is not None:
            if not len(allowed):
                return []
            allowed_ids = id_array(allowed)
            mapped = ivf is not None and ivf.direct_map.type != faiss.DirectMap.NoMap  # type: ignore[attr-defined]
            if mapped and len(allowed_ids) <= EXACT_FILTER_LIMIT:
                return self._exact(query[0], k, allowed_ids)
            # FAISS reads the bitmap through a pointer: this frame holds it until the search returns.
            selector, _bitmap = allowed_selector(allowed_ids)
            selectors = [selector]
            if ivf is not None:
                probes = filtered_probes(int(ivf.nprobe), int(ivf.nlist), self.size, len(allowed_ids))
                params = faiss.SearchParametersIVF(sel=selector, nprobe=probes)  # type: ignore[call-arg]
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        k = min(k, self.size)
        # One query is too little work to share: waking a second OpenMP thread on busy cores
        # costs milliseconds (bench/results: 8 ms vs 0.1 ms at 5k vectors). The setting is
        # per calling thread, and put back for the embedding model, which shares OpenMP.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self._index.search(query, k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _exact(self, query: NDArray[np.float32], k: int, ids: NDArray[np.int64]) -> list[tuple[int, float]]:
        try:  # all at once (a segment's allowed rows are its own); else one by one, skipping absent ones
            found_ids, vectors = ids, np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32)
        except RuntimeError:
            found = [(int(i), vector) for i in ids if (vector := self._vector(int(i))) is not None]
            if not found:
                return []
            found_ids = np.array([i for i, _ in found], dtype=np.int64)
            vectors = np.vstack([vector for _, vector in found])
        scores = vectors @ query
        best = np.argsort(-scores, kind="stable")[:k]
        return [(int(found_ids[j]), float(scores[j])) for j in best]

    def _vector(self, key: int) -> NDArray[np.float32] | None:
        """The stored vector of `key`, or None when the index does not hold it (an allowed id
        is a filter, not a promise that the id is present)."""
        try:
            return np.asarray(self._index.reconstruct(key), dtype=np.float32)
        except RuntimeError:  # FAISS's only answer to "not in the direct map"
            return None


def allowed_selector(ids: NDArray[np.int64]) -> tuple[faiss.IDSelector, NDArray[np.uint8] | None]:
    """A FAISS selector letting through `ids` (non-negative), and the bitmap it reads (None: it
    reads none), which must outlive the search. A bitmap over 0..max(ids) is built with numpy
    in well under a millisecond for 100k rows and checked in a few instructions per vector;
    FAISS's hash set (`IDSelectorBatch`) took 3 ms to build for 50k ids and made IVF 6x
    slower (bench notes in docs/benchmarks.md). Ids spread far beyond their count get the set."""
    top = int(ids.max())
    if top + 1 > max(BITMAP_MIN_BITS, BITMAP_BITS_PER_ID * len(ids)):
        return faiss.IDSelectorBatch(ids), None
    bits = np.zeros(top + 1, dtype=bool)
    bits[ids] = True
    bitmap = np.packbits(bits, bitorder="little")
    return faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap)), bitmap  # n: in bytes


def filtered_probes(nprobe: int, nlist: int, size: int, allowed: int) -> int:
    """The IVF lists to probe when only `allowed` of the `size` vectors may be returned: `nprobe`
    scaled by how few pass, so a search probes about as many allowed vectors as an unfiltered
    one (a filter passing half the rows probes twice the lists; one passing 1% probes every
    list), and a selective filter still finds its k best instead of the few that fell into the
    lists nearest the query."""
    if allowed >= size:
        return nprobe
    return min(nlist, max(nprobe, math.ceil(nprobe * size / max(allowed, 1))))


class NumpyVectorIndex:
    """Brute-force reference implementation of VectorIndex."""

    def __init__(self, dimension: int) -> None:
        self._vectors: dict[int, NDArray[np.float32]] = {}
        self._dimension = dimension

    @property
    def size(self) -> int:
        return len(self._vectors)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        for i, vector in zip(ids.tolist(), vectors, strict=True):
            self._vectors[int(i)] = vector.astype(np.float32)

    def merge(self, shards: Sequence[tuple[NDArray[np.int64], NDArray[np.float32]]]) -> None:
        for ids, vectors in shards:
            self.add(ids, vectors)

    def remove(self, ids: Collection[int]) -> None:
        for i in ids:
            self._vectors.pop(int(i), None)

    def search(
        self, query: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        keys = [i for i in self._vectors if allowed is None or i in allowed]
        scored = [(i, float(self._vectors[i] @ query)) for i in keys]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:k]
