"""A question's companions (its parts, the diseases it names) are embedded once and kept:
rag.embed.cache."""

from __future__ import annotations

import numpy as np

from rag.embed import Embedder
from rag.embed.cache import CompanionVectors


def test_companions_are_embedded_once_and_give_the_vectors_of_a_whole_batch(
    real_embedder: Embedder,
) -> None:
    batches: list[list[str]] = []

    class Counting:
        def embed(self, texts: list[str]) -> np.ndarray:
            batches.append(list(texts))
            return real_embedder.embed(texts)

    companions = CompanionVectors(Counting(), size=2)  # type: ignore[arg-type]
    first = ["Does sorafenib help liver cancer?", "liver cancer", "Does sorafenib help liver cancer?"]
    second = ["What about liver cancer in children?", "liver cancer", "children"]
    assert np.allclose(companions.embed(first), real_embedder.embed(first), atol=1e-6)
    assert np.allclose(companions.embed(second), real_embedder.embed(second), atol=1e-6)
    # The question each time; a repeat within a batch, or a companion kept from before, never.
    assert batches[0] == ["Does sorafenib help liver cancer?", "liver cancer"]
    assert batches[1] == ["What about liver cancer in children?", "children"]
    # At most `size` companions are kept, the least recently used dropped first.
    companions.embed(["Q?", "fever", "rash"])
    companions.embed(["Q?", "liver cancer"])
    assert batches[-1] == ["Q?", "liver cancer"]
