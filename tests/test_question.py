from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answer.features import answer_type_match, measure_match, sentence_role
from rag.answer.question import AnswerType, analyze, asked_part, split_parts
from rag.text import stem
from rag.text.abbreviations import Abbreviations, find_definitions, looks_like_short_form


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many patients were enrolled?", AnswerType.COUNT),
        ("What was the median PFS?", AnswerType.DURATION),
        ("What dose of sorafenib was used?", AnswerType.DOSE),
        ("What was the response rate?", AnswerType.PERCENT),
        ("What was the hazard ratio for death?", AnswerType.RATIO),
        ("When was the complete response first seen?", AnswerType.TIME),
        ("Did sorafenib improve survival?", AnswerType.DURATION),
        ("Does the drug cause psoriasis?", AnswerType.YES_NO),
        ("Which gene does miR-181a target?", AnswerType.DESCRIPTION),
        # A cause asked for, even where a duration's word is named.
        ("Why was the survival shorter in that group?", AnswerType.REASON),
        ("What was the reason for stopping sorafenib?", AnswerType.REASON),
        ("What made doctors lower the dose?", AnswerType.REASON),
        ("How many patients stopped for other reasons?", AnswerType.COUNT),
        # A count of a unit of time is a duration.
        ("How many extra months of life does sorafenib give?", AnswerType.DURATION),
        ("In how many days do the symptoms arise?", AnswerType.DURATION),
        # A term's meaning asked for, not a mean.
        ("What does RECIST mean?", AnswerType.DESCRIPTION),
        ("What was the mean age?", AnswerType.NUMBER),
    ],
)
def test_answer_types(question: str, kind: AnswerType) -> None:
    assert analyze(question).answer_type is kind


@pytest.mark.parametrize(
    ("question", "is_list"),
    [
        ("Which studies tested sorafenib in leukemia?", True),
        ("In which HCC studies was Child-Pugh a predictor?", True),
        ("What adverse events were reported in the renal cell carcinoma studies?", True),
        ("What was the toxicity in the Christie series?", False),
        ("What did the RESORCE trial report?", False),
        ("What studies were excluded?", True),
        ("What do the studies suggest?", False),  # what they found, not which they are
        ("What did the studies reveal about transmission?", False),
        ("What is Universal primer-PCR used for in viral studies?", False),  # studies in general
    ],
)
def test_list_questions(question: str, is_list: bool) -> None:
    assert analyze(question).is_list is is_list


def test_parts_and_focus() -> None:
    assert split_parts("How many were enrolled, and what dose was used?") == [
        "How many were enrolled",
        "what dose was used?",
    ]
    assert split_parts("What dose and schedule were used?") == ["What dose and schedule were used?"]
    question = analyze("What was the median overall survival of the fever group?")
    assert question.focus == ("median", "overall", "survival")
    assert question.measure == ("median", "overall", "survival")
    assert analyze("What was the response rate in the trial?").measure == ()


def test_measure_needs_its_modifier_next_to_it() -> None:
    abbreviations = Abbreviations({})
    measure = stem(abbreviations.expand("median overall survival"))
    assert measure_match(measure, stem(abbreviations.expand("Median OS was 10.6 months."))) == 1.0
    assert (
        measure_match(
            measure, stem(abbreviations.expand("Median PFS is one month, and OS at 12 months is 50%."))
        )
        < 1.0
    )
    assert (
        measure_match(
            measure,
            stem(
                abbreviations.expand("Median duration of treatment and overall survival were 4 and 7 months.")
            ),
        )
        == 1.0
    )


def test_a_measure_may_be_named_without_its_middle_words() -> None:
    abbreviations = Abbreviations({})
    measure = stem(abbreviations.expand("median overall survival"))
    assert measure_match(measure, stem(abbreviations.expand("Median survival was 10·6 months."))) == 1.0
    other = "The median progression-free survival was 3.2 months."
    assert measure_match(measure, stem(abbreviations.expand(other))) < 1.0
    assert (
        measure_match(measure, stem(abbreviations.expand("Survival at a median follow-up of 2 years."))) < 1.0
    )


def test_abbreviations_are_found_per_document() -> None:
    text = (
        "patients with hepatocellular carcinoma (HCC) had a hematologic response (HR) and overall (OS) data"
    )
    assert find_definitions(text) == [("HCC", "hepatocellular carcinoma"), ("HR", "hematologic response")]
    abbreviations = Abbreviations({"aml": [("HR", "hematologic response")]})
    assert abbreviations.expand("HR 0.5", "aml") == ["hematologic", "response", "0.5"]
    assert abbreviations.expand("HR 0.5", "other") == ["hazard", "ratio", "0.5"]


def test_answer_type_match_and_roles() -> None:
    question = analyze("What was the median PFS?")
    assert answer_type_match(question, "The median PFS was 4.4 months.") == 1.0
    assert answer_type_match(question, "Patients were treated with sorafenib.") == 0.0
    counted = analyze("How many people were infected on the cruise ship?")
    assert answer_type_match(counted, "Of 3711 people on board, 619 were infected.") == 1.0
    # A reference mark or the digits of a name ("COVID-19", "2019-nCoV") is not a count.
    assert answer_type_match(counted, "COVID-19 (2019-nCoV) broke out on a cruise ship [1].") == 0.0
    assert answer_type_match(counted, "People were infected on the ship [3, 4].") == 0.0
    # None of what is asked is a value: a rate or a count of zero, in words.
    rate = analyze("What was the response rate in the myeloma trial?")
    assert answer_type_match(rate, "No responses were observed.") == 1.0
    assert answer_type_match(rate, "No toxicities were observed.") == 0.0
    relapsed = analyze("What proportion of the patients relapsed?")
    assert answer_type_match(relapsed, "No relapses were seen.") == 1.0
    # A why-question is matched by a sentence that gives a cause, whatever its numbers.
    why = analyze("Why did she stop taking sorafenib?")
    assert answer_type_match(why, "Sorafenib was discontinued due to a grade 3 adverse event.") == 1.0
    assert answer_type_match(why, "She took sorafenib 400 mg for 18 months.") == 0.0
    # A question asking which drug is matched by a sentence naming another drug than its own.
    drugs = analyze("Which chemotherapy drugs were combined with sorafenib?")
    assert answer_type_match(drugs, "Patients received IA cisplatin or carboplatin every 6 weeks.") == 1.0
    assert answer_type_match(drugs, "Patients received oral sorafenib every day.") == 0.0
    tablet = analyze("If sorafenib stops working for thyroid cancer, what other tablet can be tried?")
    assert answer_type_match(tablet, "Lenvatinib was the second MKI approved.") == 1.0
    # Not a question about the drug's effects.
    effects = analyze("What are the side effects of the drug?")
    assert answer_type_match(effects, "Cisplatin and carboplatin were given.") == 0.0
    assert sentence_role("RESULTS", "The rate was 30%.") == 1.0
    assert sentence_role("METHODS", "To assess the efficacy of sorafenib in HCC.") == 0.0
    assert sentence_role("BACKGROUND", "HCC is common.") == 0.0


def test_section_labels_are_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.answer import features

    assert features.section_kind("RESULTS") == "results" and features.section_kind("Outcomes") == "unknown"
    assert features.is_non_content_section("Key words") and not features.is_non_content_section(None)
    data = json.loads(features.SECTIONS_FILE.read_text(encoding="utf-8"))
    assert features.is_line_label("Abstract") and features.is_line_label("Patients and methods")
    assert not features.is_line_label("Sorafenib") and not features.is_line_label("Highlights")
    data["kinds"]["results"].append("OUTCOME")  # another field's label
    data["line_labels"].append("^HIGHLIGHTS$")
    changed = tmp_path / "sections.json"
    changed.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(features, "SECTIONS_FILE", changed)
    features.section_labels.cache_clear()
    try:
        assert features.section_kind("Outcomes") == "results" and features.is_line_label("Highlights")
    finally:
        monkeypatch.undo()
        features.section_labels.cache_clear()
    assert features.section_kind("Outcomes") == "unknown"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("HCC", True),
        ("miR", True),
        ("mAb", True),
        ("eGFR", True),
        ("OS", True),
        ("Fig", True),  # capitalized and at most three letters
        ("x2B", True),
        ("Sorafenib", False),
        ("sorafenib", False),
        ("a1", False),
        ("12", False),
        ("É", True),
        ("naïve", False),
    ],
)
def test_what_looks_like_a_short_form(token: str, expected: bool) -> None:
    assert looks_like_short_form(token) is expected


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        (
            "In the randomized trial of RFA plus sorafenib, what were the 1- and 2-year survival rates?",
            "what were the 1- and 2-year survival rates?",
        ),
        ("For cirrhotic patients with a portal vein clot, how many were alive?", "how many were alive?"),
        ("Among people with relapsed AML, did anyone respond?", "did anyone respond?"),
        # A follow-up read against the turn before: the earlier topic, a colon, the question.
        ("RFA plus sorafenib: How many were alive at two years?", "How many were alive at two years?"),
        # No scene-setting opening: the whole question is asked.
        ("In which studies was sorafenib combined with TACE?", None),
        ("What was the median PFS in the trial, and how many patients were enrolled?", None),
        ("In 2019, a new coronavirus emerged", None),
    ],
)
def test_a_scene_setting_opening_is_not_what_is_asked(question: str, asked: str | None) -> None:
    assert asked_part(question) == (asked or question)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("What dose of sorafenib was given?", "design"),
        ("How many patients were randomized?", "design"),
        ("What was the median overall survival?", "findings"),
        ("Did sorafenib prolong survival?", "verdict"),
        # The opening names the study (a randomized trial); what is asked is a finding.
        ("In the randomized trial of RFA plus sorafenib, how many were alive after two years?", "findings"),
        ("randomized trial RFA HCC sorafenib: How many of those given it alone were alive?", "findings"),
        ("In the phase 2 trial of sorafenib, what dose was given?", "design"),
        # "How often" asks for a schedule only with a dosing verb; otherwise for a rate.
        ("How often was sorafenib given?", "design"),
        ("How often did sorafenib shrink the tumours?", "findings"),
        # How many were in a study is how many it enrolled; how many in it died is a finding.
        ("How many people were in that study?", "design"),
        ("How many patients took part in the phase 3 trial?", "design"),
        ("How many patients in the study died?", "findings"),
        ("How many patients were in each group?", "design"),
        ("How many were in the placebo arm?", "design"),
        ("How many patients in each group responded?", "findings"),
    ],
)
def test_the_intent_is_read_from_the_asked_part(question: str, intent: str) -> None:
    assert analyze(question).intent == intent
