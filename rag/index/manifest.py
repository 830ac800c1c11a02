"""The index manifest: what an index was built with, checked before it is used."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import REBUILD_HINT, IndexCorruptError, IndexMismatchError

FORMAT_VERSION = 8  # 3: section and page breaks; 5: segments; 6: fingerprint keys; 7: one versioned store;
# 8: postings as plain .npy arrays (mapped into memory), chunk positions and frequencies int32
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class IndexSpec:
    """Everything that must match between an index and the service that reads it."""

    model_id: str
    weights_sha256: str
    dimension: int
    max_seq_length: int
    chunking: dict[str, Any]
    lexical: dict[str, Any]
    index_type: str
    embedding_precision: str = "fp32"
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True)
class Manifest:
    spec: IndexSpec
    corpus_fingerprint: str
    documents: int
    chunks: int
    sentences: int
    created_at: str
    updated_at: str
    generation: int = 0
    files: dict[str, Any] = field(default_factory=dict)
    """Relative path -> {"bytes": size, "sha256": digest} of every file of the generation."""
    vectors: dict[str, Any] = field(default_factory=dict)
    """The vector index's structure: {"structure": "flat"|"ivf", "factory", "vectors", "nlist", "nprobe"}."""
    store: str = ""
    """The chunk store file (in the index directory) this generation's rows are in."""

    def store_file(self) -> str:
        """`store`, checked to be a plain file name of the index directory."""
        if not self.store or "/" in self.store or "\\" in self.store or self.store.startswith("."):
            raise IndexCorruptError(f"the manifest names no valid chunk store ({self.store!r})", REBUILD_HINT)
        return self.store

    def to_json(self) -> str:
        data = asdict(self)
        data = {"format_version": self.spec.format_version, **data}
        return json.dumps(data, indent=2, sort_keys=False)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing", REBUILD_HINT)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("format_version", None)
            spec = IndexSpec(**data.pop("spec"))
            return cls(spec=spec, **data)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IndexCorruptError(f"{path} is not a valid index manifest: {exc}", REBUILD_HINT) from exc


def check_compatible(found: IndexSpec, expected: IndexSpec, directory: Path) -> None:
    """Raise IndexMismatchError naming every setting that differs."""
    differences = []
    if found.format_version != expected.format_version:
        differences.append(
            f"format version {found.format_version} (this service reads {expected.format_version})"
        )
    if found.weights_sha256 != expected.weights_sha256 or found.model_id != expected.model_id:
        differences.append(
            f"model {found.model_id} (sha256 {found.weights_sha256[:12]}) but the service is configured with "
            f"{expected.model_id} (sha256 {expected.weights_sha256[:12]})"
        )
    if found.embedding_precision != expected.embedding_precision:
        differences.append(
            f"{found.embedding_precision} embeddings, the service is configured for "
            f"{expected.embedding_precision} (RAG_EMBEDDING__PRECISION)"
        )
    if found.dimension != expected.dimension:
        differences.append(f"dimension {found.dimension}, the model gives {expected.dimension}")
    if found.max_seq_length != expected.max_seq_length:
        differences.append(
            f"max sequence length {found.max_seq_length}, the model has {expected.max_seq_length}"
        )
    if found.chunking != expected.chunking:
        differences.append(f"chunking {found.chunking} but the settings say {expected.chunking}")
    if _analysis(found.lexical) != _analysis(expected.lexical):
        differences.append(f"lexical analyzer {found.lexical}, this version uses {expected.lexical}")
    if found.index_type != expected.index_type:
        differences.append(f"index type {found.index_type}, configured {expected.index_type}")
    if differences:
        raise IndexMismatchError(f"{directory} was built with " + "; ".join(differences), REBUILD_HINT)


# BM25 parameters that earlier versions recorded with the analyzer. They are applied at query
# time (`RetrievalSettings.bm25_k1`, `bm25_b`), so an index that recorded them reads the same.
QUERY_TIME_KEYS = frozenset({"k1", "b"})


def _analysis(lexical: dict[str, Any]) -> dict[str, Any]:
    """What of the lexical spec fixes the stored postings."""
    return {key: value for key, value in lexical.items() if key not in QUERY_TIME_KEYS}
