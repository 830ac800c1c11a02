"""A long quoted sentence narrowed to the clauses that answer (still an exact quote)."""

from __future__ import annotations

from rag.answer.clauses import best_clause
from rag.answer.extractive import ExtractiveComposer
from rag.answer.question import analyze
from rag.settings import AnswerSettings
from rag.text.abbreviations import Abbreviations
from rag.text.analyzer import Analyzer, content_terms
from tests.test_answer import PASSAGES, evidence

ANALYZER = Analyzer(Abbreviations({}))
LONG = (
    "Patients were enrolled at 42 centres in Europe, North America and Asia between 2005 and 2007, "
    "stratified by performance status and macroscopic vascular invasion, and randomly assigned to "
    "sorafenib or placebo; the median overall survival was 10.7 months in the sorafenib group, "
    "whereas in the placebo group it was 7.9 months (hazard ratio 0.69)."
)


def weights(question: str) -> dict[str, float]:
    return dict.fromkeys(content_terms(ANALYZER.tokens(question)), 1.0)


def clause_of(sentence: str, question: str, limit: int) -> str:
    """What `best_clause` quotes of `sentence` for `question` within `limit` characters."""
    start, end = best_clause(
        sentence, limit, term_weights=weights(question), question=analyze(question), analyzer=ANALYZER
    )
    return sentence[start:end]


def test_a_long_sentence_is_narrowed_to_the_clause_with_the_asked_value() -> None:
    clause = clause_of(LONG, "What was the median overall survival in the sorafenib group?", 160)
    assert len(clause) <= 160 < len(LONG)
    assert "median overall survival was 10.7 months" in clause
    assert "centres" not in clause
    assert clause[0].isalnum() and clause[-1] not in " ,;"


def test_a_clause_quoted_before_a_conjunction_does_not_end_on_it() -> None:
    sentence = (
        "The median overall survival was 10.7 months in the sorafenib group and "
        "enrolment ran at 42 centres in Europe, North America and Asia between 2005 and 2007 "
        "with stratification by performance status and macroscopic vascular invasion"
    )
    asked = clause_of(sentence, "What was the median overall survival in the sorafenib group?", 100)
    assert asked == "The median overall survival was 10.7 months in the sorafenib group"


def test_a_sentence_within_the_limit_is_kept_whole() -> None:
    question = "What was the median overall survival?"
    assert best_clause(
        LONG, len(LONG), term_weights=weights(question), question=analyze(question), analyzer=ANALYZER
    ) == (0, len(LONG))


def test_a_sentence_without_clauses_or_question_words_is_kept_whole() -> None:
    unbroken = "x" * 400
    question = "What was the median overall survival?"
    assert best_clause(
        unbroken, 100, term_weights=weights(question), question=analyze(question), analyzer=ANALYZER
    ) == (0, 400)
    unrelated = "Which gene does the microRNA target?"
    assert best_clause(
        LONG, 160, term_weights=weights(unrelated), question=analyze(unrelated), analyzer=ANALYZER
    ) == (0, len(LONG))


def test_the_composer_quotes_a_clause_as_an_exact_span(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(PASSAGES, "sharp", ("Sorafenib in advanced hepatocellular carcinoma", LONG))
    settings = AnswerSettings(min_support=0.0, clause_chars=150)
    composer = ExtractiveComposer(settings, Abbreviations({}))
    question = "What was the median overall survival with sorafenib in hepatocellular carcinoma?"
    composition = composer.compose(evidence(question))
    assert not composition.abstained
    citation = composition.citations[0]
    assert citation.passage.text[citation.quote_start : citation.quote_end] == citation.quote
    assert "10.7 months" in citation.quote
    shown = composition.answer
    assert citation.quote.rstrip(".") in shown and "\u2026" in shown  # a part of a sentence, marked as one
    assert len(shown) <= 150  # the limit holds for the sentence as shown, ellipses and marker included


def test_a_clause_starts_after_its_conjunction() -> None:
    sentence = (
        "Outbreaks of gastroenteritis have been reported on cruise ships, in health care settings, "
        "in schools and in the military over many years of surveillance in several countries and "
        "regions of the world, and norovirus is responsible for around 60% of all sporadic diarrhea "
        "cases in the community."
    )
    clause = clause_of(sentence, "What share of sporadic diarrhea cases is caused by norovirus?", 120)
    assert clause.endswith(
        "norovirus is responsible for around 60% of all sporadic diarrhea cases in the community."
    )
    assert len(clause) <= 120 and "cruise ships" not in clause
    assert not clause.startswith(("and ", "but "))  # a clause starts after its conjunction
