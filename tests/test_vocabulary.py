"""The lexicon a write updates (base + changes, folded into a new base now and then) answers
exactly as one built from the whole vocabulary."""

from __future__ import annotations

import random

import numpy as np
import pytest

from rag.index import vocabulary
from rag.index.vocabulary import Lexicon
from rag.text import stem

DIMENSION = 8


def built(truth: dict[str, tuple[int, np.ndarray]], chunks: int) -> Lexicon:
    words = sorted(w for w, (df, _) in truth.items() if df > 0)
    vectors = np.array([truth[w][1] for w in words], dtype=np.float32).reshape(-1, DIMENSION)
    return Lexicon(words, np.array([truth[w][0] for w in words], dtype=np.int64), vectors, chunks)


@pytest.mark.parametrize("minimum", [3, 10_000])  # folded often, and never
def test_updates_answer_as_a_lexicon_built_from_the_vocabulary(
    monkeypatch: pytest.MonkeyPatch, minimum: int
) -> None:
    monkeypatch.setattr(vocabulary, "COMPACT_MINIMUM", minimum)
    rng = random.Random(16)
    nprng = np.random.default_rng(16)
    pool = [
        f"{stem_}{suffix}"
        for stem_ in ("sorafenib", "tumor", "dose", "fever", "liver")
        for suffix in ("", "s", "ing")
    ]
    pool += ["HCC", "OS", "PFS", "xylofenib"]
    truth = {w: (rng.randint(1, 5), nprng.standard_normal(DIMENSION).astype(np.float32)) for w in pool[:8]}
    lexicon = built(truth, 10)
    for step in range(40):
        changes = []
        for word in rng.sample(pool, 4):
            df, vector = truth.get(word, (0, nprng.standard_normal(DIMENSION).astype(np.float32)))
            df = max(0, df + rng.choice([-3, -1, 1, 2]))
            truth[word] = (df, vector)
            changes.append((word, df, vector if df > 0 else None))
        lexicon = lexicon.updated(changes, 10 + step)
        expected = built(truth, 10 + step)
        assert lexicon.size == expected.size
        for word in [*pool, "absent"]:
            assert lexicon.contains(word) == expected.contains(word), (step, word)
            stemmed = stem([word.lower()])[0]
            assert lexicon.idf(stemmed) == pytest.approx(expected.idf(stemmed)), (step, word)
        queries = nprng.standard_normal((5, DIMENSION)).astype(np.float32)
        found, wanted = lexicon.nearest(queries), expected.nearest(queries)
        assert [w for w, _ in found] == [w for w, _ in wanted], step
        assert [s for _, s in found] == pytest.approx([s for _, s in wanted]), step
