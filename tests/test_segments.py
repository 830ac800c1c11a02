"""Segments: BM25 and vector search over several segments with tombstones equal a fresh
build's, after adds, deletes and merges; files are shared between generations by hard links;
the merge policy's tiers."""

from __future__ import annotations

import random
from pathlib import Path

import bm25s
import numpy as np
import pytest

from rag.index import postings
from rag.index.lexical import BM25S_LUCENE, BM25Parameters, LexicalIndex
from rag.index.merge_policy import DEAD_FRACTION, SEGMENTS_PER_TIER, SegmentSize, merge_plan, tier
from rag.index.segment_vectors import SegmentVectors
from rag.index.segments import Segments, segment_name
from rag.index.vectors import FaissVectorIndex
from rag.settings import VectorSettings

WORDS = [f"w{i}" for i in range(60)]
DIM = 8
POLICY = VectorSettings()
QUERIES = [["w0"], ["w3", "w7"], ["w12", "w12", "w40"], ["w59", "w1", "w30"], ["nothing"]]
Rows = list[tuple[int, list[str]]]


def corpus(n: int, seed: int = 0) -> Rows:
    rng = random.Random(seed)
    # A skewed word distribution, so document frequencies differ from term to term.
    weights = [1 / (i + 1) for i in range(60)]
    return [(row, rng.choices(WORDS, weights=weights, k=rng.randint(1, 30))) for row in range(1, n + 1)]


def vector(row: int) -> np.ndarray:
    v = np.random.default_rng(row).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def vectors_of(rows: Rows) -> FaissVectorIndex:
    index = FaissVectorIndex.empty(DIM)
    if rows:
        index.add(np.array([r for r, _ in rows], dtype=np.int64), np.stack([vector(r) for r, _ in rows]))
    return index


def write(segments: Segments, generation: int, added: Rows, removed: set[int] = frozenset()) -> Segments:  # type: ignore[assignment]
    return segments.changed(segment_name(generation), added, vectors_of(added), removed, generation)


def fresh(rows: Rows) -> Segments:
    return write(Segments([]), 1, rows)


def assert_same_ranking(segments: Segments, reference: Segments, allowed: set[int] | None = None) -> None:
    lexical, expected = LexicalIndex(segments.list), LexicalIndex(reference.list)
    for query in QUERIES:
        got, want = (
            lexical.search(query, 20, allowed, parameters=BM25S_LUCENE),
            expected.search(query, 20, allowed, parameters=BM25S_LUCENE),
        )
        assert [row for row, _ in got] == [row for row, _ in want], query
        assert [score for _, score in got] == pytest.approx([score for _, score in want], rel=1e-9)
    dense, dense_expected = SegmentVectors(segments.list, DIM), SegmentVectors(reference.list, DIM)
    assert dense.size == dense_expected.size == segments.live == reference.live
    for seed in range(5):
        query = vector(10_000 + seed)
        got_dense = dense.search(query, 15, allowed)
        assert [row for row, _ in got_dense] == [row for row, _ in dense_expected.search(query, 15, allowed)]


@pytest.mark.parametrize("parameters", [BM25S_LUCENE, BM25Parameters(0.9, 0.4), BM25Parameters(2.0, 0.0)])
def test_scores_equal_bm25s_lucene_on_one_segment(parameters: BM25Parameters) -> None:
    """The reference it replaced: bm25s's Lucene BM25, same scores per chunk for the k1 and b
    given at query time."""
    rows = corpus(300)
    index = LexicalIndex.build(rows)
    reference = bm25s.BM25(method="lucene", k1=parameters.k1, b=parameters.b)
    reference.index([terms for _, terms in rows], show_progress=False)
    for query in QUERIES[:-1]:
        expected = np.asarray(reference.get_scores(query))
        got = dict(index.search(query, len(rows), parameters=parameters))
        for position, (row, _) in enumerate(rows):
            assert got.get(row, 0.0) == pytest.approx(float(expected[position]), rel=1e-5, abs=1e-6)


def test_adds_and_deletes_search_as_a_fresh_build() -> None:
    rows = corpus(400, seed=1)
    segments = Segments([])
    dead: set[int] = set()
    rng = random.Random(2)
    for generation, start in enumerate(range(0, 400, 50), start=1):
        removed = set(rng.sample([r for r, _ in rows[:start] if r not in dead], k=min(7, start)))
        dead |= removed
        segments = write(segments, generation, rows[start : start + 50], removed)
    assert len(segments.list) == 8 and segments.live == 400 - len(dead)
    reference = fresh([(r, t) for r, t in rows if r not in dead])
    assert_same_ranking(segments, reference)
    assert_same_ranking(segments, reference, allowed={r for r, _ in rows if r % 3 == 0})
    lexical, dense = LexicalIndex(segments.list), SegmentVectors(segments.list, DIM)
    found = {row for query in QUERIES for row, _ in lexical.search(query, 400, parameters=BM25S_LUCENE)}
    found |= {row for row, _ in dense.search(vector(5), 400)}
    assert found and not dead & found


def test_allowed_rows_restrict_the_ranking_not_the_statistics() -> None:
    rows = corpus(100, seed=3)
    index = LexicalIndex(write(fresh(rows[:60]), 2, rows[60:], {5}).list)
    allowed = {r for r, _ in rows if r % 3 == 0}
    full = dict(index.search(["w0", "w3"], 100, parameters=BM25S_LUCENE))
    got = index.search(["w0", "w3"], 100, allowed=allowed, parameters=BM25S_LUCENE)
    assert got and {row for row, _ in got} <= allowed
    assert all(full[row] == pytest.approx(score) for row, score in got)


def test_merges_keep_the_ranking_and_drop_dead_rows() -> None:
    rows = corpus(300, seed=4)
    segments = Segments([])
    for generation, start in enumerate(range(0, 300, 10), start=1):
        segments = write(segments, generation, rows[start : start + 10], {start} if start else set())
    by_row = dict(rows)

    def analyse(ids: np.ndarray) -> Rows:
        return [(int(r), by_row[int(r)]) for r in ids]

    merged = segments.merged(31, analyse, POLICY)
    assert len(segments.list) == 30 and len(merged.list) == 3  # small segments, ten at a time
    forced = merged.merged(32, analyse, POLICY, force=True)
    (only,) = forced.list
    assert only.live_count == segments.live == forced.live and not len(only.dead)
    reference = fresh([(r, by_row[r]) for r in sorted(int(r) for s in segments.list for r in s.live_rows())])
    for candidate in (segments, merged, forced):
        assert_same_ranking(candidate, reference)


def test_a_merged_segment_past_the_threshold_gets_ivf_vectors() -> None:
    rows = corpus(200, seed=6)
    segments = Segments([])
    for generation, start in enumerate(range(0, 200, 20), start=1):
        segments = write(segments, generation, rows[start : start + 20])
    policy = VectorSettings(type="auto", ivf_threshold=150, nprobe=4)
    by_row = dict(rows)
    merged = segments.merged(11, lambda ids: [(int(r), by_row[int(r)]) for r in ids], policy)
    (only,) = merged.list
    assert only.vectors.describe()["structure"] == "ivf" and SegmentVectors(merged.list, DIM).size == 200
    assert all(s.vectors.describe()["structure"] == "flat" for s in segments.list)
    # Rows deleted from the IVF segment are skipped by its search (a selector), filtered or not.
    deleted = set(range(1, 200, 7))
    tombstoned = merged.changed(segment_name(12), [], vectors_of([]), deleted, 12)
    dense = SegmentVectors(tombstoned.list, DIM)
    assert dense.size == 200 - len(deleted)
    for row in (1, 8, 50):  # each deleted row's own vector is its nearest neighbour, yet absent
        assert not deleted & {hit for hit, _ in dense.search(vector(row), 30)}
    assert {hit for hit, _ in dense.search(vector(8), 30, allowed={8, 9, 10})} == {9, 10}


def test_written_segments_are_read_back_and_unchanged_files_are_hard_links(tmp_path: Path) -> None:
    rows = corpus(120, seed=5)
    first = fresh(rows[:100])
    first.write(tmp_path / "gen-1")
    assert not list((tmp_path / "gen-1").glob("*.pkl"))
    second = write(Segments.read(tmp_path / "gen-1", DIM), 2, rows[100:], {3, 4})
    second.write(tmp_path / "gen-2")
    for name in ("seg-000001.docs.npy", "seg-000001.rows.npy", "seg-000001.terms.json", "seg-000001.faiss"):
        assert (tmp_path / "gen-1" / name).stat().st_ino == (tmp_path / "gen-2" / name).stat().st_ino
    assert (tmp_path / "gen-2" / "seg-000001.dead-000002.npy").is_file()
    assert not (tmp_path / "gen-1" / "seg-000001.dead-000002.npy").exists()  # the old one is untouched
    assert_same_ranking(Segments.read(tmp_path / "gen-2", DIM), second)
    assert_same_ranking(Segments.read(tmp_path / "gen-1", DIM), first)


def test_ties_break_by_row_id_even_at_the_cut() -> None:
    """Equal scores come back lowest row first, also when the k-th place is among them."""
    rows: Rows = [(row, ["same", "words"]) for row in range(1, 51)]
    index = LexicalIndex(write(fresh(rows), 2, [(51, ["same", "words"])], {7}).list)
    assert [row for row, _ in index.search(["same"], 5, parameters=BM25S_LUCENE)] == [1, 2, 3, 4, 5]
    assert [row for row, _ in index.search(["same"], 8, parameters=BM25S_LUCENE)][-2:] == [
        8,
        9,
    ]  # 7 is deleted


def test_tiers_merge_ten_segments_of_a_size_and_rewrite_mostly_dead_ones() -> None:
    assert tier(1) == tier(99) == 0 and tier(1_000) == 1 and tier(10_000) == 2
    small = [SegmentSize(f"s{i}", 20, 20) for i in range(SEGMENTS_PER_TIER - 1)]
    big = [SegmentSize("b", 5_000, 5_000)]
    assert merge_plan(small + big) == []
    ten = [*small, SegmentSize("s9", 5, 5)]
    assert merge_plan(ten + big) == [["s9", *(s.name for s in small)]]  # smallest first
    assert len(merge_plan(ten + ten[:5])) == 1  # ten at a time; five wait for more
    dead_share = int(1_000 * DEAD_FRACTION) + 1
    assert merge_plan([SegmentSize("d", 1_000, 1_000 - dead_share), *big]) == [["d"]]
    assert merge_plan([SegmentSize("d", 1_000, 1_000 - dead_share + 2), *big]) == []
    assert merge_plan(big, force=True) == []  # one segment and nothing deleted: already optimal
    assert merge_plan([*big, SegmentSize("d", 10, 9)], force=True) == [["b", "d"]]


@pytest.mark.parametrize("map_bytes", [0, postings.MAP_BYTES])  # every array mapped; only large ones
def test_read_segments_are_mapped_read_only_and_rank_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, map_bytes: int
) -> None:
    monkeypatch.setattr(postings, "MAP_BYTES", map_bytes)
    written = write(fresh(corpus(100, seed=3)), 2, corpus(120, seed=4)[100:], {5, 9})
    written.write(tmp_path)
    read = Segments.read(tmp_path, DIM)
    assert_same_ranking(read, written)
    for segment in read.list:
        arrays = segment.postings.arrays
        assert {key: a.dtype for key, a in arrays.items()} == postings.DTYPES
        assert all(isinstance(a, np.memmap) == (map_bytes == 0) for a in arrays.values())
        assert segment.vectors.mapped
        with pytest.raises(RuntimeError, match="read-only"):  # never written through the mapping
            segment.vectors.add(np.array([10_000], dtype=np.int64), np.stack([vector(10_000)]))
        with pytest.raises(RuntimeError, match="read-only"):
            segment.vectors.remove({1})
    found, expected = SegmentVectors(read.list, DIM), SegmentVectors(written.list, DIM)
    assert found.search(vector(7), 10) == expected.search(vector(7), 10)
