"""What a sentence-transformers model directory holds, read without loading the model.

The exported backends (ONNX Runtime, OpenVINO) run the transformer alone and do tokenization,
pooling and normalization themselves, so they need to know how the model was assembled:
which folder holds the transformer, how token vectors are pooled, the longest input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rag.errors import ModelError

Pooling = Literal["mean", "cls"]
TORCH_HINT = "set RAG_EMBEDDING__BACKEND=torch to run this model with sentence-transformers"


@dataclass(frozen=True)
class ModelLayout:
    transformer_dir: Path
    pooling: Pooling
    max_seq_length: int
    tokenizer_file: Path
    pad_token: str

    @classmethod
    def read(cls, directory: Path) -> ModelLayout:
        """The layout of a sentence-transformers directory (or of a bare transformers model,
        which sentence-transformers would mean-pool). Raises ModelError for anything the
        exported backends cannot reproduce exactly."""
        transformer_dir = directory
        pooling: Pooling = "mean"
        modules_file = directory / "modules.json"
        if modules_file.is_file():
            transformer_dir, pooling = _modules(directory, _json(modules_file))
        tokenizer_file = transformer_dir / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise ModelError(f"no tokenizer.json in {transformer_dir}", TORCH_HINT)
        return cls(
            transformer_dir=transformer_dir,
            pooling=pooling,
            max_seq_length=_max_seq_length(transformer_dir),
            tokenizer_file=tokenizer_file,
            pad_token=_pad_token(transformer_dir),
        )


def _modules(directory: Path, modules: Any) -> tuple[Path, Pooling]:
    if not isinstance(modules, list):
        raise ModelError(f"{directory / 'modules.json'} is not a list of modules", TORCH_HINT)
    transformer: Path | None = None
    pooling: Pooling | None = None
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        path = directory / str(module.get("path", ""))
        if kind == "Transformer":
            transformer = path
        elif kind == "Pooling":
            pooling = _pooling_mode(path / "config.json")
        elif kind != "Normalize":  # embeddings are always normalized here
            raise ModelError(f"exported backends do not support the {kind} module of {directory}", TORCH_HINT)
    if transformer is None:
        raise ModelError(f"{directory / 'modules.json'} names no Transformer module", TORCH_HINT)
    return transformer, pooling or "mean"


def _pooling_mode(config_file: Path) -> Pooling:
    config = _json(config_file) if config_file.is_file() else {}
    named = config.get("pooling_mode")
    if named in ("mean", "cls"):
        return named  # type: ignore[no-any-return]
    flags = {key.removeprefix("pooling_mode_") for key, value in config.items() if value is True}
    if flags == {"mean_tokens"}:
        return "mean"
    if flags == {"cls_token"}:
        return "cls"
    raise ModelError(f"pooling {sorted(flags) or named} in {config_file} is not supported", TORCH_HINT)


def _max_seq_length(transformer_dir: Path) -> int:
    for name in ("sentence_bert_config.json", "tokenizer_config.json"):
        path = transformer_dir / name
        if path.is_file():
            data = _json(path)
            value = data.get("max_seq_length") or data.get("model_max_length")
            if isinstance(value, int) and 0 < value <= 100_000:
                return value
    config = _json(transformer_dir / "config.json") if (transformer_dir / "config.json").is_file() else {}
    value = config.get("max_position_embeddings")
    if isinstance(value, int) and value > 0:
        return value
    raise ModelError(f"cannot tell the longest input of the model in {transformer_dir}", TORCH_HINT)


def _pad_token(transformer_dir: Path) -> str:
    path = transformer_dir / "tokenizer_config.json"
    token = _json(path).get("pad_token") if path.is_file() else None
    if isinstance(token, dict):
        token = token.get("content")
    return token if isinstance(token, str) else "[PAD]"


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
