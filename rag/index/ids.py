"""Sets of chunk row ids as sorted int64 arrays: how a filter's allowed rows reach the vector and
BM25 searches. Membership is a binary search into the sorted set, so a test costs the log of
its size, never a pass over it or over a whole segment."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray


def id_array(ids: Collection[int]) -> NDArray[np.int64]:
    """`ids` as an int64 array (an array already is one: no copy, no loop over it in Python)."""
    if isinstance(ids, np.ndarray):
        return ids.astype(np.int64, copy=False)
    return np.fromiter(ids, dtype=np.int64, count=len(ids))


def sorted_ids(ids: Collection[int]) -> NDArray[np.int64]:
    """`ids` sorted (checked in one pass: the allowed rows of a filter come sorted)."""
    array = id_array(ids)
    return array if len(array) < 2 or bool(np.all(array[1:] >= array[:-1])) else np.sort(array)


def members(values: NDArray[np.int64], sorted_set: NDArray[np.int64]) -> NDArray[np.bool_]:
    """For each of `values`, whether it is in `sorted_set`."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    found: NDArray[np.bool_] = sorted_set[at] == values
    return found
