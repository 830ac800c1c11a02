"""Which documents a question is about: the topic words in a title, and the drugs and trials
a question names (rag.answer.topic)."""

from __future__ import annotations

import dataclasses

import pytest

from rag.answer.extractive import ExtractiveComposer
from rag.answer.features import coverage
from rag.answer.topic import context_scores, document_terms, documents_naming, topic_weights
from rag.settings import AnswerSettings
from rag.text.abbreviations import Abbreviations
from rag.text.analyzer import Analyzer
from tests.test_answer import PASSAGES, evidence

ANALYZER = Analyzer(Abbreviations({}))
MYELOMA = (
    "Sorafenib in myeloma",
    "RESULTS: Grade 3 toxicities were seen in 8 patients, and renal failure in three. "
    "No responses were observed, unlike in renal cell carcinoma.",
)


@pytest.fixture
def myeloma_toxicities(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PASSAGES, "myeloma", MYELOMA)


@pytest.mark.usefixtures("myeloma_toxicities")
def test_the_document_whose_title_names_the_topic_is_what_the_question_is_about() -> None:
    built = evidence("What were the grade 3 toxicities in renal cell carcinoma?")
    assert {"grade", "toxic"} <= set(built.parts[0].focus_stems)
    assert set(topic_weights(built)) == {"renal", "cell", "carcinoma"}
    terms = document_terms(built.passages, ANALYZER)
    scores = context_scores(built, terms)
    assert scores["mrcc"] > scores["myeloma"]
    # Counting every question word found anywhere, the myeloma trial's passing mentions win.
    whole = {doc: coverage(built.term_weights, text) for doc, text in terms.text.items()}
    assert whole["myeloma"] > whole["mrcc"]


@pytest.mark.usefixtures("myeloma_toxicities")
def test_an_answer_comes_from_a_document_naming_the_drug_asked_about(monkeypatch: pytest.MonkeyPatch) -> None:
    mrcc_title, mrcc_text = PASSAGES["mrcc"]
    dosed = "Sorafenib was given at a dose of 400 mg twice daily, and the dose was escalated. "
    monkeypatch.setitem(PASSAGES, "mrcc", (mrcc_title, mrcc_text.replace("RESULTS: ", "RESULTS: " + dosed)))
    monkeypatch.setitem(
        PASSAGES,
        "resorce",
        ("Regorafenib in liver cancer", "RESULTS: Regorafenib was used. Median OS was 10.6 months."),
    )
    built = evidence("What dose of regorafenib was given?")
    assert built.named == ("regorafenib",)
    assert documents_naming(built, document_terms(built.passages, ANALYZER), ANALYZER) == {"resorce"}
    composer = ExtractiveComposer(AnswerSettings(min_support=0.0), Abbreviations({}))
    result = composer.compose(built)
    assert not result.abstained and {c.passage.doc_id for c in result.citations} == {"resorce"}
    # Two named things that no document discusses together: the documents do not answer.
    apart = composer.compose(evidence("What dose of regorafenib was given with sorafenib?"))
    assert apart.abstained and apart.reason == "named apart: 'regorafenib' and 'sorafenib'"
    assert "No passage discusses 'regorafenib' and 'sorafenib' together." in apart.answer
    # One named thing that no passage at hand names: not answered from the others.
    rows = {p.row_id for p in built.passages if p.doc_id != "resorce"}
    without = dataclasses.replace(
        built,
        passages=[p for p in built.passages if p.row_id in rows],
        sentences=[s for s in built.sentences if s.chunk_row in rows],
    )
    alone = composer.compose(without)
    assert alone.abstained and alone.reason == "not named: 'regorafenib'"


def test_named_words_are_drugs_and_genes_the_corpus_mentions() -> None:
    from rag.answer.abstain import named_words, names_drug_or_gene
    from tests.test_answer import lexicon

    question = "Did sorafenib in the phase II trial work in myeloma by the 11th month, unlike imatinib?"
    # Not the disease or the study (they have other names), not an ordinal, not a drug the
    # corpus lacks.
    assert named_words(question, lexicon()) == ("sorafenib",)
    assert all(map(names_drug_or_gene, ["FLT3", "H1N1", "rAd5", "imatinib", "etanercept"]))
    assert not any(map(names_drug_or_gene, ["concept", "accept", "II", "HCC", "Myeloma"]))


def test_disease_names_and_their_shorter_forms() -> None:
    from rag.answer.diseases import disease_names, name_variants

    assert disease_names("What is the dose of regorafenib in colorectal cancer?") == ("colorectal cancer",)
    assert disease_names("Sorafenib in advanced differentiated thyroid carcinoma") == ("thyroid carcinoma",)
    assert disease_names("Among people with FLT3-mutated leukaemia given sorafenib") == ("leukemia",)
    # A stage alone, a place and a generic head without a qualifier name no disease.
    assert disease_names("Does it work in advanced cancer at the Fudan Cancer Center?") == ()
    # A conjunction is no qualifier: a follow-up's carried words "sorafenib once cancer".
    assert disease_names("tumour under microscope sorafenib once cancer: How many patients?") == ()
    assert name_variants("drug prevents colon cancer") == [
        "drug prevents colon cancer",
        "prevents colon cancer",
        "colon cancer",
    ]
    assert name_variants("multiple myeloma") == ["multiple myeloma", "myeloma"]
    # No shorter form starts inside the name: "cell carcinoma" is no disease of its own.
    assert name_variants("renal cell carcinoma") == ["renal cell carcinoma"]
    assert name_variants("small cell lung cancer") == ["small cell lung cancer", "lung cancer"]


def test_names_of_one_disease_are_close_and_of_others_far(real_embedder) -> None:  # type: ignore[no-untyped-def]
    from rag.answer.diseases import OTHER_DISEASE, DiseaseMatcher

    matcher = DiseaseMatcher(real_embedder.embed)
    titles = {
        "rcc": "Sorafenib in metastatic renal cell carcinoma refractory to bevacizumab",
        "myeloma": "A phase II trial of sorafenib in relapsing multiple myeloma",
        "aml": "Sorafenib in FLT3-ITD-positive acute myeloid leukemia",
        "methods": "Sorafenib pharmacokinetics in mice",  # names no disease: no say either way
    }
    asked = ["kidney cancer"]
    similarity = matcher.similarities(asked, list(real_embedder.embed(asked)), titles)
    assert set(similarity) == {"rcc", "myeloma", "aml"}
    assert similarity["rcc"] >= OTHER_DISEASE > max(similarity["myeloma"], similarity["aml"])
    # Kidney cancer's paper is not about liver or breast cancer ("cell carcinoma", a form no
    # longer made of its name, was 0.615 and 0.613 close to them).
    for other in ("liver cancer", "breast cancer"):
        similarity = matcher.similarities([other], list(real_embedder.embed([other])), titles)
        assert similarity["rcc"] < OTHER_DISEASE
    leukemia = matcher.similarities(["leukemia"], list(real_embedder.embed(["leukemia"])), titles)
    assert leukemia["aml"] == 1.0  # the same specific head: one disease, whatever its qualifiers


def test_a_question_on_a_disease_no_document_is_about_is_declined(pipeline) -> None:  # type: ignore[no-untyped-def]
    near_miss = pipeline.ask("What is the dose of regorafenib in colorectal cancer?")
    assert near_miss.abstained and near_miss.reason == "other disease: 'colorectal cancer'"
    # The only bevacizumab paper is on kidney cancer: not an answer for liver cancer (read as
    # the clinical term the corpus uses).
    other = pipeline.ask("Does bevacizumab work in liver cancer?")
    assert other.abstained and other.reason == "other disease: 'hepatocellular carcinoma'"
    renal = pipeline.ask("Which grade 3 toxicities were seen in renal cell carcinoma?")
    assert not renal.abstained
    assert {c.passage.doc_id for c in renal.citations} <= {
        "oya-2016-little-impact-renal-function",
        "sorafenib-mrcc-refractory-bevacizumab-sunitinib",
    }


def test_a_text_naming_many_diseases_is_read_for_its_first_few() -> None:
    from rag.answer.diseases import MAX_NAMES, disease_names

    flood = " ".join(f"organ{chr(97 + i // 26)}{chr(97 + i % 26)} cancer and" for i in range(300))
    assert len(disease_names(flood)) == MAX_NAMES


def test_a_name_a_document_defines_as_a_short_form_counts_as_named_there() -> None:
    from types import SimpleNamespace

    from rag.answer.topic import DocumentTerms

    # Two documents define it differently, so the corpus as a whole gives it no one meaning.
    abbreviations = Abbreviations(
        {"aml": [("FLT3", "fms like tyrosine kinase")], "other": [("FLT3", "fetal liver test")]}
    )
    analyzer = Analyzer(abbreviations)
    text = "Fms like tyrosine kinase (FLT3) mutations were found. FLT3 inhibitors work."
    terms = DocumentTerms(
        {"aml": set(), "other": set()},
        {"aml": analyzer.term_set(text, "aml"), "other": analyzer.term_set("Sorafenib in HCC.", "other")},
    )
    asked = SimpleNamespace(named=("FLT3",))
    assert "flt3" not in terms.text["aml"]  # the document reads its short form as the long one
    assert documents_naming(asked, terms, analyzer) == {"aml"}  # type: ignore[arg-type]


def test_a_generated_answer_is_prompted_only_with_documents_the_extractive_one_could_quote() -> None:
    import dataclasses
    from types import SimpleNamespace

    from rag.answer.generative import GenerativeComposer
    from rag.settings import GenerationSettings

    built = dataclasses.replace(
        evidence("What was the median PFS with sorafenib in renal cell carcinoma?"),
        diseases=("renal cell carcinoma",),
        disease_similarity={"mrcc": 1.0, "myeloma": 0.3},  # the myeloma paper: another disease
    )
    baseline = ExtractiveComposer(AnswerSettings(min_support=0.0), Abbreviations({})).compose(built)
    assert not baseline.abstained
    model = SimpleNamespace(count_tokens=lambda text: len(text.split()))
    generative = GenerativeComposer(
        model, ExtractiveComposer(AnswerSettings(), Abbreviations({})), GenerationSettings()
    )  # type: ignore[arg-type]
    assert {p.doc_id for p in built.passages} == {"mrcc", "myeloma"}
    assert {p.doc_id for p in generative.prompt_passages(built, baseline)} == {"mrcc"}


def test_a_sentence_on_another_drug_does_not_answer_for_the_drug_asked(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    other = "Hand-foot skin reaction in refractory renal cell carcinoma was seen in 13% with regorafenib."
    asked = "Sorafenib caused hand-foot syndrome in 8% of patients."
    text = f"RESULTS: {other} {asked}"
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
    # The hand-set score alone: the fake embedder gives the ranker no meaning to go by.
    composer = ExtractiveComposer(AnswerSettings(min_support=0.0, rank_sentences=False), Abbreviations({}))
    question = "Does sorafenib cause hand-foot skin reaction in refractory renal cell carcinoma?"
    built = evidence(question)
    assert built.named == ("sorafenib",)
    assert composer.candidates(built)[0].text == other  # the other drug's sentence holds more words
    assert composer.compose(built).citations[0].quote == asked
    # Asked for a description, the answer may be another drug.
    which = evidence("Which drug besides sorafenib gave hand-foot skin reaction in renal cell carcinoma?")
    assert which.question.answer_type.value == "description"
    assert composer.compose(which).citations[0].quote == other


def test_a_side_effect_of_the_drug_asked_is_not_quoted_from_another_drugs_arm(pipeline) -> None:  # type: ignore[no-untyped-def]
    # The regorafenib trial names sorafenib (its patients progressed on it) and reports
    # regorafenib's rate of the very reaction asked about; sorafenib's papers call it a syndrome.
    answer = pipeline.ask("Does sorafenib cause hand-foot skin reaction?")
    assert not answer.abstained
    assert "regorafenib" not in answer.answer.lower()
    assert "hand-foot" in answer.citations[0].quote
