"""The PubMedQA benchmark's conversion and metric code on 20 real records, with the fake embedder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench import pubmedqa
from rag.errors import ConfigurationError
from rag.evaluation import pubmedqa as records
from rag.ingest.loaders import load_paths
from rag.settings import Settings
from rag.testing import FakeEmbedder
from rag.text import split_sentences

SAMPLE = 20
# The one record whose source split a sentence at a colon into a pseudo-label (", FSAII").
SPLIT_SENTENCE_RECORD = "20304513"

pytestmark = pytest.mark.skipif(
    not pubmedqa.DEFAULT_DATA.is_file(),
    reason=f"PubMedQA data not found at {pubmedqa.DEFAULT_DATA} (the ../shared checkout is absent)",
)


@pytest.fixture(scope="module")
def dataset() -> records.Dataset:
    return records.load_dataset(pubmedqa.DEFAULT_DATA)


@pytest.fixture(scope="module")
def sample(dataset: records.Dataset) -> records.Dataset:
    records = dict(list(dataset.records.items())[:SAMPLE])
    # Half of the sample stands in for the test split, so both splits differ in size.
    return replace(dataset, records=records, test_ids=list(records)[: SAMPLE // 2])


@pytest.fixture(scope="module")
def result(sample: records.Dataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(
        corpus_dir=tmp_path_factory.mktemp("unused-corpus"), index_dir=tmp_path_factory.mktemp("unused")
    )
    return pubmedqa.evaluate_dataset(settings, FakeEmbedder(), sample, quick=False)


def test_dataset_has_the_published_sizes(dataset: records.Dataset) -> None:
    assert len(dataset.records) == 1000
    assert len(dataset.test_ids) == 500
    assert set(dataset.test_ids) <= set(dataset.records)


def test_documents_load_with_their_pubmed_ids(sample: records.Dataset, tmp_path: Path) -> None:
    records.write_corpus(list(sample.records.values()), tmp_path)
    loaded = load_paths([tmp_path])
    assert loaded.skipped == []
    assert [d.doc_id for d in loaded.documents] == [f"pmid-{pmid}" for pmid in sample.records]
    years = {d.doc_id: d.year for d in loaded.documents}
    assert all(years[r.doc_id] == r.year for r in sample.records.values())


def test_text_holds_the_sections_and_not_the_question(sample: records.Dataset) -> None:
    for record in sample.records.values():
        doc = records.to_document(record)
        text, title = doc["text"].lower(), doc["title"].lower()
        assert record.question.lower() not in text
        assert record.question.lower() not in title
        assert record.long_answer.lower() not in text
        # The sentence splitter sees every label as a section, in order.
        sections = list(dict.fromkeys(s.section for s in split_sentences(doc["text"])))
        assert sections == list(dict.fromkeys(record.labels))
        assert title and len(title) <= records.MAX_TITLE_CHARS + 1


def test_a_pseudo_label_is_glued_back_into_its_sentence(dataset: records.Dataset) -> None:
    text = records.document_text(dataset.records[SPLIT_SENTENCE_RECORD])
    assert "(ambient air, FSAII: n=4, SCCVII, n=5)" in text
    assert "\n\n, FSAII" not in text


def test_rouge_l() -> None:
    assert pubmedqa.rouge_l("The drug reduced pain.", "the drug reduced PAIN") == 1.0
    assert pubmedqa.rouge_l("Mortality fell [1].", "mortality fell") == 1.0
    assert pubmedqa.rouge_l("alpha beta", "gamma delta") == 0.0
    assert pubmedqa.rouge_l("", "gamma delta") == 0.0
    assert 0.0 < pubmedqa.rouge_l("a b c d", "a x c y") < 1.0
    assert pubmedqa.lcs_length("a b c d e".split(), "b x d e".split()) == 3


def test_missing_data_names_the_path_and_the_option(tmp_path: Path) -> None:
    missing = tmp_path / "ori_pqal.json"
    with pytest.raises(ConfigurationError) as caught:
        records.load_dataset(missing)
    assert str(missing) in str(caught.value)
    assert "--data" in str(caught.value)


def test_result_structure(result: dict[str, Any]) -> None:
    json.dumps(result)  # JSON-ready as the module contract asks
    assert result["ingest"]["documents"] == SAMPLE
    assert result["ingest"]["chunks"] >= SAMPLE
    assert set(result["splits"]) == {"test", "all"}
    assert result["splits"]["test"]["questions"] == SAMPLE // 2
    assert result["splits"]["all"]["questions"] == SAMPLE
    assert result["compared_on"] == {"split": "all", "questions": SAMPLE, "comparable": False}
    for summary in result["splits"].values():
        assert set(summary["retrieval"]) == set(pubmedqa.MODES)
        for metrics in summary["retrieval"].values():
            assert set(metrics) == set(pubmedqa.METRICS)
            assert all(0.0 <= v <= 1.0 for v in metrics.values())
            assert metrics["recall@1"] <= metrics["recall@5"] <= metrics["recall@10"]
        answers = summary["answers"]
        for name in ("rouge_l_f1", "rouge_l_f1_all", "cites_own_abstract", "abstention_rate"):
            assert 0.0 <= answers[name] <= 1.0
    assert set(result["beats_reference"]) == set(pubmedqa.METRICS)
    assert all(isinstance(v, bool) for v in result["beats_reference"].values())
    assert result["misses"]["count"] <= SAMPLE


def test_quick_mode_scores_the_test_split_only(sample: records.Dataset) -> None:
    assert pubmedqa.question_splits(sample, quick=True) == {"test": sample.test_ids}


def test_markdown(result: dict[str, Any]) -> None:
    text = pubmedqa.to_markdown(result)
    assert text.startswith("## PubMedQA")
    assert "reference: dense MiniLM, FAISS flat" in text
    assert "ours: hybrid (all)" in text
    assert "not comparable" in text
