"""Synthetic data: embedding-like vectors and Zipf-distributed chunk text (see the package docstring)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.scaling.config import (
    DIMENSION,
    GENERATION_BLOCK,
    LATENT_RANK,
    MEAN_WEIGHT,
    QUERY_NOISE,
    QUERY_WORDS,
    SENTENCES_PER_CHUNK,
    SPECTRUM_DECAY,
    SPECTRUM_SAMPLE,
    STOPWORD_ORDER,
    SUFFIXES,
    SYLLABLES,
    TOPIC_SIZE_SIGMA,
    TOPIC_WEIGHT,
    TOPICS,
    VOCABULARY,
    WITHIN_WEIGHT,
    WORDS_PER_CHUNK,
    ZIPF_EXPONENT,
    ZIPF_TABLE_SIZE,
    K,
)
from bench.scaling.measure import single_blas_thread
from rag.documents import Span
from rag.text import STOPWORDS

if TYPE_CHECKING:
    from numpy.typing import NDArray


# --- synthetic embeddings ----------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingModel:
    """A Gaussian mixture that looks like sentence embeddings (see the package docstring)."""

    mean: NDArray[np.float32]
    topics: NDArray[np.float32]
    topic_cdf: NDArray[np.float64]
    within: NDArray[np.float32]  # scales of the first LATENT_RANK components; E|variation|^2 = 1

    @classmethod
    def create(cls, rng: np.random.Generator) -> EmbeddingModel:
        # The spectrum decays along the coordinate axes, without a random rotation: every index
        # measured here depends on inner products only, which a rotation leaves unchanged.
        scale = ((np.arange(DIMENSION) + 1.0) ** -SPECTRUM_DECAY).astype(np.float32)
        mean = normalized(rng.standard_normal((1, DIMENSION)).astype(np.float32))[0]
        topics = normalized(rng.standard_normal((TOPICS, DIMENSION)).astype(np.float32) * scale)
        sizes = rng.lognormal(0.0, TOPIC_SIZE_SIGMA, TOPICS)
        within = scale[:LATENT_RANK] / np.linalg.norm(scale[:LATENT_RANK])
        return cls(mean, topics, np.cumsum(sizes) / sizes.sum(), within)

    def sample(self, n: int, rng: np.random.Generator) -> NDArray[np.float32]:
        out = np.empty((n, DIMENSION), dtype=np.float32)
        for start in range(0, n, GENERATION_BLOCK):
            count = min(GENERATION_BLOCK, n - start)
            topic = np.minimum(np.searchsorted(self.topic_cdf, rng.random(count)), TOPICS - 1)
            block = self.topics[topic] * TOPIC_WEIGHT + self.mean * MEAN_WEIGHT
            block += WITHIN_WEIGHT * self.variation(count, rng)
            out[start : start + count] = normalized(block)
        return out

    def queries(self, data: NDArray[np.float32], count: int, rng: np.random.Generator) -> NDArray[np.float32]:
        """Paraphrase-like queries: data points moved within their topic's subspace."""
        near = data[rng.choice(len(data), size=min(count, len(data)), replace=False)]
        return normalized(near + QUERY_NOISE * self.variation(len(near), rng))

    def variation(self, count: int, rng: np.random.Generator) -> NDArray[np.float32]:
        """Within-topic variation: LATENT_RANK components, with the topics' decaying spectrum."""
        out = np.zeros((count, DIMENSION), dtype=np.float32)
        out[:, :LATENT_RANK] = rng.standard_normal((count, LATENT_RANK), dtype=np.float32) * self.within
        return out


def normalized(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def data_statistics(data: NDArray[np.float32], truth_scores: NDArray[np.float32]) -> dict[str, Any]:
    """How embedding-like a generated set is; rows are i.i.d., so a prefix is a random sample."""
    sample = data[: min(len(data), 2000)]
    half = len(sample) // 2
    with single_blas_thread():
        pairs = sample[:half] @ sample[half : 2 * half].T
        components = spectrum(sample)
    return {
        "random_pair_cosine": round(float(pairs.mean()), 3),
        "random_pair_cosine_sd": round(float(pairs.std()), 3),
        "query_top1_cosine": round(float(truth_scores[:, 0].mean()), 3),
        "query_top10_cosine": round(float(truth_scores[:, K - 1].mean()), 3),
        "components_for_50_80_90_pct_variance": components,
        "spectrum_sample": SPECTRUM_SAMPLE,
    }


def spectrum(sample: NDArray[np.float32]) -> list[float]:
    """Principal components holding 50/80/90 % of the variance of SPECTRUM_SAMPLE vectors (the
    size of the service corpus it is compared with), averaged over disjoint samples."""
    counts = []
    for start in range(0, len(sample) - SPECTRUM_SAMPLE + 1, SPECTRUM_SAMPLE):
        part = sample[start : start + SPECTRUM_SAMPLE]
        variance = np.linalg.svd(part - part.mean(axis=0), compute_uv=False) ** 2
        share = np.cumsum(variance) / variance.sum()
        counts.append([int(np.searchsorted(share, level)) + 1 for level in (0.5, 0.8, 0.9)])
    return [round(float(c), 1) for c in np.mean(counts, axis=0)] if counts else []


# --- synthetic text ----------------------------------------------------------------------


@dataclass(frozen=True)
class TextModel:
    """A Zipf vocabulary: stop words first, then pronounceable pseudo-words."""

    words: NDArray[np.object_]
    ranks: NDArray[np.int32]  # a uniform draw from this table is a Zipf-distributed word rank

    @classmethod
    def create(cls, rng: np.random.Generator) -> TextModel:
        stop = [w for w in STOPWORD_ORDER if w in STOPWORDS] + sorted(STOPWORDS - set(STOPWORD_ORDER))
        words = dict.fromkeys(stop)
        while len(words) < VOCABULARY:
            for word in pseudo_words(VOCABULARY, rng):
                if len(words) < VOCABULARY:
                    words.setdefault(word)
        weights = 1.0 / np.arange(1, VOCABULARY + 1) ** ZIPF_EXPONENT
        cdf = np.cumsum(weights) / weights.sum()
        cells = (np.arange(ZIPF_TABLE_SIZE) + 0.5) / ZIPF_TABLE_SIZE
        ranks = np.minimum(np.searchsorted(cdf, cells), VOCABULARY - 1).astype(np.int32)
        return cls(np.array(list(words), dtype=object), ranks)

    def draw(self, shape: tuple[int, ...], rng: np.random.Generator) -> NDArray[np.object_]:
        return self.words[self.ranks[rng.integers(0, len(self.ranks), size=shape)]]

    def chunks(self, count: int, rng: np.random.Generator) -> list[str]:
        """Chunk texts of WORDS_PER_CHUNK words in SENTENCES_PER_CHUNK sentences."""
        bounds = np.linspace(0, WORDS_PER_CHUNK, SENTENCES_PER_CHUNK + 1).astype(int).tolist()
        texts: list[str] = []
        for start in range(0, count, GENERATION_BLOCK):
            block = self.draw((min(GENERATION_BLOCK, count - start), WORDS_PER_CHUNK), rng)
            texts.extend(
                ". ".join(" ".join(row[a:b]) for a, b in itertools.pairwise(bounds)) + "."
                for row in block.tolist()
            )
        return texts

    def queries(self, count: int, rng: np.random.Generator) -> list[str]:
        low, high = QUERY_WORDS
        return [" ".join(self.draw((int(rng.integers(low, high + 1)),), rng).tolist()) for _ in range(count)]


def pseudo_words(count: int, rng: np.random.Generator) -> list[str]:
    syllables = np.array(SYLLABLES, dtype=object)[rng.integers(0, len(SYLLABLES), size=(count, 4))]
    lengths = rng.integers(1, 5, size=count).tolist()
    suffixes = np.array(SUFFIXES, dtype=object)[rng.integers(0, len(SUFFIXES), size=count)].tolist()
    return [
        "".join(row[:length]) + suffix
        for row, length, suffix in zip(syllables.tolist(), lengths, suffixes, strict=True)
    ]


def sentence_spans(text: str) -> tuple[Span, ...]:
    spans = []
    start = 0
    while start < len(text):
        end = text.find(". ", start)
        end = len(text) if end < 0 else end + 1
        spans.append(Span(start, end))
        start = end + 1
    return tuple(spans)
