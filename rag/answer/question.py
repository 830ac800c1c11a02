"""What a question asks: its content words, the kind of answer it expects, and its focus."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from rag.answer.definitions import defined_term
from rag.text import STOPWORDS, WORD, words

# Words that shape a question but say nothing about its topic.
QUESTION_WORDS = (
    frozenset(
        """what which who whom whose when where why how many much did does do was were is are has have had
    been be being can could would should may might must shall there any some those it its they them
    their you your we our me my he she his her tell give describe explain about per each also only
    just very than then so too again same other own more most versus vs""".split()
    )
    | STOPWORDS
)

# A focus phrase ends where one of these begins ("the median survival | of the fever group").
FOCUS_END = frozenset(
    """of in for with among after at between by from on during within when that to versus vs compared
    did does do was were is are has have had achieve achieved reported seen observed given used
    associated found tested shown recorded led lead leads caused cause causes resulted occurred
    required predicted improved increased decreased reduced developed experienced received underwent
    made make makes let lets""".split()
)
# Words that make a measure precise: "median OS" is not "OS at 12 months", nor "median PFS".
STATISTIC_MODIFIERS = frozenset(["median", "mean", "average", "objective", "daily", "overall"])
# Heads that name no measure of their own ("what results", "which figure").
GENERIC_HEADS = frozenset(
    """result results figure figures value values number data finding findings outcome outcomes""".split()
)
# Nouns that say what kind of thing the answer is ("which drug", "which gene"), not words the
# answering sentence contains ("Regorafenib is the only systemic treatment ...").
TYPE_NOUNS = frozenset(
    """drug drugs agent agents medication medications medicine gene genes protein proteins enzyme enzymes
    kinase kinases receptor receptors molecule molecules compound compounds cell cells line lines marker
    markers biomarker biomarkers factor factors pathway pathways treatment treatments therapy therapies
    option options patient patients study studies trial trials thing things""".split()
)
_STUDIES = r"(studies|trials|reports|papers|publications|articles|documents)"
# "What do/did/have the studies ...?" asks what the studies found, not which they are.
_AUXILIARY = r"(?:do|does|did|have|has|had|is|are|was|were)\b"
LIST_CUES = re.compile(
    rf"\b(which|what)\s+(?:(?!{_AUXILIARY})[\w-]+\s+){{0,3}}{_STUDIES}\b"
    rf"|\bin which {_STUDIES}\b|\b(across|among) (the |these |all )?{_STUDIES}\b"
    # "... reported in the renal cell carcinoma studies?", not "... used for in viral studies?"
    rf"|\b(?:the|these|those|all|both|several|various|different|other)\s+(?:[\w-]+\s+){{0,4}}{_STUDIES}\?\s*$"
    rf"|^\s*(list|name)\b",
    re.IGNORECASE,
)


class AnswerType(Enum):
    COUNT = "count"
    DURATION = "duration"
    DOSE = "dose"
    PERCENT = "percent"
    RATIO = "ratio"
    TIME = "time"
    NUMBER = "number"
    YES_NO = "yes/no"
    REASON = "reason"
    DESCRIPTION = "description"

    @property
    def numeric(self) -> bool:
        return self in NUMERIC_TYPES


NUMERIC_TYPES = {
    AnswerType.COUNT,
    AnswerType.DURATION,
    AnswerType.DOSE,
    AnswerType.PERCENT,
    AnswerType.RATIO,
    AnswerType.TIME,
    AnswerType.NUMBER,
}

TYPE_CUES: list[tuple[AnswerType, re.Pattern[str]]] = [
    # First: "Why was the survival shorter?" asks for a cause, not a duration.
    (AnswerType.REASON, re.compile(r"\bwhy\b|\bwhat (?:caused|causes|made|makes|led)\b", re.I)),
    (
        AnswerType.RATIO,
        re.compile(r"\b(hazard|odds|risk) ratios?\b|\bratio\b|\brelative[- ]risk\b|\bICER\b", re.I),
    ),
    # Before a count: "How many (extra) months of life ...?" asks for a duration.
    (
        AnswerType.DURATION,
        re.compile(
            r"\bhow many (?:(?:more|extra|additional|further) )?"
            r"(?:seconds|minutes|hours|days|weeks|months|years)\b",
            re.I,
        ),
    ),
    (AnswerType.COUNT, re.compile(r"\bhow many\b|\bnumber of\b|\bhow much\b", re.I)),
    # After a count: "How many stopped for other reasons?" asks for a number.
    (AnswerType.REASON, re.compile(r"\breasons?\b", re.I)),
    (
        AnswerType.PERCENT,
        re.compile(
            r"\bpercent(age)?\b|\bproportion\b|\brates?\b|\bshare\b|\bhow (often|frequent(ly)?|common)\b"
            r"|\bincidence\b|\bfraction\b|%",
            re.I,
        ),
    ),
    (
        AnswerType.DOSE,
        re.compile(r"\bdos(e|es|ing|age)\b|\bconcentrations?\b|\bregimen\b|\bschedule\b|\bmg\b", re.I),
    ),
    (
        AnswerType.DURATION,
        re.compile(
            r"\bhow (long|soon|quickly|fast)\b|\bduration\b|\btime to\b|\bsurvival\b|\bfollow-up\b"
            r"|\bafter how long\b|\binterval\b|\b(OS|PFS|DFS|RFS|EFS|TTP|TTF)\b",
            re.I,
        ),
    ),
    (AnswerType.TIME, re.compile(r"^\s*when\b|\bwhat year\b|\bwhich year\b|\bwhat date\b", re.I)),
    (
        AnswerType.NUMBER,
        re.compile(
            r"\b(median|mean|average|level|value|score|cost|size|age|amount|fold)\b"
            # physical quantities: what is measured in units
            r"|\b(wavelength|temperature|weight|mass|height|length|width|depth|diameter|thickness|volume|"
            r"pressure|frequency|voltage|velocity|speed|density|energy|power|resolution|"
            r"concentration|yield|activity)s?\b|\bhow (hot|cold|large|big|small|deep|far|high|heavy|fast)\b",
            re.I,
        ),
    ),
]
# "Did ...?", and "When sorafenib was given alone, did ...?" (a clause, then the question).
# Questions about how a study was run ("what dose was given", "how many were enrolled").
DESIGN_CUES = re.compile(
    r"\b((what|which) (daily |starting |initial )?(dose|dosage|dosing|regimen|schedule)|dose of|dosing|"
    r"regimen|schedule|infused|administered|enroll(ed)?|randomi[sz]ed|eligib\w*|"
    # "How often was it given?" asks for the schedule; "How often did it shrink tumours?" for a rate.
    r"how often (?:\w+ ){0,4}(?:given|taken|dosed|injected|repeated)|"
    # "How many people were in that study?" ("... in each group?") asks how many it enrolled.
    r"how many (?:\w+ ){0,2}(?:were|took part|participated) in "
    r"(?:the|that|this|each) (?:\w+ ){0,2}(?:study|trial|group|arm|cohort)s?|"
    r"started|initiated|criteria|defined|definition)\b",
    re.I,
)
Intent = Literal["findings", "verdict", "design"]
YES_NO = re.compile(
    r"(^\s*|,\s*)(did|does|do|is|was|were|are|has|have|had|can|could|should|will|would)\b", re.I
)


@dataclass(frozen=True)
class Question:
    text: str
    content_words: tuple[str, ...]
    answer_type: AnswerType
    is_list: bool
    yes_no: bool
    focus: tuple[str, ...]
    numbers: tuple[str, ...]

    @property
    def focus_words(self) -> tuple[str, ...]:
        """The focus without the words that only name the kind of answer."""
        return tuple(w for w in self.focus if w.lower() not in TYPE_NOUNS)

    @property
    def intent(self) -> Intent:
        """What kind of sentence answers it: a finding, a verdict (yes/no) or the design."""
        if self.yes_no:
            return "verdict"
        # The asked part alone: a scene or an earlier topic ("randomized trial of X: how many were
        # alive ...?") names the study, not the kind of sentence that answers.
        return "design" if DESIGN_CUES.search(asked_part(self.text)) else "findings"

    @property
    def measure(self) -> tuple[str, ...]:
        """The focus when it names a precise statistic ("median overall survival") that an
        answer must report as such; empty otherwise."""
        content = [w for w in self.focus if w.lower() not in QUESTION_WORDS]
        if self.is_list or len(content) < 2 or content[0].lower() not in STATISTIC_MODIFIERS:
            return ()
        return tuple(content)


PART_BOUNDARY = re.compile(
    r"[,;]?\s+and\s+(?=(?:what|which|how|when|where|why|who|whom|whose|did|does|do|was|were|is|are|"
    r"in what|at what|after how|for how|to what|by how)\b)",
    re.IGNORECASE,
)


# A scene-setting opening: "In the randomized trial of X, what ...?", "For patients with Y, how
# many ...?". Its words say which study is meant, not which of its sentences answers.
# A topic put before a colon ("RFA plus sorafenib: how many were alive?", the form a follow-up
# takes once read against the turn before) is one too.
SCENE = re.compile(
    r"^\s*(?:(?:in|for|among|after|during|when|within|across|at|following|with|using|compared with|of)\b"
    r"[^?]*?,|[^?:]{1,300}?:)\s*(?=(?:and\s+)?(?:what|which|how|who|whom|when|where|why|did|does|do|was|"
    r"were|is|are|can|could|has|have|had)\b)",
    re.IGNORECASE,
)


def asked_part(text: str) -> str:
    """The question without a scene-setting opening ("In the phase 3 trial of X, what was the
    median survival?" -> "what was the median survival?"); the whole question when it has none."""
    match = SCENE.match(text)
    return text[match.end() :] if match else text


def split_parts(text: str) -> list[str]:
    """Sub-questions joined by "and": "How many were enrolled, and what dose was used?" ->
    ["How many were enrolled", "what dose was used?"]. One part when there is no such join."""
    parts = [p.strip() for p in PART_BOUNDARY.split(text) if p and p.strip()]
    return parts if len(parts) > 1 else [text]


def topic_words(text: str) -> tuple[str, ...]:
    """The words of `text` that say what it is about, in order: lower-cased, without the words
    that shape a question (QUESTION_WORDS) and single characters."""
    return tuple(w for w in words(text) if w not in QUESTION_WORDS and len(w) > 1)


def analyze(text: str) -> Question:
    content = topic_words(text)
    return Question(
        text=text,
        content_words=content,
        answer_type=answer_type(text),
        is_list=bool(LIST_CUES.search(text)),
        yes_no=bool(YES_NO.search(text)),
        focus=focus_phrase(text),
        numbers=tuple(re.findall(r"\d+(?:[.·]\d+)?", text)),
    )


def answer_type(text: str) -> AnswerType:
    """What kind of answer the question wants. A "what/which X" question is typed by X alone
    ("Which drug ... survival benefit" wants a name, not a duration); others by their cues."""
    if defined_term(text) is not None:
        return AnswerType.DESCRIPTION  # "What does RECIST mean?": a definition, not a mean
    yes_no = bool(YES_NO.search(text))
    focus = focus_phrase(text)
    scope = " ".join(focus) if focus else text
    for kind, pattern in TYPE_CUES:
        if pattern.search(scope) and not (kind is AnswerType.TIME and yes_no):
            return kind
    return AnswerType.YES_NO if yes_no else AnswerType.DESCRIPTION


def focus_phrase(text: str) -> tuple[str, ...]:
    """The words naming what is asked for, as written: "What was the median OS of ..." ->
    ("median", "OS"). Empty when the question has no "what/which X" form."""
    match = re.search(r"\b(what|which)\b\s+(?:(?:was|were|is|are)\s+)?(?:the\s+|a\s+|an\s+)?(.*)", text, re.I)
    if not match:
        return ()
    phrase: list[str] = []
    for token in WORD.findall(match.group(2)):
        lower = token.lower()
        if lower in FOCUS_END or lower in {"and", "or"}:
            break
        if not lower.replace(".", "").isdigit():
            phrase.append(token)
        if len(phrase) >= 6:
            break
    while phrase and phrase[-1].lower() in GENERIC_HEADS | QUESTION_WORDS:
        phrase.pop()
    return tuple(phrase)
