"""A deterministic stand-in for the embedding model, for fast unit tests.

It hashes words into a bag-of-words vector: texts sharing words are similar, nothing is
downloaded or loaded, and every call is counted so tests can assert how much was embedded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.text import words

if TYPE_CHECKING:
    from numpy.typing import NDArray


class FakeEmbedder:
    backend = "fake"
    precision = "fp32"

    def __init__(
        self, dimension: int = 64, max_seq_length: int = 128, model_id: str = "fake-embedder"
    ) -> None:
        self._dimension = dimension
        self._max_seq_length = max_seq_length
        self._model_id = model_id
        self.embedded: list[str] = []

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def weights_sha256(self) -> str:
        return hashlib.sha256(self._model_id.encode()).hexdigest()

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_seq_length(self) -> int:
        return self._max_seq_length

    def count_pieces(self, text: str) -> int:
        return len(text.split())

    def count_tokens(self, text: str) -> int:
        return self.count_pieces(text) + 2

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> NDArray[np.float32]:
        self.embedded.extend(texts)
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in words(text):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                vectors[row, int.from_bytes(digest, "little") % self._dimension] += 1.0
            vectors[row, 0] += 1e-3  # never the zero vector
        normalized: NDArray[np.float32] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return normalized
