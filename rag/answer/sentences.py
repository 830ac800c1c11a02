"""Which sentences of a paper may answer a question: sentences of its content, not a
heading, a table row's label, a stray fragment, a keyword list or a disclosure."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from rag.answer.features import BOILERPLATE, is_non_content_section
from rag.documents import Passage, SentenceRecord

MIN_WORDS = 4
# A heading or a title ("4 Conclusion and Limitations", "Were the 3 Waves Caused by the Same
# Virus?"): most of its longer words capitalized and no full stop. A sentence full of names
# ("approved by the National Bioethics Committee in Iceland.") ends with one, and a table row
# holds a measured value ("United Kingdom 2.7% [1.2%-5.4%]", "Median Overall Survival 10.7").
TABLE_VALUE = re.compile(r"\d(?:\s?%|[.·]\d)")
HEADING_CAPITALIZED_SHARE = 0.6
HEADING_MIN_WORDS = 2
LONG_WORD = re.compile(r"\b[^\W\d_]{4,}")
# A note that points to a web page ("According to the National Cancer Institute common
# toxicity criteria, version 2 (http://www.fda.gov/...)", "CDC Summary 21 MAR 2020,
# https://www.cdc.gov/..."): it ends with the address and says little else. A finding that
# names its source's address ("... were made available on GISAID (https://www.gisaid.org/).")
# says more than WEB_NOTE_MAX_WORDS words besides it.
WEB_ADDRESS = re.compile(r"(?:https?://|www\.)", re.I)
WEB_NOTE_MAX_WORDS = 15
# Quantifiers that name no item ("a number of advantages"): data, not code.
LEAD_INS_FILE = Path(__file__).with_name("data") / "lead_ins.json"
# How a web page's links open ("Learn more about ..."): data, not code.
NAVIGATION_FILE = Path(__file__).with_name("data") / "navigation.json"
# How a table's or figure's caption opens ("Table 1:", "Figure 2."): data, not code.
CAPTIONS_FILE = Path(__file__).with_name("data") / "captions.json"
# How prose never ends ("... was chosen to be"): data, not code.
UNFINISHED_FILE = Path(__file__).with_name("data") / "unfinished.json"


def is_answer_sentence(text: str, section: str | None) -> bool:
    """A sentence, not a heading, a table row label, a stray fragment, a keyword list or a
    disclosure (funding, rights, conflicts of interest)."""
    if is_non_content_section(section):
        return False
    words = text.split()
    return (
        (len(words) >= MIN_WORDS or (len(words) >= 2 and bool(TABLE_VALUE.search(text))))
        and any(c.islower() for c in text)
        and not is_heading(text)
        and not BOILERPLATE.search(text.strip())
        and not is_web_note(text)
    )


def holds_content(passage: Passage) -> bool:
    """Whether any of `passage` lies outside the parts that hold no answer sentences: a chunk
    wholly of keywords, abbreviations, funding or disclosures can never be quoted, so it is not
    retrieved for an answer (it would take a better passage's place and make its paper look
    like the one asked about: a keyword list is short and names the paper's main terms)."""
    sections = passage.sections
    if not sections or sections[0][0] > 0:  # text before the first label: no label says what it is
        return True
    return not all(is_non_content_section(name) for _, name in sections)


# Where a trial is registered ("This trial is registered with ClinicalTrials.gov, number
# NCT01774344."): a registry, not a person "registered with a General Medical Practice".
TRIAL_REGISTRATION = re.compile(
    r"\b(?:is|was|were|are|been) (?:prospectively |retrospectively )?registered (?:with|at|in|on|under) "
    r"(?:the )?(?:ClinicalTrials\.gov|ISRCTN|EudraCT|ANZCTR"
    r"|(?:[A-Z][\w-]* ){0,4}(?:Clinical )?Trials? Regist(?:ry|er))",
    re.I,
)


def never_answers(text: str) -> bool:
    """Not article content, though a sentence: a link of a web page (`is_navigation`), where
    a trial is registered, a caption that reports no value (`is_caption`) or a sentence cut
    before its end (`is_unfinished`) or a formula (`is_formula`). These stay among
    the candidates the sentence ranker orders, which are those it was fitted on, and
    `ExtractiveComposer.compose` leaves them out after it (a refit on a candidate fewer moves
    the ranker more than the candidate is worth: docs/evaluation.md)."""
    return (
        is_navigation(text)
        or TRIAL_REGISTRATION.search(text) is not None
        or (is_caption(text) and not TABLE_VALUE.search(text))
        or is_unfinished(text)
        or is_formula(text)
    )


# A word of prose: lower-case letters only ("was", "rate"), not a symbol, a name or a variable.
PROSE_WORD = re.compile(r"\b[a-z]{3,}\b")


def is_formula(text: str) -> bool:
    """A formula as its PDF's text layer gives it ("Ram : R0,m eXp(— 212:1 O(Rheum)-"): no word
    of prose and no measured value. A table row ("Sorafenib | 400 | 12") and a row of values
    ("Italy 9.8% [3.2%-26%]") report something; a formula quoted alone does not."""
    return CELL_SEPARATOR not in text and not TABLE_VALUE.search(text) and PROSE_WORD.search(text) is None


def is_unfinished(text: str) -> bool:
    """A sentence cut before its end ("The prior distribution for R0 was chosen to be", where
    the source had a formula): it ends with a word that ends no sentence (data/unfinished.json).
    A table row is no prose: its last cell may be a footnote's letter ("12 | 45% | a")."""
    return CELL_SEPARATOR not in text and _unfinished().search(text) is not None


@cache
def _unfinished() -> re.Pattern[str]:
    endings = json.loads(UNFINISHED_FILE.read_text(encoding="utf-8"))["endings"]
    # Case-sensitive: a capital at the end is a name ("influenza A", "vitamin A"); a word of its
    # own, not a footnote's letter run into a value ("45%a").
    return re.compile(rf"(?:^|\s)(?:{_phrases(endings)})[\s.,;:]*$")


def is_caption(text: str) -> bool:
    """A table's or figure's caption ("Table l: Posterior model estimates of percentage of
    total population infected as of 28th March 2020"). `never_answers` leaves out one without
    a measured value: it says what the table shows, not what it found, and the table is not
    quoted with it; one that reports a value answers ("Figure 6: Left, infection-to-death
    distribution (mean 23.9 days)"). Prose that names a table ("Table 2 shows ...") is no
    caption."""
    return _caption().match(text.strip()) is not None


@cache
def _caption() -> re.Pattern[str]:
    labels = json.loads(CAPTIONS_FILE.read_text(encoding="utf-8"))["labels"]
    # The number as printed or scanned: "1", "S2", "3b", "IV", "l" (a 1 read as a letter).
    return re.compile(rf"(?:{_phrases(labels)})\.?\s*S?(?:\d+|[IVXl]+)[a-z]?\s*[:.|]\s", re.I)


def is_navigation(text: str) -> bool:
    """A link or a button of a saved web page ("Learn more about the symptoms associated with
    COVID-19."): it opens with one of data/navigation.json's openers and is short."""
    pattern, max_words = _navigation()
    return len(text.split()) <= max_words and pattern.match(text.strip()) is not None


@cache
def _navigation() -> tuple[re.Pattern[str], int]:
    data = json.loads(NAVIGATION_FILE.read_text(encoding="utf-8"))
    return re.compile(rf"(?:{_phrases(data['openers'])})\b", re.I), int(data["max_words"])


def _phrases(phrases: list[str]) -> str:
    """An alternation of the data file's phrases, literally, any white space between words."""
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)


def is_web_note(text: str) -> bool:
    """A short note ending with a web address (see WEB_ADDRESS): its last word, brackets and
    a full stop aside, is one, after at most WEB_NOTE_MAX_WORDS others. (Read word by word, not
    by a pattern anchored at the end, which a run of addresses would make quadratic.)"""
    words = text.split()
    return (
        bool(words)
        and WEB_ADDRESS.match(words[-1].strip("().;")) is not None
        and len(words) - 1 <= WEB_NOTE_MAX_WORDS
    )


def is_heading(text: str) -> bool:
    """A title or heading line, not a sentence (see HEADING_CAPITALIZED_SHARE). A table row
    with a code or a number in a cell ("Glibenclamide | G0639 | Sigma-Aldrich, UK") is a row."""
    if text.rstrip().endswith(".") or TABLE_VALUE.search(text):
        return False
    if CELL_SEPARATOR in text and any(c.isdigit() for c in text):
        return False
    long_words = LONG_WORD.findall(text)
    capitalized = sum(1 for word in long_words if word[0].isupper())
    return len(long_words) >= HEADING_MIN_WORDS and capitalized >= HEADING_CAPITALIZED_SHARE * len(long_words)


@cache
def _lead_in() -> re.Pattern[str]:
    phrases = json.loads(LEAD_INS_FILE.read_text(encoding="utf-8"))["quantifiers"]
    return re.compile(rf":\s*$|\b(?:{_phrases(phrases)})\b", re.I)


def announces(text: str) -> bool:
    """A sentence that announces what follows ("NDV has a number of appealing qualities as a
    vaccine vector.", "The four methods are:", "What was the major finding of the study?"): it
    ends with a colon, is a question (which the text answers next, if anywhere) or holds a
    quantifier that names no item (data/lead_ins.json)."""
    return bool(_lead_in().search(text.strip())) or is_question(text)


def is_question(text: str) -> bool:
    """A sentence that asks ("What was the major finding of the study?"): it announces its
    answer, which the text gives next if anywhere."""
    return text.rstrip().endswith("?")


def next_sentence(records: Sequence[SentenceRecord], passage: Passage, end: int) -> SentenceRecord | None:
    """The answer sentence of `passage` that starts right after `end` (only white space between)."""
    after = [r for r in records if r.chunk_row == passage.row_id and r.start >= end]
    following = min(after, key=lambda r: r.start, default=None)
    if following is None or passage.text[end : following.start].strip():
        return None
    text = passage.text[following.start : following.end]
    return following if is_answer_sentence(text, following.section) and not never_answers(text) else None


# A table row as the loaders write it: cells joined by " | ".
CELL_SEPARATOR = " | "


def table_header(text: str, start: int) -> str:
    """The header rows of the table that the row at `start` belongs to: the rows above it in
    the same table that hold no figure ("Factor | SPAD Chlorophyll Content | FV/FM", "F Ratio |
    F Ratio"). A row alone says "Genotype | 13.7 | 6.3"; its header says what 13.7 is. Empty for
    a sentence outside a table, or a table whose header is in another passage."""
    return "\n".join(row for _, row in _rows_above(text, start) if not TABLE_VALUE.search(row))


def table_start(text: str, start: int) -> int | None:
    """Where the table that the row at `start` belongs to begins, when it begins with header
    rows in this text (so that a quote from there to the row shows what its figures are)."""
    rows = _rows_above(text, start)
    if not rows or TABLE_VALUE.search(rows[0][1]):
        return None
    return rows[0][0]


def is_table_header(text: str, start: int) -> bool:
    """Whether the row at `start` is the first row of a table, without a figure, with rows below
    it: the row naming the columns ("Factor | SPAD Chlorophyll Content | FV/FM"), which says what
    is measured but never a result."""
    line_start, line_end = _line(text, start)
    if line_end == len(text) or _rows_above(text, start):
        return False
    line = text[line_start:line_end]
    below = text[line_end + 1 : _line(text, line_end + 1)[1]]
    return CELL_SEPARATOR in line and CELL_SEPARATOR in below and not TABLE_VALUE.search(line)


def _line(text: str, start: int) -> tuple[int, int]:
    """Where the line holding `start` begins and ends (its newline, or the end of the text)."""
    end = text.find("\n", start)
    return text.rfind("\n", 0, start) + 1, end if end >= 0 else len(text)


def _rows_above(text: str, start: int) -> list[tuple[int, str]]:
    """(offset, row) of the rows above the row at `start` in the same table, top first; none
    when `start` is not in a table row."""
    top, end = _line(text, start)
    if CELL_SEPARATOR not in text[top:end]:
        return []
    rows: list[tuple[int, str]] = []
    while top > 0:
        above = _line(text, top - 1)[0]
        row = text[above : top - 1]
        if CELL_SEPARATOR not in row:
            break
        rows.append((above, row))
        top = above
    return rows[::-1]
