"""Sentence scoring for extractive answers (pure functions over precomputed features)."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache, lru_cache
from pathlib import Path

from rag.answer.abstain import drugs_named
from rag.answer.answer_units import drug_nouns, number_word_pattern, unit_pattern
from rag.answer.quantities import quantities_given
from rag.answer.question import AnswerType, Intent, Question
from rag.text import STOPWORDS, numbers, stem


@dataclass(frozen=True)
class Weights:
    """How much each kind of evidence counts towards a sentence's score; they sum to 1, so a
    score is in [0, 1]. Chosen by answer accuracy on the gold set, starting from the listwise
    fit that eval/tune.py prints (the fit alone ranks single sentences better but answers worse)."""

    meaning: float = 0.33  # cosine between the question and the sentence (with its title)
    words: float = 0.09  # rare question words found in the sentence
    context: float = 0.19  # question words found in the sentence's document (title and passages)
    retrieval: float = 0.10  # the fused retrieval score of the document's best passage, relative to the top
    answer_type: float = 0.13  # a number in the unit "how many / how long" asks for; a cause for "why"
    focus: float = 0.08  # the words naming what is asked for ("tumor burden reduction rate")
    role: float = 0.08  # a results sentence for a finding, a methods sentence for a dose ...


@dataclass(frozen=True)
class Features:
    meaning: float
    words: float
    context: float
    retrieval: float
    answer_type: float
    focus: float
    role: float
    measure: float  # not scored: a gate (see answer.py), 1.0 when the asked statistic is named

    def score(self, weights: Weights) -> float:
        return (
            weights.meaning * self.meaning
            + weights.words * self.words
            + weights.context * self.context
            + weights.retrieval * self.retrieval
            + weights.answer_type * self.answer_type
            + weights.focus * self.focus
            + weights.role * self.role
        )


def coverage(question_terms: Mapping[str, float], found: set[str]) -> float:
    """Share of the question's term weight (idf) present in `found`."""
    total = sum(question_terms.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in question_terms.items() if t in found) / total


def word_pairs(terms: Sequence[str]) -> set[tuple[str, str]]:
    """The adjacent pairs of a text's content terms, in order."""
    return set(itertools.pairwise(terms))


def phrase_share(question_pairs: set[tuple[str, str]], terms: Sequence[str]) -> float:
    """The share of the question's adjacent word pairs that a sentence (its content terms)
    holds in the same order: high for a question written from that sentence."""
    return len(question_pairs & word_pairs(terms)) / max(1, len(question_pairs))


def run_share(question_terms: Sequence[str], terms: Sequence[str]) -> float:
    """The longest run of the question's content terms that a sentence (its content terms)
    holds in a row, as a share of the question's: a question copied from a sentence shares a
    long one, where adjacent pairs (`phrase_share`) may come from several places."""
    if not question_terms:
        return 0.0
    matcher = SequenceMatcher(None, list(question_terms), list(terms), autojunk=False)
    return matcher.find_longest_match().size / len(question_terms)


def local_weights(term_weights: Mapping[str, float], sentence_stems: Sequence[set[str]]) -> dict[str, float]:
    """Question term weights times their inverse frequency among the candidate sentences."""
    count = len(sentence_stems)
    weights = {}
    for term, weight in term_weights.items():
        df = sum(1 for stems in sentence_stems if term in stems)
        weights[term] = weight * math.log(1.0 + (count + 1) / (df + 1))
    return weights


# Digits that are not a value the sentence reports: a reference mark ("[12]", "[3, 4]") or
# part of a name ("COVID-19", "SARS-CoV-2", "2019-nCoV"; "5-year" and "3-fold" stay values).
# A bracketed reference mark ("[9]", "[3, 4]", "[12-14]"), its numbers in group 1.
REFERENCE_MARK = r"\[(\s*\d+(?:\s*[,;\u2013-]\s*\d+)*\s*)\]"
NOT_A_VALUE = re.compile(REFERENCE_MARK + r"|\b[A-Za-z]*[A-Z][A-Za-z]*-\d+\b|\b\d+-[a-z]*[A-Z][A-Za-z]*\b")


def answer_type_match(question: Question, sentence: str) -> float:
    """1.0 when the sentence holds a new number with the unit the question asks for; for a
    why-question, states a cause ("due to", "because"); for a question asking which drug,
    names a drug the question does not ("Which chemotherapy drugs did they use?": "... received
    IA cisplatin or carboplatin every 6 weeks ...")."""
    kind = question.answer_type
    if kind is AnswerType.REASON:
        cause = unit_pattern(kind)
        return 1.0 if cause is not None and cause.search(sentence) else 0.0
    if kind is AnswerType.DESCRIPTION and asks_for_drug(question):
        return 1.0 if drugs_named(sentence) - _drugs_asked(question.text) else 0.0
    if not kind.numeric:
        return 0.0
    values = NOT_A_VALUE.sub(" ", sentence)
    new_numbers = [n for n in numbers(values) if n.rstrip("%") not in question.numbers]
    has_number_word = bool(number_word_pattern().search(sentence))
    if not new_numbers and not (kind is AnswerType.COUNT and has_number_word):
        # "No responses were observed" gives a response rate: zero, in words.
        return 1.0 if states_none_of(question, sentence) else 0.0
    unit = unit_pattern(kind)
    return 1.0 if unit is None or unit.search(sentence) else 0.5


# "no responses", "no grade 4 toxicities", "none of the patients": a count or a rate of zero.
NONE_OF = re.compile(r"\b(?:no|none of the|not any)\s+((?:[\w-]+\s+){0,2}[\w-]+)", re.I)
WORDS = re.compile(r"[a-z0-9]+")


def states_none_of(question: Question, sentence: str) -> bool:
    """Whether the sentence says there was none of something the question asks about ("No
    responses were observed." for "What was the response rate ...?")."""
    asked = _stems_asked(question.content_words)
    return any(
        asked.intersection(stem(WORDS.findall(match.group(1).lower())))
        for match in NONE_OF.finditer(sentence)
    )


@lru_cache(maxsize=1024)
def _stems_asked(content_words: tuple[str, ...]) -> frozenset[str]:
    """The stems of a question's content words, once per question rather than once per candidate."""
    return frozenset(stem([w.lower() for w in content_words]))


@lru_cache(maxsize=1024)
def _drugs_asked(question: str) -> frozenset[str]:
    """The drugs a question names, read once per question rather than once per candidate."""
    return frozenset(drugs_named(question))


def asks_for_drug(question: Question) -> bool:
    """A "what/which X" question whose X names a drug by kind ("Which chemotherapy drugs",
    "what other tablet", "Which multikinase inhibitor"): it asks for the drug's name."""
    return any(word.lower() in drug_nouns() for word in question.focus)


def focus_match(focus_stems: tuple[str, ...], stems: set[str], text: str) -> float:
    """The share of the words naming what is asked for that the sentence holds, a quantity's
    name counting as held when the sentence gives a value in its units ("49.4 °C" for
    "temperature"); 0 when the question names nothing."""
    if not focus_stems:
        return 0.0
    return coverage(dict.fromkeys(focus_stems, 1.0), stems | quantities_given(focus_stems, text))


def measure_match(measure_stems: Sequence[str], sentence_stems: Sequence[str], max_gap: int = 4) -> float:
    """1.0 when the sentence names the measure: all its words present, and its modifier
    ("median") qualifying the next word with at most `max_gap` content words between them
    ("median duration of treatment and survival" reports a median survival; "median PFS
    was one month, and OS at 12 months" does not report a median OS). Also 1.0 when the
    modifier qualifies the measure's last word with only the measure's own words between
    ("median survival was 10.6 months" reports a median overall survival; "median
    progression-free survival" does not). Otherwise the share of its words present, halved."""
    if not measure_stems:
        return 1.0
    content = [s for s in sentence_stems if s not in STOPWORDS]
    present = set(content)
    modifier = measure_stems[0]
    if all(s in present for s in measure_stems):
        head = measure_stems[1]
        for position, token in enumerate(content):
            if token == modifier and head in content[position + 1 : position + 2 + max_gap]:
                return 1.0
    last, own = measure_stems[-1], set(measure_stems)
    for position, token in enumerate(content):
        if token != modifier:
            continue
        following = content[position + 1 : position + 2 + max_gap]
        if last in following and all(w in own for w in following[: following.index(last)]):
            return 1.0
    return 0.5 * sum(1 for s in measure_stems if s in present) / len(measure_stems)


# Section labels by the part of a paper they name: data (data/sections.json), not code.
SECTIONS_FILE = Path(__file__).with_name("data") / "sections.json"


@dataclass(frozen=True)
class SectionLabels:
    kinds: tuple[tuple[str, re.Pattern[str]], ...]
    """(kind, pattern) in the order they are tried."""
    non_content: re.Pattern[str]
    line_labels: re.Pattern[str]
    """Labels that open a line of text, besides the kinds' ("Abstract:", "Text:")."""


@cache
def section_labels() -> SectionLabels:
    data = json.loads(SECTIONS_FILE.read_text(encoding="utf-8"))
    kinds = tuple((kind, re.compile("|".join(labels), re.I)) for kind, labels in data["kinds"].items())
    return SectionLabels(
        kinds,
        re.compile("|".join(data["non_content"]), re.I),
        re.compile("|".join(data["line_labels"]), re.I),
    )


def is_line_label(label: str) -> bool:
    """A section's label opening a line before its text ("Abstract", "Conclusion", "Patients
    and methods"), not a word of the text ("Sorafenib: 400 mg twice daily")."""
    return section_kind(label) != "unknown" or bool(section_labels().line_labels.search(label))


def is_non_content_section(section: str | None) -> bool:
    """A labelled part that holds no answer sentences (keywords, abbreviations)."""
    return section is not None and bool(section_labels().non_content.search(section))


_STUDY = r"(this|the present|present|our) (study|trial|work|paper|analysis|investigation)"
PURPOSE = re.compile(
    r"^(to (compare|evaluate|assess|determine|investigate|examine|identify|analy[sz]e|study|clarify)\b"
    rf"|(we|{_STUDY}) (is |was )?(aimed|sought|set out|hypothesi[sz]ed|designed)"
    rf"|{_STUDY} (is|was) to\b"
    r"|(the|our) (aim|purpose|objective|goal)s? (of|was|is)\b"
    rf"|(in {_STUDY},? |here,? )?we "
    r"(aimed|sought|examined|investigated|evaluated|assessed|studied|tested|hypothesi[sz]ed)\b)",
    re.I,
)
# Not what a paper found: disclosures, rights, funding ("This work was supported by ..."),
# who did what ("Contribution: A.B. designed the research").
BOILERPLATE = re.compile(
    r"financial relationships|competing interests|conflicts? of interest|all rights reserved|copyright|"
    r"^FUNDING|no .{0,20}to disclose"
    r"|\b(?:work|study|research|project)s? (?:was|were|is|are) (?:\w+ )?(?:supported|funded)\b"
    r"|\bsupported by (?:a |the )?(?:grants?|funding)\b|\bfunded by\b"
    r"|^(?:authors?'? )?contributions?\s*:|^acknowledge?ments?\s*:|^authorship\b",
    re.I,
)
# How well each part of an abstract answers each intent of question: findings ("what was
# the response rate"), a verdict ("did it work?") or the study design ("what dose was given").
ROLE_TABLE: dict[Intent, dict[str, float]] = {
    "findings": {"results": 1.0, "conclusion": 0.7, "methods": 0.5, "background": 0.0, "unknown": 0.5},
    "verdict": {"results": 0.7, "conclusion": 1.0, "methods": 0.3, "background": 0.0, "unknown": 0.5},
    "design": {"results": 0.6, "conclusion": 0.3, "methods": 1.0, "background": 0.2, "unknown": 0.5},
}


def section_kind(section: str | None) -> str:
    if section is None:
        return "unknown"
    for kind, pattern in section_labels().kinds:
        if pattern.search(section):
            return kind
    return "unknown"


def sentence_role(section: str | None, sentence: str, intent: Intent = "findings") -> float:
    """How well a sentence's place in the paper suits the question (see ROLE_TABLE);
    statements of aims and boilerplate (funding, disclosures) suit none."""
    if PURPOSE.search(sentence.strip()) or BOILERPLATE.search(sentence.strip()):
        return 0.0
    return ROLE_TABLE[intent][section_kind(section)]
