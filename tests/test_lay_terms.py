"""A question's lay words read as the clinical terms the corpus uses, through the
library and POST /ask (which says how it read the question)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag.answer.followup import Turn
from rag.answer.lay_terms import clinical_reading, equivalents, lay_terms, with_equivalents
from rag.errors import ConfigurationError
from rag.index.vocabulary import Lexicon
from rag.pipeline import Pipeline

CHUNKS = 10


def lexicon(dfs: dict[str, int]) -> Lexicon:
    words = list(dfs)
    counts = np.array(list(dfs.values()), dtype=np.int64)
    return Lexicon(words, counts, np.eye(len(words), 16, dtype=np.float32), CHUNKS)


CLINICAL_DFS = {
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
    "placebo": 3,
    "resected": 2,
    "ultrasonography": 3,
    "fever": 3,
    "two": 5,
    "weeks": 4,
    "disease": 4,
    "control": 4,
    "show": 5,
    "efficacy": 3,
    "cost": 2,
    "effective": 2,
    "jaw": 2,
    "complete": 3,
    "remission": 2,
    "unresectable": 2,
}
CLINICAL = lexicon(CLINICAL_DFS)


def test_lay_phrases_are_read_as_the_clinical_terms_the_corpus_uses() -> None:
    assert (
        clinical_reading("What Side effects did kidney cancer patients have?", CLINICAL)
        == "What adverse events did renal cell carcinoma patients have?"
    )
    # The longest phrase is read, once; a hyphenated word is not the phrase.
    assert clinical_reading("Was bird flu worse than flu-like illness?", CLINICAL) == (
        "Was avian influenza worse than flu-like illness?"
    )
    assert clinical_reading("Was it better than the dummy pill after the tumour was cut out?", CLINICAL) == (
        "Was it better than the placebo after the tumour was resected?"
    )
    assert clinical_reading("Can an ultrasound scan show it?", CLINICAL) == "Can an ultrasonography show it?"
    assert clinical_reading("A high temperature in the first fortnight: was it kept in check?", CLINICAL) == (
        "A fever in the first two weeks: was it disease control?"
    )
    # "Work for" a disease is efficacy, in each form of the verb; "work in" is left alone (nurses
    # "working in a rural location").
    assert clinical_reading("Does it work for lung cancer?", CLINICAL) == (
        "Does it show efficacy in lung cancer?"
    )
    assert clinical_reading("Is it working against the tumour?", CLINICAL) == (
        "Is it showing efficacy in the tumour?"
    )
    unchanged = "Are nurses working in rural areas?"
    assert clinical_reading(unchanged, CLINICAL) == unchanged
    # "The kidneys" is how a patient asks about renal function: read so where the corpus says
    # "renal function", else as the organ's adjective.
    assert clinical_reading("Can it damage the kidneys?", CLINICAL) == "Can it damage the renal?"
    with_function = lexicon({**CLINICAL_DFS, "function": 2})
    assert clinical_reading("Can it damage the kidneys?", with_function) == (
        "Can it damage the renal function?"
    )
    assert clinical_reading("Is it worth the money?", CLINICAL) == "Is it cost-effective?"
    # A lesion that goes away is a remission; a bone is named by its organ; a tumour that
    # cannot be operated on is unresectable.
    assert clinical_reading("Did the rash clear up?", CLINICAL) == "Did the rash complete remission?"
    assert clinical_reading("Has it disappeared completely?", CLINICAL) == "Has it complete remission?"
    assert clinical_reading("Was the jawbone affected?", CLINICAL) == "Was the jaw affected?"
    assert clinical_reading("If the tumour can’t be operated on?", CLINICAL) == "If the tumour unresectable?"


def test_a_clinical_term_the_corpus_uses_less_or_lacks_is_not_read() -> None:
    # "hepatocellular carcinoma" is in nearly every passage, and still read: "liver cancer",
    # rare there, would match only where it happens to appear.
    assert clinical_reading("How long do liver cancer patients live?", CLINICAL) == (
        "How long do hepatocellular carcinoma patients live?"
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
    # Answered from a kidney-cancer paper. Which of the corpus's two is a 0.001 score margin
    # (the phase 2 trial's "safe and feasible" against the surveillance study's "little impact
    # on renal function"), so the test names the disease, not the paper.
    assert kidney["citations"]
    assert all("renal cell carcinoma" in c["title"].lower() for c in kidney["citations"]), kidney["citations"]
    # Asked about the organ, not the cancer: answered from the study of renal function (before the
    # lay reading of "kidneys", from a case report on hepatitis C).
    organ = client.post("/ask", json={"question": "Can sorafenib damage the kidneys?"}).json()
    assert organ["resolved_question"] == "Can sorafenib damage the renal function?"
    assert {c["doc_id"] for c in organ["citations"]} == {"oya-2016-little-impact-renal-function"}


@pytest.mark.integration
def test_search_reads_the_query_as_ask_reads_a_question(client: TestClient) -> None:
    body = client.post("/search", json={"query": "sunitinb side effects in kidney cancer", "top_k": 3}).json()
    assert body["resolved_query"] == "sunitinib adverse events in renal cell carcinoma"
    assert body["results"][0]["doc_id"] == "sorafenib-mrcc-refractory-bevacizumab-sunitinib"
    plain = client.post("/search", json={"query": body["resolved_query"], "top_k": 3}).json()
    assert plain["resolved_query"] is None and plain["results"] == body["results"]


def test_a_corpus_brings_its_own_lay_terms_or_none(tmp_path: Path) -> None:
    own = tmp_path / "terms.json"
    own.write_text(json.dumps({"terms": [{"lay": ["bird flu"], "clinical": ["avian influenza"]}]}))
    terms = lay_terms(own)
    assert (
        clinical_reading("Was bird flu worse than flu?", CLINICAL, terms)
        == "Was avian influenza worse than flu?"
    )
    assert clinical_reading("Any side effects?", CLINICAL, terms) == "Any side effects?"  # not in that file
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"terms": []}))
    assert clinical_reading("Any side effects?", CLINICAL, lay_terms(empty)) == "Any side effects?"
    broken = tmp_path / "broken.json"
    broken.write_text('{"terms": [{"lay": ["side effects"]}]}')  # no clinical alternatives
    with pytest.raises(ConfigurationError, match=r"lay terms file .*broken\.json"):
        lay_terms(broken)


@pytest.mark.integration
def test_reading_lay_terms_can_be_switched_off(pipeline: Pipeline) -> None:
    question = "Does sorafenib cause high blood pressure?"
    assert pipeline.read(question) == "Does sorafenib cause hypertension?"
    off = pipeline.settings.model_copy(
        update={"answer": pipeline.settings.answer.model_copy(update={"read_lay_terms": False})}
    )
    literal = Pipeline(off, pipeline.embedder, None)
    try:
        assert literal.read(question) == question
    finally:
        literal.close()


def test_a_sentence_naming_a_thing_otherwise_names_the_question_s_term() -> None:
    # "adverse events", "adverse effects" and "toxicities" name one thing (one entry's alternatives).
    found = equivalents({"worst", "advers", "event"}, lay_terms())
    assert [asked for asked, _ in found] == [frozenset({"advers", "event"})]
    assert {"advers", "event"} <= with_equivalents({"grade", "toxic", "thrombocytopenia"}, found)
    assert with_equivalents({"grade", "respons"}, found) == {"grade", "respons"}
    assert equivalents({"advers", "event"}, None) == ()  # lay terms switched off
    assert equivalents({"effect", "phage"}, lay_terms()) == ()  # "effect" alone names none


@pytest.mark.integration
def test_worst_side_effects_are_found_as_toxicities(pipeline: Pipeline) -> None:
    # Read as "adverse events"; the myeloma trial says "Grade 4 toxicity".
    history = [Turn("Has sorafenib been tried for multiple myeloma that keeps coming back?")]
    answer = pipeline.ask("What were the worst side effects they had?", history=history)
    assert "toxicit" in answer.answer.lower() and {c.passage.doc_id for c in answer.citations} == {
        "swog-s0434-sorafenib-multiple-myeloma"
    }


@pytest.mark.integration
def test_a_lesion_that_cleared_up_is_found_as_a_remission(pipeline: Pipeline) -> None:
    # The case report says "complete remission of resistant psoriasis": read without the lay
    # term, the question was answered with its closing call for more research on psoriasis.
    answer = pipeline.ask("Did the psoriasis clear up on sorafenib?")
    assert answer.resolved_question == "Did the psoriasis complete remission on sorafenib?"
    assert "complete remission of resistant psoriasis" in answer.citations[0].quote
