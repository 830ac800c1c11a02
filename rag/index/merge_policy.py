"""Which segments to merge: a tiered policy, as Lucene's TieredMergePolicy and Tantivy's
log_merge_policy do it.

Segments are grouped in tiers by their live rows (tier t holds sizes in [F^t, F^(t+1)) times
the floor size); when a tier holds SEGMENTS_PER_TIER segments they are merged into one
(smallest first, that many at a time), which lands a tier higher. So each chunk is rewritten
about log_F(N) times over the life of an index and a search visits at most about
SEGMENTS_PER_TIER segments per tier. A segment whose rows are more than DEAD_FRACTION deleted
is rewritten without them (Qdrant's vacuum threshold); one with no live rows is dropped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

SEGMENTS_PER_TIER = 10
TIER_FACTOR = 10
FLOOR_ROWS = 100  # segments smaller than this all count as the lowest tier
DEAD_FRACTION = 0.2


@dataclass(frozen=True)
class SegmentSize:
    name: str
    rows: int
    live: int


def tier(live: int) -> int:
    return int(math.log(max(live, FLOOR_ROWS) / FLOOR_ROWS, TIER_FACTOR))


def merge_plan(segments: Sequence[SegmentSize], *, force: bool = False) -> list[list[str]]:
    """Groups of segment names to merge, each into one new segment; segments with no live rows
    form groups of their own (merging them means dropping them). `force` merges all into one
    (`rag optimize`)."""
    if force:
        return [[s.name for s in segments]] if len(segments) > 1 or _has_dead(segments) else []
    groups: list[list[str]] = []
    by_tier: dict[int, list[SegmentSize]] = defaultdict(list)
    for segment in segments:
        by_tier[tier(segment.live)].append(segment)
    for level in sorted(by_tier):
        members = sorted(by_tier[level], key=lambda s: s.live)
        whole = len(members) - len(members) % SEGMENTS_PER_TIER
        for start in range(0, whole, SEGMENTS_PER_TIER):  # smallest first, ten at a time
            groups.append([s.name for s in members[start : start + SEGMENTS_PER_TIER]])
        rest = members[whole:]
        groups += [[s.name] for s in rest if s.rows and (s.rows - s.live) / s.rows > DEAD_FRACTION]
    return groups


def _has_dead(segments: Sequence[SegmentSize]) -> bool:
    return any(s.live < s.rows for s in segments)
