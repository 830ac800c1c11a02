"""Distributed ingestion on Ray: the corpus is parsed, chunked and embedded across a cluster,
and the result is written into the same index the single-process path writes.

- The corpus files become a Ray Dataset; Ray tasks parse them in parallel (`load_files`).
- Documents to add go to a pool of actors (`map_batches` with `concurrency=actors`), each of
  which loads the embedding model once and chunks and embeds a batch of documents with the same
  Chunker and embedder code as `rag ingest`. Each batch's chunk vectors become one FAISS shard,
  merged into the generation's vector index with `merge_from` (`FaissVectorIndex.merge`).
- The driver writes the chunk store, BM25 and manifest exactly as the single-process path does
  (`rag.ingest.sync.sync` with this module's `RayEncoder`), so the result loads in the normal server.

Ray is an optional dependency (`pip install .[distributed]`), imported only here and only
when used. Objects travel between Ray processes with Ray's own serialization; nothing a user
hands us is unpickled.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.documents import Chunk, Document, Span
from rag.errors import ConfigurationError, RagError
from rag.ingest.loaders.files import FileReport, LoadResult, combine, corpus_files, load_one
from rag.ingest.sync import Encoded, sentence_embed_text
from rag.progress import Progress
from rag.settings import ChunkingSettings, EmbeddingSettings, RaySettings

log = logging.getLogger(__name__)


def start_ray(settings: RaySettings) -> Any:
    """Join the configured cluster, or start a local Ray instance for this process."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError(
            "--engine ray needs Ray, which is not installed", "pip install '.[distributed]'"
        ) from exc
    if not ray.is_initialized():
        if settings.address is not None:
            ray.init(address=settings.address, log_to_driver=False)
        else:
            ray.init(num_cpus=settings.num_cpus, include_dashboard=False, log_to_driver=False)
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # one line per operator and step otherwise
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # shards are runs of documents in order
    context.enable_progress_bars = False
    return ray


def gpus_per_actor(settings: RaySettings, ray: Any) -> float:
    if settings.gpus_per_actor == "auto":
        return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
    return float(settings.gpus_per_actor)


# --- parsing: Ray tasks, one file per task ---------------------------------------------------


def load_files(paths: Sequence[Path], confine_to: Sequence[Path] | None, settings: RaySettings) -> LoadResult:
    """`rag.ingest.loaders.load_paths`, with the files parsed by Ray tasks across the cluster."""
    ray = start_ray(settings)
    files, skipped = corpus_files(paths, confine_to)
    if not files:
        return combine([], skipped)
    items = [{"order": i, "path": str(path), "base": str(base)} for i, (path, base) in enumerate(files)]
    parsed = ray.data.from_items(items, override_num_blocks=min(len(items), 200)).map_batches(
        _parse_batch, batch_size=8, batch_format="pandas"
    )
    rows = sorted(parsed.take_all(), key=lambda row: row["order"])
    per_file = [
        (
            [document_from_dict(d) for d in json.loads(row["documents"])],
            [FileReport(**r) for r in json.loads(row["reports"])],
        )
        for row in rows
    ]
    return combine(per_file, skipped)


def _parse_batch(batch: Any) -> Any:
    documents, reports = [], []
    for path, base in zip(batch["path"], batch["base"], strict=True):
        docs, file_reports = load_one(Path(path), Path(base))
        documents.append(json.dumps([asdict(d) for d in docs], ensure_ascii=False))
        reports.append(json.dumps([asdict(r) for r in file_reports], ensure_ascii=False))
    return batch.assign(documents=documents, reports=reports)[["order", "documents", "reports"]]


# --- chunking and embedding: an actor pool ---------------------------------------------------


class RayEncoder:
    """`rag.ingest.sync.Encoder` on a Ray actor pool."""

    def __init__(
        self,
        settings: RaySettings,
        embedding: EmbeddingSettings,
        chunking: ChunkingSettings,
        model_cache: Path,
    ) -> None:
        self._settings = settings
        self._ray = start_ray(settings)
        gpus = gpus_per_actor(settings, self._ray)
        if gpus > 0:  # the ONNX export runs on CPU; a GPU is used through PyTorch
            embedding = embedding.model_copy(update={"backend": "torch", "device": "cuda", "threads": 0})
        elif not embedding.threads:  # each actor's model uses the cores it reserved, no more
            embedding = embedding.model_copy(update={"threads": settings.cpus_per_actor})
        self._gpus = gpus
        self._actor_args = {
            "embedding": embedding.model_dump(mode="json"),
            "chunking": chunking.model_dump(mode="json"),
            "model_cache": str(model_cache),
        }

    def encode_documents(self, documents: list[Document], progress: Progress) -> Encoded:
        if not documents:
            return Encoded([], np.zeros((0, 0), dtype=np.float32), {})
        advance = progress("documents (ray)", len(documents))
        items = [
            {"order": i, "document": json.dumps(asdict(d), ensure_ascii=False)}
            for i, d in enumerate(documents)
        ]
        shards = self._run_pool(items, _ChunkEmbedActor, self._settings.documents_per_batch, "pandas")
        chunked: list[tuple[Document, list[Chunk]]] = []
        vector_parts, shard_sizes = [], []
        sentence_vectors: dict[str, np.ndarray] = {}
        for shard in sorted(shards, key=lambda row: row["first"]):
            payload = json.loads(shard["payload"])
            for entry in payload:
                doc = documents[entry["order"]]
                chunked.append((doc, [chunk_from_dict(c) for c in entry["chunks"]]))
            vectors = np.frombuffer(shard["chunk_vectors"], dtype=np.float32).reshape(-1, shard["dimension"])
            vector_parts.append(vectors)
            shard_sizes.append(len(vectors))
            texts = json.loads(shard["sentences"])
            sentences = np.frombuffer(shard["sentence_vectors"], dtype=np.float32).reshape(len(texts), -1)
            for text, vector in zip(texts, sentences, strict=True):
                sentence_vectors.setdefault(text, vector)
            advance(len(payload))
        if [doc.doc_id for doc, _ in chunked] != [doc.doc_id for doc in documents]:
            raise RagError("Ray returned the documents out of order or incomplete; run the ingest again")
        return Encoded(chunked, np.concatenate(vector_parts), sentence_vectors, shard_sizes)

    def embed_texts(self, texts: list[str], label: str, progress: Progress) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        advance = progress(f"{label} (ray)", len(texts))
        items = [{"order": i, "text": t} for i, t in enumerate(texts)]
        rows = self._run_pool(items, _EmbedActor, self._settings.texts_per_batch, "numpy")
        rows.sort(key=lambda row: row["order"])
        advance(len(texts))
        return np.stack([np.asarray(row["vector"], dtype=np.float32) for row in rows])

    def _run_pool(self, items: list[dict[str, Any]], actor: type, batch: int, batch_format: str) -> list[Any]:
        """`items` through a pool of `actor`s, `batch` items per call; every output row."""
        dataset = self._ray.data.from_items(items, override_num_blocks=max(1, -(-len(items) // batch)))
        return list(
            dataset.map_batches(
                actor,
                fn_constructor_kwargs=self._actor_args,
                compute=self._ray.data.ActorPoolStrategy(size=self._settings.actors),
                batch_size=batch,
                num_gpus=self._gpus,
                num_cpus=self._settings.cpus_per_actor,
                batch_format=batch_format,
            ).take_all()
        )


class _ModelActor:
    """Loads the embedding model (and its tokenizer for chunking) once per actor process."""

    def __init__(self, embedding: dict[str, Any], chunking: dict[str, Any], model_cache: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a worker never downloads either
        from rag.embed import load_embedder
        from rag.ingest.chunking import Chunker

        self.embedder = load_embedder(EmbeddingSettings(**embedding), Path(model_cache))
        self.chunker = Chunker(self.embedder, ChunkingSettings(**chunking))


class _ChunkEmbedActor(_ModelActor):
    def __call__(self, batch: Any) -> Any:
        import pandas as pd

        documents = [document_from_dict(json.loads(d)) for d in batch["document"]]
        chunked = [(doc, self.chunker.chunk(doc)) for doc in documents]
        chunk_texts = [c.embed_text for _, chunks in chunked for c in chunks]
        sentences = sorted(
            {sentence_embed_text(doc, c, s) for doc, chunks in chunked for c in chunks for s in c.sentences}
        )
        chunk_vectors = self._embed(chunk_texts)
        sentence_vectors = self._embed(sentences)
        payload = [
            {"order": int(order), "chunks": [asdict(c) for c in chunks]}
            for order, (_, chunks) in zip(batch["order"], chunked, strict=True)
        ]
        return pd.DataFrame(
            [
                {
                    "first": int(batch["order"].iloc[0]),
                    "payload": json.dumps(payload, ensure_ascii=False),
                    "dimension": self.embedder.dimension,
                    "chunk_vectors": chunk_vectors.tobytes(),
                    "sentences": json.dumps(sentences, ensure_ascii=False),
                    "sentence_vectors": sentence_vectors.tobytes(),
                }
            ]
        )

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.ascontiguousarray(self.embedder.embed(texts), dtype=np.float32)


class _EmbedActor(_ModelActor):
    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.embed([str(t) for t in batch["text"]])
        return {"order": batch["order"], "vector": np.asarray(vectors, dtype=np.float32)}


# --- plain-data forms of documents and chunks, for the trip between processes --------------


def document_from_dict(data: dict[str, Any]) -> Document:
    return Document(
        **{
            **data,
            "page_starts": tuple(data.get("page_starts", ())),
            "sections": tuple((int(o), str(n)) for o, n in data.get("sections", ())),
        }
    )


def chunk_from_dict(data: dict[str, Any]) -> Chunk:
    chunk = Chunk(**{**data, "sentences": (), "sections": (), "page_breaks": ()})
    return replace(
        chunk,
        sentences=tuple(Span(**s) for s in data["sentences"]),
        sections=tuple((int(o), n) for o, n in data["sections"]),
        page_breaks=tuple((int(o), int(n)) for o, n in data["page_breaks"]),
    )
