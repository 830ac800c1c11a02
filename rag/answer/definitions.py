"""Questions that ask what a term is ("What is superspreading?", "What are viroporins?", "What
is RSV?", "What does the word chikungunya mean?") and the sentences that define it: "Viroporins
are ...", "superspreading, the ...", "lipopolysaccharide (LPS), a cell wall component ...",
"respiratory syncytial virus (RSV)", "the word chikungunya means ..."."""

from __future__ import annotations

import re
from functools import lru_cache

# "What is/are [a/an] TERM?", "What does [the word] TERM mean?", "What does TERM stand for?",
# "What is the meaning of TERM?": the whole question, a term of at most MAX_TERM_WORDS words.
_NAMED = r"(?:the\s+)?(?:(?:word|term|name|abbreviation|acronym)\s+)?"
DEFINITION_QUESTION = re.compile(
    r"^\s*what\s+(?:(?:is|are)\s+(?:an?\s+)?(?:the\s+meaning\s+of\s+" + _NAMED + r")?"
    r"|(?:does|do)\s+" + _NAMED + r"(?=[^?]+\s(?:mean|stand\s+for)\s*\?))"
    r"(?P<term>[^?,;:()]+?)(?:\s+(?:mean|stand\s+for))?\s*\?\s*$",
    re.I,
)
MAX_TERM_WORDS = 3
# Words that make "what is X" ask about something else than X itself ("What is the dose of ...").
NOT_A_TERM = re.compile(r"^(?:the|this|that|these|those|it|its|their|some|known|used|\w+ed)\b", re.I)
# After the term: a copula with an article ("is a", "are the"), an apposition (", a ..."),
# "refers to", "is defined as"; before it, a long form whose short form the term is: "(RSV)".
DEFINING = (
    r"(?:\s*\([^)]{1,60}\))?(?:\s+[a-z][\w-]*)?"
    r"(?:\s+(?:is|are|was|were)\s+(?:an?|the|one|defined|known|considered)\b|,\s+(?:an?|the|which|that)\s"
    r"|\s+refers?\s+to\b|,?\s+defined\s+as\b|\s+(?:means|stands\s+for)\b)"
)
# The term as the subject of the sentence: "Coronaviruses are spherical, enveloped ...".
SUBJECT = r"(?:\s*\([^)]{1,60}\))?\s+(?:is|are)\s"


def defined_term(question: str) -> str | None:
    """The term a "What is X?" question asks to define; None for any other question."""
    match = DEFINITION_QUESTION.match(question)
    if not match:
        return None
    term = match.group("term").strip()
    if len(term.split()) > MAX_TERM_WORDS or NOT_A_TERM.match(term):
        return None
    return term


@lru_cache(maxsize=256)
def _pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in re.split(r"[\s-]+", term) if w]
    name = r"[\s-]+".join(words) + r"s?"
    return re.compile(
        rf"\b{name}{DEFINING}|[A-Za-z][\w-]+\s+\(\s*{name}\s*\)|^(?:\W*\w+:\s*)?(?:the\s+)?{name}{SUBJECT}",
        re.I,
    )


def defines(sentence: str, term: str) -> bool:
    """Whether `sentence` defines `term` (see the module's examples)."""
    return bool(_pattern(term).search(sentence))
