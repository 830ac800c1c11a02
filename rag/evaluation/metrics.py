"""Evaluation metrics: pure functions over gold items, rankings and answers."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.text import stem

LAST_WORD = re.compile(r"[^\W\d_]+$")
WORD_START = re.compile(r"[^\W\d_]+")
DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−"), "-")

Fact = str | list[str]


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    type: str
    answer: str | None
    facts: list[Fact]
    doc_ids: list[str]
    evidence: list[str]
    split: str = "tune"
    """Half of the gold set: `tune` (weights and thresholds are chosen on it) or `test`."""

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GoldItem:
        return cls(
            id=str(data["id"]),
            question=str(data["question"]),
            type=str(data["type"]),
            answer=data.get("answer"),
            facts=list(data.get("facts", [])),
            doc_ids=list(data.get("doc_ids", [])),
            evidence=list(data.get("evidence", [])),
            split=str(data.get("split", "tune")),
        )


def normalize(text: str) -> str:
    """Compare text the way a reader would: case, unicode forms, dashes, decimal dots,
    thousands separators and the space before a percent sign do not matter."""
    text = unicodedata.normalize("NFKC", text).translate(DASHES).replace("·", ".").lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=\d)\s+%", "%", text)
    return re.sub(r"\s+", " ", text).strip()


def fact_present(fact: Fact, answer: str) -> bool:
    """Some alternative of the fact is in the answer, a number as a whole ("0%" is not in
    "50%", "4.4" not in "14.4" or "4.45") and a word as a word: it may end as another form of
    itself ("cost-effective" is in "cost-effectiveness": one stem), not run on into another
    word ("none" is not in "nonetheless") nor start inside one."""
    alternatives = [fact] if isinstance(fact, str) else fact
    normalized = normalize(answer)
    return any(_found(normalize(alt), normalized) for alt in alternatives)


def _found(fact: str, answer: str) -> bool:
    for match in _whole(fact).finditer(answer):
        start, end = match.span()
        if fact[:1].isalpha() and start > 0 and answer[start - 1].isalpha():
            continue  # it starts inside a longer word
        if fact[-1:].isalpha() and end < len(answer) and answer[end].isalpha():
            last = LAST_WORD.search(fact)
            longer = WORD_START.match(answer, end)
            if last and longer and stem([last.group(0)]) != stem([last.group(0) + longer.group(0)]):
                continue  # it runs on into another word
        return True
    return False


def _whole(text: str) -> re.Pattern[str]:
    before = r"(?<![\d.])" if text[:1].isdigit() else ""
    after = r"(?!\.?\d)" if text[-1:].isdigit() else ""
    return re.compile(before + re.escape(text) + after)


def answer_correct(facts: Sequence[Fact], answer: str) -> bool:
    """All required facts are in the answer."""
    return bool(facts) and all(fact_present(f, answer) for f in facts)


def citation_supported(evidence: Sequence[str], quotes: Sequence[str]) -> bool:
    """Some cited quote contains some gold evidence string."""
    normalized = [normalize(q) for q in quotes]
    return any(normalize(e) in q for e in evidence for q in normalized)


def unique_in_order(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def recall_at(ranked: Sequence[str], relevant: Sequence[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def reciprocal_rank(ranked: Sequence[str], relevant: Sequence[str], k: int = 10) -> float:
    for rank, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Sequence[str], k: int = 10) -> float:
    gains = sum(
        1.0 / math.log2(rank + 1) for rank, item in enumerate(ranked[:k], start=1) if item in relevant
    )
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(set(relevant)), k) + 1))
    return gains / ideal if ideal else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
