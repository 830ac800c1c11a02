"""What a composer answers with: the candidate sentences it chooses from, the composition it
returns, and the protocol every composer (extractive, generative) follows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rag.answer.evidence import Evidence
from rag.answer.features import Features
from rag.documents import Citation, Dropped, Passage, Support

NOT_FOUND = "The documents do not contain an answer to this question."


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    start: int
    end: int
    features: tuple[Features, ...]  # one per question part
    scores: tuple[float, ...]
    context: float

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]

    @property
    def score(self) -> float:
        return max(self.scores)

    def reports_measure(self, part: int) -> bool:
        return self.features[part].measure == 1.0


@dataclass(frozen=True)
class Composition:
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    reason: str | None = None
    composer: str = "extractive"
    """Which composer wrote the answer: extractive, generative, or extractive-fallback (a
    generated answer of which no sentence survived verification)."""
    dropped: tuple[Dropped, ...] = ()
    """Generated sentences removed by verification, with the reason."""
    generate_ms: float | None = None
    """Time the language model spent writing (generative composer only)."""
    candidates: tuple[Candidate, ...] = field(default=(), repr=False)
    support: Support | None = None
    """The support model's probability that the answer holds what was asked (extractive)."""
    support_features: dict[str, float] | None = field(default=None, repr=False)
    """What the support model read (extractive answers; what `rag train` learns from)."""


class Composer(Protocol):
    def compose(self, evidence: Evidence) -> Composition: ...


def abstain(reason: str, detail: str = "", candidates: Sequence[Candidate] = ()) -> Composition:
    return Composition(f"{NOT_FOUND} {detail}".strip(), True, (), reason=reason, candidates=tuple(candidates))
