"""The embedding model run by sentence-transformers on PyTorch (backend `torch`)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embed.weights import ModelLocation, VerifiedModel, locate_model, verify_weights
from rag.errors import ModelError
from rag.settings import EmbeddingSettings
from rag.text import fold_ligatures

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder(VerifiedModel):
    """A sentence-transformers model loaded from a verified local directory."""

    backend = "torch"
    precision = "fp32"

    def __init__(self, model: Any, location: ModelLocation, weights_sha256: str, batch_size: int) -> None:
        super().__init__(location, weights_sha256)
        self._model = model
        self._tokenizer = model.tokenizer
        self._batch_size = batch_size
        # Hugging Face fast tokenizers refuse concurrent use ("Already borrowed"); the server
        # calls embed() from several threads, so calls take turns.
        self._lock = threading.Lock()
        self._special_tokens = len(self._tokenizer("", add_special_tokens=True)["input_ids"])
        # Counting the pieces of a long text is not feeding it to the model: silence that warning.
        warnings = getattr(self._tokenizer, "deprecation_warnings", None)
        if isinstance(warnings, dict):
            warnings["sequence-length-is-longer-than-the-specified-maximum"] = True

    @classmethod
    def load(cls, settings: EmbeddingSettings) -> SentenceTransformerEmbedder:
        location = locate_model(settings)
        sha256 = verify_weights(location)
        # Never reach for a model hub: every file must already be in the directory.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            model = SentenceTransformer(
                str(location.directory),
                device=settings.device,
                local_files_only=True,
                trust_remote_code=False,
                model_kwargs={"use_safetensors": True},
            )
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the embedding model from {location.directory}: {exc}") from exc
        log.info("loaded embedding model %s (sha256 %s)", location.model_id, sha256[:12])
        return cls(model, location, sha256, settings.batch_size)

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    @property
    def max_seq_length(self) -> int:
        return int(self._model.max_seq_length)

    def count_pieces(self, text: str) -> int:
        with self._lock:
            return len(self._tokenizer.tokenize(text))

    def count_tokens(self, text: str) -> int:
        return self.count_pieces(text) + self._special_tokens

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                [fold_ligatures(text) for text in texts],
                batch_size=self._batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
