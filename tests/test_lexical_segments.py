"""Lexical segments: scores equal a fresh build's after adds, deletes and merges; files are
shared between generations by hard links; the merge policy's tiers."""

from __future__ import annotations

import random
from pathlib import Path

import bm25s
import numpy as np
import pytest

from rag.index.lexical import LexicalIndex, segment_name
from rag.index.merge_policy import DEAD_FRACTION, SEGMENTS_PER_TIER, SegmentSize, merge_plan, tier

WORDS = [f"w{i}" for i in range(60)]


def corpus(n: int, seed: int = 0) -> list[tuple[int, list[str]]]:
    rng = random.Random(seed)
    # A skewed word distribution, so document frequencies differ from term to term.
    return [
        (row, rng.choices(WORDS, weights=[1 / (i + 1) for i in range(60)], k=rng.randint(1, 30)))
        for row in range(1, n + 1)
    ]


QUERIES = [["w0"], ["w3", "w7"], ["w12", "w12", "w40"], ["w59", "w1", "w30"], ["nothing"]]


def assert_same_ranking(index: LexicalIndex, fresh: LexicalIndex, k: int = 20) -> None:
    for query in QUERIES:
        got, want = index.search(query, k), fresh.search(query, k)
        assert [row for row, _ in got] == [row for row, _ in want], query
        assert [score for _, score in got] == pytest.approx([score for _, score in want], rel=1e-9)


def test_scores_equal_bm25s_lucene_on_one_segment() -> None:
    """The reference it replaced: bm25s's Lucene BM25 (k1 1.5, b 0.75), same scores per chunk."""
    rows = corpus(300)
    index = LexicalIndex.build(rows)
    reference = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    reference.index([terms for _, terms in rows], show_progress=False)
    for query in QUERIES[:-1]:
        expected = np.asarray(reference.get_scores(query))
        got = dict(index.search(query, len(rows)))
        for position, (row, _) in enumerate(rows):
            assert got.get(row, 0.0) == pytest.approx(float(expected[position]), rel=1e-5, abs=1e-6)


def test_adds_and_deletes_score_as_a_fresh_build() -> None:
    rows = corpus(400, seed=1)
    index = LexicalIndex([])
    dead: set[int] = set()
    rng = random.Random(2)
    for generation, start in enumerate(range(0, 400, 50), start=1):
        removed = set(rng.sample([r for r, _ in rows[:start] if r not in dead], k=min(7, start)))
        dead |= removed
        index = index.changed(segment_name(generation), rows[start : start + 50], removed, generation)
    assert len(index.segments) == 8 and index.size == 400 - len(dead)
    fresh = LexicalIndex.build([(r, t) for r, t in rows if r not in dead])
    assert_same_ranking(index, fresh)
    assert not dead & {row for query in QUERIES for row, _ in index.search(query, 400)}


def test_allowed_rows_restrict_the_ranking_not_the_statistics() -> None:
    rows = corpus(100, seed=3)
    index = LexicalIndex.build(rows[:60]).changed("seg-000002", rows[60:], {5}, 2)
    allowed = {r for r, _ in rows if r % 3 == 0}
    full = dict(index.search(["w0", "w3"], 100))
    got = index.search(["w0", "w3"], 100, allowed=allowed)
    assert got and {row for row, _ in got} <= allowed
    assert all(full[row] == pytest.approx(score) for row, score in got)


def test_merges_keep_the_ranking_and_drop_dead_rows() -> None:
    rows = corpus(300, seed=4)
    index = LexicalIndex([])
    for generation, start in enumerate(range(0, 300, 10), start=1):
        index = index.changed(
            segment_name(generation), rows[start : start + 10], {start} if start else set(), generation
        )
    live = {int(r) for r in index.live_rows()}
    by_row = dict(rows)

    def analyse(ids: np.ndarray) -> list[tuple[int, list[str]]]:
        return [(int(r), by_row[int(r)]) for r in ids]

    merged = index.merged(31, analyse)
    assert len(index.segments) == 30 and len(merged.segments) == 3  # small segments, ten at a time
    forced = merged.merged(32, analyse, force=True)
    assert len(forced.segments) == 1 and forced.segments[0].live_count == len(live) == forced.size
    assert not len(forced.segments[0].dead)
    fresh = LexicalIndex.build([(r, by_row[r]) for r in sorted(live)])
    for candidate in (merged, forced):
        assert_same_ranking(candidate, fresh)


def test_written_segments_are_read_back_and_unchanged_ones_are_hard_links(tmp_path: Path) -> None:
    rows = corpus(120, seed=5)
    first = LexicalIndex.build(rows[:100], segment_name(1))
    first.write(tmp_path / "gen-1")
    assert not list((tmp_path / "gen-1").glob("*.pkl"))
    reread = LexicalIndex.read(tmp_path / "gen-1")
    second = reread.changed(segment_name(2), rows[100:], {3, 4}, 2)
    second.write(tmp_path / "gen-2")
    shared = tmp_path / "gen-1" / "seg-000001.npz", tmp_path / "gen-2" / "seg-000001.npz"
    assert shared[0].stat().st_ino == shared[1].stat().st_ino  # linked, not copied
    assert (tmp_path / "gen-2" / "seg-000001.dead-000002.npy").is_file()
    assert not (tmp_path / "gen-1" / "seg-000001.dead-000002.npy").exists()  # the old one is untouched
    assert_same_ranking(LexicalIndex.read(tmp_path / "gen-2"), second)
    assert_same_ranking(LexicalIndex.read(tmp_path / "gen-1"), first)


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


def test_ties_break_by_row_id_even_at_the_cut() -> None:
    """Equal scores come back lowest row first, also when the k-th place is among them."""
    rows = [(row, ["same", "words"]) for row in range(50, 0, -1)]  # given in reverse order
    index = LexicalIndex.build(sorted(rows)).changed("seg-000002", [(51, ["same", "words"])], {7}, 2)
    assert [row for row, _ in index.search(["same"], 5)] == [1, 2, 3, 4, 5]
    assert [row for row, _ in index.search(["same"], 8)][-2:] == [8, 9]  # 7 is deleted
