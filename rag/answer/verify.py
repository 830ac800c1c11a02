"""Checking a generated answer against the passages it cites, sentence by sentence, by code.

A model's citations are not trusted: a sentence is kept only when
- it carries at least one [n] marker, and every marker names a passage the model was given;
- every number it states (counts, doses, percentages, intervals, years) appears in a passage it
  cites, digits and number words alike ("twenty-three" = 23);
- every name it uses (a capitalized word past the first, an acronym, a code such as S0434)
  appears in a passage it cites or in that passage's title;
- it does not read as an instruction (text planted in a document to steer the model);
- it says something new: not (nearly) an earlier kept sentence again, and not a phrase of
  its own over and over (a small model's loop).
Everything here is a pure function of the answer text and the passages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.documents import Dropped
from rag.text import NUMBER, split_sentences
from rag.text.analyzer import Analyzer

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;\u2013-]\s*\d+)*)\s*\]")
# "... 4.4 months. [1]" -> "... 4.4 months [1]." so the marker stays with its sentence.
MARKER_AFTER_END = re.compile(r"([.!?])((?:\s*\[\s*\d+(?:\s*[,;\u2013-]\s*\d+)*\s*\])+)")
WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
REPEATED_SHARE = 0.8  # of a sentence's word pairs found in an earlier kept one: a repeat
LOOP_GRAM, LOOP_TIMES = 4, 3  # a run of 4 words said 3 times in one sentence: a loop
NAME = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b")
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|previous|above|prompt|rules)\b"
    r"|\bsystem prompt\b|\byou are (?:now )?(?:an? )?(?:ai|assistant|language model|chatgpt)\b"
    r"|\bas an ai\b|https?://|<\s*script|\b(?:click|visit|call)\b.{0,20}\b(?:here|link|number)\b",
    re.IGNORECASE,
)
UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
NUMBER_WORD = re.compile(
    rf"\b(?:({'|'.join(TENS)})(?:[\s-]({'|'.join(UNITS)}))?|({'|'.join(UNITS)}))\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Supported:
    """A kept sentence: its text without markers, and the passages (1-based) it cites."""

    text: str
    markers: tuple[int, ...]


@dataclass(frozen=True)
class Verification:
    kept: tuple[Supported, ...]
    dropped: tuple[Dropped, ...]


def verify(answer: str, passages: Sequence[str], titles: Sequence[str] = ()) -> Verification:
    """Split `answer` into sentences and keep those its cited passages support."""
    kept: list[Supported] = []
    dropped: list[Dropped] = []
    for sentence in sentences(answer):
        reason, markers = _problem(sentence, passages, titles)
        text = _without_markers(sentence)
        if reason is None:
            reason = _repetition(text, [k.text for k in kept])
        if reason is None:
            kept.append(Supported(text, markers))
        else:
            dropped.append(Dropped(sentence, reason))
    return Verification(tuple(kept), tuple(dropped))


def sentences(answer: str) -> list[str]:
    """The sentences verification judges one by one, markers kept with their sentence."""
    text = MARKER_AFTER_END.sub(r"\2\1", answer.strip())
    found = (text[span.start : span.end].strip() for span in split_sentences(text))
    return [sentence for sentence in found if sentence]


# Each reason _problem gives, by the words it starts with: what the evaluation counts.
REASON_KINDS = {
    "reads as an instruction": "instruction",
    "no citation": "no citation",
    "cites [": "cites a passage not given",
    "the number ": "number not in the cited passages",
    "the name ": "name not in the cited passages",
    "repeats ": "repetition",
}


def reason_kind(reason: str) -> str:
    """The kind of a drop reason, without the sentence's particulars ("the number 9.9 ...")."""
    return next((kind for prefix, kind in REASON_KINDS.items() if reason.startswith(prefix)), "other")


def _problem(
    sentence: str, passages: Sequence[str], titles: Sequence[str]
) -> tuple[str | None, tuple[int, ...]]:
    if INSTRUCTION.search(sentence):
        return "reads as an instruction, not as an answer", ()
    markers = markers_in(sentence)
    if not markers:
        return "no citation", ()
    unknown = [m for m in markers if not 1 <= m <= len(passages)]
    if unknown:
        given = f"{len(passages)} passage{'' if len(passages) == 1 else 's'}"
        return f"cites [{unknown[0]}], but the model was given {given}", markers
    body = _without_markers(sentence)
    cited = " ".join(passages[m - 1] for m in markers)
    cited_titles = " ".join(titles[m - 1] for m in markers if m - 1 < len(titles))
    available = number_values(cited) | number_values(cited_titles)
    for value in sorted(number_values(body)):
        if value not in available:
            return f"the number {value} is not in the cited passages", markers
    known = {w.lower() for w in NAME.findall(f"{cited} {cited_titles}")}
    for name in names(body):
        if name.lower() not in known:
            return f"the name {name!r} is not in the cited passages", markers
    return None, markers


def _repetition(text: str, earlier: Sequence[str]) -> str | None:
    """Why `text` adds nothing: it repeats an earlier kept sentence (most of its words, in the
    same order), or one phrase of its own again and again."""
    words = WORD.findall(text.lower())
    for other in earlier:
        seen = WORD.findall(other.lower())
        if words and _shared_grams(words, seen) >= REPEATED_SHARE:
            return "repeats an earlier sentence"
    grams = [tuple(words[i : i + LOOP_GRAM]) for i in range(len(words) - LOOP_GRAM + 1)]
    looping = next((g for g in grams if grams.count(g) >= LOOP_TIMES), None)  # the first, in order
    return None if looping is None else f"repeats the phrase {' '.join(looping)!r}"


def _shared_grams(words: Sequence[str], other: Sequence[str]) -> float:
    """Share of `words`' word pairs that `other` holds too (1.0 for a one-word sentence in it)."""
    if len(words) < 2:
        return 1.0 if set(words) <= set(other) else 0.0
    mine = {tuple(words[i : i + 2]) for i in range(len(words) - 1)}
    theirs = {tuple(other[i : i + 2]) for i in range(len(other) - 1)}
    return len(mine & theirs) / len(mine)


def markers_in(sentence: str) -> tuple[int, ...]:
    """The passage numbers a sentence cites, in order, ranges expanded ("[1-3]" = 1, 2, 3)."""
    found: list[int] = []
    for match in MARKER.finditer(sentence):
        for part in re.split(r"\s*[,;]\s*", match.group(1)):
            bounds = [int(n) for n in re.split(r"\s*[\u2013-]\s*", part)]
            first, last = bounds[0], bounds[-1]
            found.extend(range(first, min(last, first + 50) + 1) if last > first else [first])
    return tuple(dict.fromkeys(found))


def number_values(text: str) -> set[str]:
    """Numbers as written in digits ("1,234" = "1234", "30 %" = "30%") and as words up to 99."""
    values = set()
    for match in NUMBER.finditer(text):
        raw = match.group(0).replace("−", "-").replace("–", "-").replace("·", ".").replace(" ", "")
        raw = re.sub(r"(?<=\d),(?=\d{3}\b)", "", raw)
        values.add(raw.replace(",", ".").lstrip("-"))
    for match in NUMBER_WORD.finditer(text):
        tens, unit, alone = (g.lower() if g else None for g in match.groups())
        values.add(str(TENS[tens] + (UNITS[unit] if unit else 0) if tens else UNITS[alone or "zero"]))
    # "30%" is also the value 30 ("30 percent"); a bare 30 does not vouch for 30%.
    values |= {v.rstrip("%") for v in values if v.endswith("%")}
    return values


def names(sentence: str) -> list[str]:
    """Words that name something: capitalized past the first word, acronyms, letter-digit codes."""
    found = []
    for position, match in enumerate(NAME.finditer(sentence)):
        word = match.group(0)
        capitals = sum(c.isupper() for c in word)
        coded = any(c.isdigit() for c in word) and any(c.isalpha() for c in word)
        if capitals >= 2 or coded or (position > 0 and word[0].isupper() and len(word) > 1):
            found.append(word)
    return found


def _without_markers(sentence: str) -> str:
    text = MARKER.sub("", sentence)
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def supporting_span(passage: str, sentences: Sequence[str]) -> tuple[int, int, float]:
    """The passage sentence that best supports `sentences` (the answer sentences citing this
    passage): (start, end, share of their content words it holds)."""
    wanted = set(Analyzer().terms(" ".join(sentences)))
    numbers = set().union(*(number_values(s) for s in sentences)) if sentences else set()
    best = (0, len(passage), 0.0)
    best_key = (-1.0, -1)
    for span in split_sentences(passage):
        text = passage[span.start : span.end]
        have = set(Analyzer().terms(text))
        share = len(wanted & have) / len(wanted) if wanted else 0.0
        key = (share + len(numbers & number_values(text)), -span.start)
        if key > best_key:
            best_key, best = key, (span.start, span.end, share)
    return best
