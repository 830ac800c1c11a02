from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from rag.embed import Embedder
from rag.embed.torch import SentenceTransformerEmbedder
from rag.embed.weights import bundled_model_dir, locate_model, verify_weights
from rag.errors import ModelError
from rag.settings import BUNDLED_MODEL_SHA256, EmbeddingSettings


def test_bundled_weights_match_the_published_hash() -> None:
    assert verify_weights(locate_model(EmbeddingSettings())) == BUNDLED_MODEL_SHA256


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    settings = EmbeddingSettings(model_path=tmp_path, model_sha256=BUNDLED_MODEL_SHA256)
    with pytest.raises(ModelError, match="refusing to load"):
        SentenceTransformerEmbedder.load(settings)


def test_pickled_weights_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelError, match="pickle-based weights are refused"):
        SentenceTransformerEmbedder.load(EmbeddingSettings(model_path=tmp_path))


def test_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="never downloaded"):
        SentenceTransformerEmbedder.load(EmbeddingSettings(model_path=tmp_path / "absent"))


def test_bundled_model_directory_exists() -> None:
    assert (bundled_model_dir() / "model.safetensors").is_file()


@pytest.mark.integration
def test_real_model_embeds_offline(real_embedder: SentenceTransformerEmbedder) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    vectors = real_embedder.embed(["median progression-free survival", "median PFS", "a recipe for bread"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert real_embedder.max_seq_length == 256


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["default", "torch"])
def test_ligatures_embed_as_the_plain_word(
    backend: str, real_embedder: Embedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    # The model's vocabulary has no "ﬂ": unfolded, "inﬂuenza" would be an unknown word.
    embedder = real_embedder if backend == "default" else torch_embedder
    folded, plain, other = embedder.embed(["inﬂuenza pandemic", "influenza pandemic", "a recipe for bread"])
    assert folded @ plain > 0.999 > folded @ other
