"""Exported backends (ONNX Runtime, OpenVINO): made locally from the verified weights, cached by
their hash, checked before loading, and equivalent to sentence-transformers."""

from __future__ import annotations

import json
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from rag.durable import sha256_file
from rag.embed import Embedder, load_embedder
from rag.embed import export as model_export
from rag.embed.export import RECORD_FILE, ExportRequest, exported_model
from rag.embed.model_files import ModelLayout
from rag.embed.torch import SentenceTransformerEmbedder
from rag.embed.weights import bundled_model_dir
from rag.errors import IndexMismatchError, ModelError
from rag.index.manifest import IndexSpec, check_compatible
from rag.ingest.loaders import load_paths
from rag.settings import BUNDLED_MODEL_SHA256, EmbeddingSettings
from tests.conftest import CORPUS

QUESTIONS = [
    "What was the median PFS of sorafenib after sunitinib failure?",
    "hand-foot skin reaction",
    "How many patients were enrolled in the SWOG myeloma trial?",
]


def corpus_texts() -> list[str]:
    """Two passages of each corpus document."""
    return [doc.text[i : i + 600] for doc in load_paths([CORPUS]).documents for i in (0, 600)]


@pytest.fixture(scope="module")
def reference(torch_embedder: SentenceTransformerEmbedder) -> tuple[list[str], np.ndarray]:
    """Texts and their vectors from sentence-transformers."""
    texts = corpus_texts() + QUESTIONS
    return texts, torch_embedder.embed(texts)


def test_int8_needs_an_exported_backend() -> None:
    with pytest.raises(ValidationError, match="int8 needs backend onnx or openvino"):
        EmbeddingSettings(backend="torch", precision="int8")


def test_the_bundled_model_layout_is_read_from_its_files() -> None:
    layout = ModelLayout.read(bundled_model_dir())
    assert (layout.pooling, layout.max_seq_length, layout.pad_token) == ("mean", 256, "[PAD]")
    assert layout.tokenizer_file.name == "tokenizer.json"


def test_layouts_the_exported_backends_cannot_reproduce_are_refused(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_max_tokens": True}))
    modules = [
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelError, match=r"pooling \['max_tokens'\].*RAG_EMBEDDING__BACKEND=torch"):
        ModelLayout.read(tmp_path)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    assert (ModelLayout.read(tmp_path).pooling, ModelLayout.read(tmp_path).max_seq_length) == ("cls", 128)
    modules.append({"path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelError, match="do not support the Dense module"):
        ModelLayout.read(tmp_path)


def test_an_index_records_the_precision_it_was_built_with(tmp_path: Path) -> None:
    spec = IndexSpec("m", "sha", 384, 256, {}, {}, "faiss-ip", embedding_precision="fp32")
    with pytest.raises(IndexMismatchError, match=r"fp32 embeddings.*int8 \(RAG_EMBEDDING__PRECISION\)"):
        check_compatible(spec, IndexSpec("m", "sha", 384, 256, {}, {}, "faiss-ip", "int8"), tmp_path)


def test_a_changed_or_foreign_export_is_not_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exported_model uses a cached file only if its SHA-256 matches the record, and the record
    was made from the same weights; otherwise it exports again (here: a planted file)."""
    layout = ModelLayout.read(bundled_model_dir())
    request = ExportRequest(layout, BUNDLED_MODEL_SHA256, "onnx", "fp32", tmp_path)
    request.directory.mkdir(parents=True)
    model = request.directory / "onnx-fp32.onnx"
    model.write_bytes(b"a model")
    entry = {"files": {model.name: {"bytes": 7, "sha256": sha256_file(model)}}}
    record = {"source_sha256": BUNDLED_MODEL_SHA256, "variants": {model.name: entry}}
    (request.directory / RECORD_FILE).write_text(json.dumps(record))
    assert exported_model(request) == model  # recorded and unchanged: used as it is

    exports: list[ExportRequest] = []
    monkeypatch.setattr(model_export, "_export", exports.append)  # record the export, skip the work
    model.write_bytes(b"b model")  # same size, other bytes
    with caplog.at_level(logging.WARNING):
        exported_model(request)
    assert "does not match its recorded SHA-256" in caplog.text
    model.write_bytes(b"a model")
    record["source_sha256"] = "0" * 64  # a record made for other weights
    (request.directory / RECORD_FILE).write_text(json.dumps(record))
    exported_model(request)
    assert exports == [request, request]


@pytest.mark.integration
def test_onnx_vectors_equal_sentence_transformers(
    real_embedder: Embedder,
    torch_embedder: SentenceTransformerEmbedder,
    reference: tuple[list[str], np.ndarray],
) -> None:
    texts, expected = reference
    exported = real_embedder.embed(texts)
    assert exported.shape == expected.shape == (len(texts), 384)
    assert np.min(np.sum(exported * expected, axis=1)) > 0.9999
    assert [real_embedder.count_tokens(t) for t in texts] == [torch_embedder.count_tokens(t) for t in texts]


@pytest.mark.integration
def test_concurrent_calls_give_the_same_vectors(real_embedder: Embedder) -> None:
    """No lock around the model: the runtime and the tokenizer must bear several threads."""
    texts = corpus_texts()[:8] + QUESTIONS
    alone = real_embedder.embed(texts)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda i: real_embedder.embed(texts[i:] + texts[:i]), range(6)))
    for shift, vectors in enumerate(results):
        assert np.allclose(vectors, np.roll(alone, -shift, axis=0), atol=1e-5)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("backend", "precision", "min_cosine"),
    [("onnx", "int8", 0.95), ("openvino", "fp32", 0.9999), ("openvino", "int8", 0.99)],
)
def test_every_variant_loads_and_stays_close_to_fp32(
    backend: str,
    precision: str,
    min_cosine: float,
    model_cache: Path,
    reference: tuple[list[str], np.ndarray],
) -> None:
    if backend == "openvino" and precision == "int8":
        pytest.importorskip("nncf", reason="OpenVINO int8 needs the openvino extra (nncf)")
    settings = EmbeddingSettings(backend=backend, precision=precision)  # type: ignore[arg-type]
    embedder = load_embedder(settings, model_cache)
    texts, expected = reference
    vectors = embedder.embed(texts)
    assert np.sum(vectors * expected, axis=1).min() > min_cosine
    assert embedder.precision == precision
    # The passage a question ranks first is still among the reference's top three.
    passages, question = slice(0, -len(QUESTIONS)), len(texts) - len(QUESTIONS)
    top = np.argmax(vectors[passages] @ vectors[question])
    assert top in np.argsort(-(expected[passages] @ expected[question]))[:3]


@pytest.mark.integration
def test_a_cached_export_is_reused_and_a_damaged_one_replaced(model_cache: Path, tmp_path: Path) -> None:
    """The second load exports nothing; a flipped byte makes the next load export afresh."""
    settings = EmbeddingSettings()
    load_embedder(settings, model_cache)  # the session's export (made once already)
    cache = tmp_path / "models"
    shutil.copytree(model_cache, cache)
    directory = cache / BUNDLED_MODEL_SHA256[:16]
    model = directory / "onnx-fp32.onnx"
    before = model.stat().st_mtime_ns
    load_embedder(settings, cache)
    assert model.stat().st_mtime_ns == before
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    embedder = load_embedder(settings, cache)
    recorded = json.loads((directory / RECORD_FILE).read_text())["variants"][model.name]
    assert recorded["files"][model.name]["sha256"] == sha256_file(model)
    assert embedder.embed(["sorafenib"]).shape == (1, 384)
