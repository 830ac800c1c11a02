"""A question's lay words read as the clinical terms the corpus uses, through the
library and POST /ask (which says how it read the question)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag.answer.lay_terms import clinical_reading, lay_terms
from rag.index.vocabulary import Lexicon

CHUNKS = 10


def lexicon(dfs: dict[str, int]) -> Lexicon:
    words = list(dfs)
    counts = np.array(list(dfs.values()), dtype=np.int64)
    return Lexicon(words, counts, np.eye(len(words), 16, dtype=np.float32), CHUNKS)


CLINICAL = lexicon(
    {
        "adverse": 4,
        "events": 4,
        "effects": 2,
        "renal": 3,
        "cell": 8,
        "carcinoma": 9,
        "hepatocellular": 9,
        "liver": 2,
        "cancer": 3,
        "influenza": 4,
        "avian": 2,
    }
)


def test_lay_phrases_are_read_as_the_clinical_terms_the_corpus_uses() -> None:
    assert (
        clinical_reading("What Side effects did kidney cancer patients have?", CLINICAL)
        == "What adverse events did renal cell carcinoma patients have?"
    )
    # The longest phrase is read, once; a hyphenated word is not the phrase.
    assert clinical_reading("Was bird flu worse than flu-like illness?", CLINICAL) == (
        "Was avian influenza worse than flu-like illness?"
    )


def test_a_clinical_term_in_most_passages_or_absent_is_not_added() -> None:
    # "hepatocellular carcinoma" is in nearly every passage: it tells none from another.
    assert clinical_reading("How long do liver cancer patients live?", CLINICAL) == (
        "How long do liver cancer patients live?"
    )
    # A corpus without the clinical words, or one that uses the lay phrase more, keeps it.
    assert clinical_reading("Any side effects?", lexicon({"side": 5, "effects": 5})) == "Any side effects?"
    lay_corpus = lexicon({"side": 5, "effects": 5, "adverse": 1, "events": 3})
    assert clinical_reading("Any side effects?", lay_corpus) == "Any side effects?"


def test_every_lay_phrase_has_one_entry() -> None:
    terms = lay_terms()
    assert terms.clinical and all(terms.clinical.values())
    assert all(terms.pattern.fullmatch(phrase) for phrase in terms.clinical)


@pytest.mark.integration
def test_ask_reads_lay_words_and_says_how(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Does sorafenib cause high blood pressure?"}).json()
    assert body["resolved_question"] == "Does sorafenib cause hypertension?"
    assert not body["abstained"] and "hypertension" in body["answer"]
    kidney = client.post("/ask", json={"question": "Does sorafenib work in kidney cancer?"}).json()
    assert kidney["resolved_question"] == "Does sorafenib work in renal cell carcinoma?"
    assert not kidney["abstained"]
    assert {c["doc_id"] for c in kidney["citations"]} == {"sorafenib-mrcc-refractory-bevacizumab-sunitinib"}


@pytest.mark.integration
def test_search_reads_the_query_as_ask_reads_a_question(client: TestClient) -> None:
    body = client.post("/search", json={"query": "sunitinb side effects in kidney cancer", "top_k": 3}).json()
    assert body["resolved_query"] == "sunitinib adverse events in renal cell carcinoma"
    assert body["results"][0]["doc_id"] == "sorafenib-mrcc-refractory-bevacizumab-sunitinib"
    plain = client.post("/search", json={"query": body["resolved_query"], "top_k": 3}).json()
    assert plain["resolved_query"] is None and plain["results"] == body["results"]
