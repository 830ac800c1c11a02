"""Embedding models: loading the verified weights and running them (PyTorch, ONNX Runtime,
OpenVINO). `load_embedder` picks the backend the settings name; nothing heavy is imported
until then."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.settings import EmbeddingSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)


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


def load_embedder(settings: EmbeddingSettings, cache_dir: Path) -> Embedder:
    """The embedder the settings ask for; exported backends are exported into `cache_dir` once."""
    # Imported here: each backend pulls in its runtime (PyTorch, ONNX Runtime, OpenVINO).
    if settings.backend == "torch":
        from rag.embed.torch import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder.load(settings)
    from rag.embed.export import ExportRequest, exported_model
    from rag.embed.model_files import ModelLayout
    from rag.embed.runtimes import ExportedEmbedder, OnnxRuntimeRunner, OpenVinoRunner
    from rag.embed.weights import locate_model, verify_weights

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
