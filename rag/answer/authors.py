"""A study named by its first author ("What did the Hatooka study compare?", "Bruix et al.",
"Kuzuya's paper", "reported by Oya"): the answer comes from that author's documents, and the
name, which only the documents' metadata holds, is not a thing the documents fail to mention.

A capitalized word of the question that is the family name of a document's first author
names that study when a cue says so (data/author_cues.json: "et al.", "'s", "study", "by ...")
or when the corpus's text never uses the word (an abstract rarely names its authors). A year
next to the name ("Hatooka 2016", "Bruix et al. (2017)") chooses among one author's studies.
A name only an author can have ("Smith et al.") that no document's authors have and the text
never uses is a study the collection lacks: the service says so rather than answer from
another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from rag.search.first_authors import AuthorName

CUES_FILE = Path(__file__).with_name("data") / "author_cues.json"
CAPITALIZED = re.compile(r"(?<![\w-])[^\W\d_][\w-]*", re.UNICODE)
# A year beside a name: "Hatooka 2016", "Bruix et al. (2017)", "Lee, 2015".
YEAR = r"\s*,?\s*\(?((?:19|20)\d\d)\)?(?!\d)"
YEAR_BESIDE = re.compile(YEAR)
# What the words beside a name make it: only an author's name ("et al."), a study's by a
# possessive ("Kuzuya's"), a noun ("the Hatooka study") or "by" before it ("by Oya").
Cue = Literal["author", "possessive", "noun", "by"]
# The most words of one question looked up among the authors, those with a cue first: each new
# word is a query of the store, and a question made of hundreds of names must stay cheap.
MAX_CANDIDATES = 6


@dataclass(frozen=True)
class Candidate:
    word: str
    start: int
    end: int
    """Where the word is in the question."""
    cue: Cue | None
    through: int
    """Where the name ends with an author's or a possessive cue ("Kuzuya et al.", "Kuzuya's")."""


@dataclass(frozen=True)
class StudiesNamed:
    names: tuple[str, ...]
    """The words of the question that name a study's first author, as written."""
    doc_ids: tuple[str, ...]
    """Their documents."""
    missing: tuple[str, ...] = ()
    """Names only an author can have that no document's authors have ("Smith et al.")."""
    reading: str = ""
    """The question without the names of the studies it names ("What did the authors find
    about fever?" for "What did Kuzuya et al. find about fever?"): a name no passage holds
    would only weigh against every sentence."""


@dataclass(frozen=True)
class _Cues:
    author: re.Pattern[str]
    possessive: re.Pattern[str]
    noun: re.Pattern[str]
    by: re.Pattern[str]


def _alternatives(cues: Sequence[str]) -> str:
    # Longest first, so "et al." is tried before "et al".
    return "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True)) or "(?!)"


@cache
def _cues() -> _Cues:
    data = json.loads(CUES_FILE.read_text(encoding="utf-8"))
    study = data["study_after"]
    attached = [c for c in study if not c[:1].isalnum()]  # a possessive follows with no space
    spaced = [c for c in study if c[:1].isalnum()]
    return _Cues(
        re.compile(rf"\s+(?:{_alternatives(data['author_after'])})(?!\w)", re.I),
        re.compile(rf"(?:{_alternatives(attached)})(?!\w)", re.I),
        re.compile(rf"(?:{YEAR})?\s+(?:{_alternatives(spaced)})(?!\w)", re.I),
        re.compile(rf"(?<!\w)(?:{_alternatives(data['study_before'])})\s+$", re.I),
    )


def author_candidates(question: str, known: Callable[[str], bool]) -> list[Candidate]:
    """The capitalized words of `question` that may name an author: one with a cue beside it,
    or one the corpus's text never uses (`known`); at most MAX_CANDIDATES, in question order."""
    cues = _cues()
    found = []
    for match in CAPITALIZED.finditer(question):
        word, end = match.group(), match.end()
        if not word[:1].isupper() or len(word) < 2:
            continue
        cue: Cue | None = None
        through = end
        if (after := cues.author.match(question, end) or cues.possessive.match(question, end)) is not None:
            cue, through = ("possessive" if after.re is cues.possessive else "author"), after.end()
        elif cues.noun.match(question, end):
            cue = "noun"
        elif cues.by.search(question[: match.start()]):
            cue = "by"
        if cue is not None or not known(word):
            found.append(Candidate(word, match.start(), end, cue, through))
    if len(found) > MAX_CANDIDATES:
        kept = sorted(found, key=lambda c: c.cue is None)[:MAX_CANDIDATES]
        found = [c for c in found if c in kept]
    return found


def studies_named(
    question: str,
    lookup: Callable[[str], AuthorName],
    candidates: Sequence[Candidate],
    known: Callable[[str], bool],
) -> StudiesNamed | None:
    """The studies the question names by first author (`lookup`: a name among the collection's
    authors, rag/search/first_authors.py), among the `candidates` author_candidates found; None
    when it names none and lacks none."""
    names: list[str] = []
    missing: list[str] = []
    doc_ids: dict[str, None] = {}
    reading = question
    for candidate in reversed(candidates):  # last first: the earlier positions stay right
        name = lookup(candidate.word)
        if not name.first:
            if candidate.cue == "author" and not name.any_author and not known(candidate.word):
                missing.append(candidate.word)
            continue
        year = YEAR_BESIDE.match(question, candidate.through)
        of_year = [s for s in name.first if year is not None and s.year == int(year.group(1))]
        names.insert(0, candidate.word)
        doc_ids = dict.fromkeys([*(s.doc_id for s in (of_year or name.first)), *doc_ids])
        reading = _without_name(reading, candidate, year.end() if year is not None else candidate.through)
    if not names and not missing:
        return None
    return StudiesNamed(tuple(names), tuple(doc_ids), tuple(missing[::-1]), reading)


# What a name and its cue (and year) become in the question's reading.
REPLACEMENTS: dict[Cue | None, str] = {
    "author": "the authors",
    "possessive": "the",
    "noun": "",
    "by": "the authors",
}


def _without_name(question: str, candidate: Candidate, end: int) -> str:
    """`question` with the author's name of `candidate`, up to `end`, put in other words:
    "Kuzuya et al." and "by Oya" as "the authors", "Kuzuya's study" as "the study", "the
    Hatooka (2016) study" as "the study"."""
    replacement = REPLACEMENTS.get(candidate.cue, "the authors")
    rest = question[end:] if replacement else question[end:].lstrip()
    reading = question[: candidate.start] + replacement + rest
    return reading[:1].upper() + reading[1:] if candidate.start == 0 else reading
