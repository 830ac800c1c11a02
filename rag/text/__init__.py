"""Text primitives shared by chunking, lexical search and answer scoring (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

from rag.documents import Span
from rag.text.spelling import american

# Lucene's English stop words, as bm25s uses them.
STOPWORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their then there
    these they this to was will with""".split()
)

# Abbreviations whose period does not end a sentence.
ABBREVIATIONS = frozenset(
    """al e.g eg i.e ie vs v fig figs no nos dr drs mr mrs ms prof st approx ca cf resp inc ltd co jr
    sr eq ref refs vol pp pg suppl dept univ mo mos wk wks yr yrs min max sp spp var ed eds""".split()
)

WORD = re.compile(r"[^\W_]+(?:[.·][0-9]+)?", re.UNICODE)
SECTION_LABEL = re.compile(r"^([A-Z][A-Z0-9 ,/&()'-]{2,60}?)\s*:\s+")
SENTENCE_END = re.compile(r"([.!?])([\"'”’)\]]*)(\s+)(?=[\"'“‘(\[]?[A-Z0-9α-ωΑ-Ω])")
# A text is hard-wrapped when 90% of its lines (at least MIN_WRAPPED_LINES of them) are at most
# MAX_WRAP_WIDTH characters; a line of at least FULL_LINE_SHARE of that width ran on to the next.
MIN_WRAPPED_LINES = 20
MAX_WRAP_WIDTH = 130
FULL_LINE_SHARE = 0.75
# A table row, list item or Markdown heading starts its own block even after a full line.
LINE_OPENS_BLOCK = re.compile(r"[|#]|[•·▪◦*–-]\s|\(?\d{1,2}[.)]\s")
COLUMN_GAP = re.compile(r"\S(?: {3,}|\t)\S")  # columns of a plain-text table: its rows stay apart
NUMBER = re.compile(r"(?<![\w.])[-−–]?\d+(?:[.,·]\d+)*(?:\s?%)?")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


# Typographic ligatures and non-breaking hyphens as plain letters: text extracted from a PDF
# or an OCR ("inﬂuenza") reads as the word a question types ("influenza").
LIGATURES = str.maketrans(
    {
        "ﬀ": "ff",
        "ﬁ": "fi",
        "ﬂ": "fl",
        "ﬃ": "ffi",
        "ﬄ": "ffl",
        "ﬅ": "st",
        "ﬆ": "st",
        "\u2010": "-",
        "\u2011": "-",
    }
)


def fold_ligatures(text: str) -> str:
    """`text` with its ligatures spelled out (what is matched and embedded; quotes keep the
    document's own characters)."""
    return text if text.isascii() else text.translate(LIGATURES)  # isascii: a flag, no scan


def alternation(phrases: Iterable[str]) -> str:
    """A regex alternation matching any of `phrases` literally, the longest first, so that a
    phrase wins over a shorter one it begins with ("mg/kg" before "mg")."""
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


def words(text: str) -> list[str]:
    """Lower-cased word tokens; decimals stay whole ("4.4", "0·63" -> "0.63"), ligatures
    spelled out ("ﬂ" -> "fl")."""
    return [w.replace("·", ".") for w in WORD.findall(fold_ligatures(text.lower()))]


@lru_cache(maxsize=1)
def _uncached_stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english", 0)


# Word -> stem, filled as words are met and never emptied (so threads need no lock); past this
# many words, new ones are stemmed each time instead.
_STEMS: dict[str, str] = {}
MAX_CACHED_STEMS = 500_000


def stem(tokens: list[str]) -> list[str]:
    """Snowball stems of the tokens, British spellings read as American ("tumours" -> "tumor").
    Answer scoring stems the same sentences' words on every question: a dictionary of the words
    seen costs less than the stemmer's own cache (0.5 ms against 1.4 ms for 4,600 words)."""
    cache = _STEMS
    missing = list(dict.fromkeys(t for t in tokens if t not in cache))
    if not missing:
        return [cache[t] for t in tokens]
    new = dict(zip(missing, _stemmer().stemWords([american(t) for t in missing]), strict=True))
    if len(cache) < MAX_CACHED_STEMS:
        cache.update(new)
    return [new[t] if t in new else cache[t] for t in tokens]


def stem_distinct(tokens: list[str]) -> list[str]:
    """`stem` for many distinct words at once (a vocabulary): the stemmer's cache only slows
    such a batch down (50k words: 0.02 s without it, 0.09 s with it)."""
    return list(_uncached_stemmer().stemWords([american(t) for t in tokens]))


def numbers(text: str) -> list[str]:
    """Numbers as written, normalized: '0·63' -> '0.63', '1,234' -> '1234', '30 %' -> '30%'."""
    found = []
    for match in NUMBER.finditer(text):
        value = match.group(0).replace("·", ".").replace("−", "-").replace("–", "-").replace(" ", "")
        if re.fullmatch(r"-?\d{1,3}(,\d{3})+%?", value):
            value = value.replace(",", "")
        found.append(value.lstrip("-") if value.startswith("-") and len(value) > 1 else value)
    return found


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of `text` with their section label ("RESULTS") where one is given.

    Blank lines always end a sentence. A single line break ends one when the line looks
    complete (terminal punctuation, a short heading, or a labelled section follows);
    otherwise it is a wrapped line and the sentence continues.
    """
    spans: list[Span] = []
    section: str | None = None
    for block_start, block_end in _blocks(text):
        block = text[block_start:block_end]
        label = SECTION_LABEL.match(block)
        offset = block_start
        if label and sum(c.isupper() for c in label.group(1)) >= 3:
            section = " ".join(label.group(1).split())
            offset += label.end()
        for start, end in _sentence_bounds(text, offset, block_end):
            spans.append(Span(start, end, section))
    return spans


def _blocks(text: str) -> list[tuple[int, int]]:
    """Line-level blocks that cannot share a sentence."""
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    width = _wrap_width([text[start:end].strip() for start, end in lines])
    blocks: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(lines):
        line = text[start:end].strip()
        if not line:
            continue
        joins_previous = (
            blocks
            and i > 0
            and text[lines[i - 1][1] : start].count("\n") == 1
            and _is_wrapped(text[lines[i - 1][0] : lines[i - 1][1]].strip(), line, width)
        )
        if joins_previous:
            blocks[-1] = (blocks[-1][0], end)
        else:
            blocks.append((start, end))
    return blocks


def _wrap_width(lines: list[str]) -> int | None:
    """The width a hard-wrapped text (an OCR or a plain-text export of a paper) was wrapped at:
    the 90th percentile of its line lengths, when that is short; None for text whose lines are
    paragraphs."""
    lengths = sorted(len(line) for line in lines if line)
    if len(lengths) < MIN_WRAPPED_LINES:
        return None
    width = lengths[int(0.9 * (len(lengths) - 1))]
    return width if width <= MAX_WRAP_WIDTH else None


def _is_wrapped(previous: str, line: str, width: int | None = None) -> bool:
    """True when `line` continues a hard-wrapped sentence from `previous`.

    A line that starts in lower case (or follows a comma or hyphen) is taken as a continuation;
    so is any line after a full-width line of a hard-wrapped text ("... lineages of the 1918" /
    "H1N1 virus ..."). Table rows, list items and headings start their own block.
    """
    if SECTION_LABEL.match(line) or previous.endswith((".", "!", "?", ":", ";")):
        return False
    if (
        width is not None
        and len(previous) >= FULL_LINE_SHARE * width
        and previous[-1:].isalnum()
        and not LINE_OPENS_BLOCK.match(line)
        and not (COLUMN_GAP.search(previous) or COLUMN_GAP.search(line))
    ):
        return True
    return line[:1].islower() or previous.endswith((",", "-", "("))


def _sentence_bounds(text: str, start: int, end: int) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    cursor = start
    for match in SENTENCE_END.finditer(text, start, end):
        if _ends_with_abbreviation(text, cursor, match.start(1)):
            continue
        stop = match.end(2)
        bounds.append((cursor, stop))
        cursor = match.end(3)
    bounds.append((cursor, end))
    stripped = []
    for first, last in bounds:
        piece = text[first:last]
        start = first + len(piece) - len(piece.lstrip())
        stop = last - (len(piece) - len(piece.rstrip()))
        if stop > start:
            stripped.append((start, stop))
    return stripped


def _ends_with_abbreviation(text: str, sentence_start: int, period: int) -> bool:
    if text[period] != ".":
        return False
    token = re.search(r"([\w.]+)$", text[sentence_start:period])
    if token is None:
        return False
    word = token.group(1).lower().rstrip(".")
    if word in ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha()  # an initial, as in "Bruix J. and"
