"""Fixtures for the generative tests: tiny local models and pipelines that use them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from rag.answer.llm import Generated, LanguageModel, Message, TransformersLanguageModel
from rag.embed import Embedder
from rag.ingest.loaders import load_paths
from rag.pipeline import Pipeline
from rag.settings import GenerationSettings, Settings
from tests.conftest import CORPUS
from tests.support.tiny_models import causal_model, seq2seq_model, trained_causal_model

QUESTION = "What was the median PFS of sorafenib in renal cancer after bevacizumab or sunitinib?"
# What the trained model always writes: one true sentence, one with a number the passage does
# not hold, one citing a passage it was not given.
TRAINED_ANSWER = (
    "The median PFS was 4.4 months [1]. It was 9.9 months in the control arm [1]. See the registry [7]."
)
SMALL_PROMPT = {"max_passages": 3, "max_prompt_tokens": 700}


def corpus_texts() -> list[str]:
    return [doc.text for doc in load_paths([CORPUS]).documents]


@pytest.fixture(scope="session")
def random_causal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return causal_model(tmp_path_factory.mktemp("gpt2-random"), corpus_texts())


@pytest.fixture(scope="session")
def random_seq2seq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seq2seq_model(tmp_path_factory.mktemp("t5-random"), corpus_texts())


class Recorder:
    """A LanguageModel around another that keeps the prompts it was given."""

    def __init__(self, inner: LanguageModel) -> None:
        self.inner = inner
        self.prompts: list[Sequence[Message]] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def generate(
        self,
        messages: Sequence[Message],
        *,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Generated:
        self.prompts.append(messages)
        return self.inner.generate(messages, on_text=on_text, cancelled=cancelled)


def generative_settings(index_dir: Path, model: Path, **generation: object) -> Settings:
    options = {"model_path": model, **SMALL_PROMPT, **generation}
    return Settings(corpus_dir=CORPUS, index_dir=index_dir, generation=GenerationSettings(**options))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def trained_causal(
    tmp_path_factory: pytest.TempPathFactory, random_causal: Path, corpus_index: Path, real_embedder: Embedder
) -> Path:
    """A tiny GPT-2 that answers QUESTION's real prompt (and any other) with TRAINED_ANSWER."""
    settings = generative_settings(corpus_index, random_causal)
    generator = TransformersLanguageModel.load(settings.generation)
    recorder = Recorder(generator)
    pipeline = Pipeline(settings, real_embedder, None, llm=recorder)
    pipeline.ask(QUESTION, answer_mode="generative")
    pipeline.close()
    prompt = generator.prompt_text(recorder.prompts[0])
    return trained_causal_model(
        tmp_path_factory.mktemp("gpt2-trained"), random_causal, TRAINED_ANSWER, [prompt]
    )


@pytest.fixture(scope="session")
def trained_pipeline(corpus_index: Path, real_embedder: Embedder, trained_causal: Path) -> Iterator[Pipeline]:
    settings = generative_settings(corpus_index, trained_causal, max_new_tokens=60)
    pipeline = Pipeline(
        settings, real_embedder, None, llm=TransformersLanguageModel.load(settings.generation)
    )
    yield pipeline
    pipeline.close()
