"""Follow-up questions: reading a question against the earlier turns of a conversation.

- A **standalone** question (it names its own topic and does not point back) is left as it is:
  a follow-up that changes topic is not forced onto the old one. One that says so ("Different
  question: does it work for lung cancer?") is read without those words.
- A question that **refers back** ("What about its side effects?", "And how many were
  enrolled?", "Did those patients respond?", "How many were still alive?") is retrieved and
  scored together with the earlier question's topic words, and answered first from the
  documents the earlier answer cited.
- A **fragment** ("And in liver cancer?", "What about regorafenib?", "And when it's used for
  thyroid cancer?") is the earlier question with a part replaced: the disease it names for the
  earlier one's ("for leukaemia" after "... in liver cancer?"), else a phrase opened by the
  same preposition ("in renal cancer" becomes "in liver cancer"), else the earlier question's
  name ("for SARS" after "... of COVID-19?"), else the earlier word most similar in meaning
  ("sorafenib" becomes "regorafenib"); it is a new question, so no documents are preferred.
  A disease with a condition ("And for leukaemia, when it's given with G-CSF?") is the earlier
  question of that disease with the condition added.
- A question that refers back but names **another disease** than the earlier turn ("What about
  when it's kidney cancer that has spread?" after a question on liver cancer) keeps the topic
  without the old disease, and prefers none of the earlier answer's documents: they are about
  the other disease.

Every earlier turn is resolved the same way, in order, so a chain of follow-ups keeps its topic.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rag.answer.abstain import names_drug_or_gene
from rag.answer.diseases import disease_spans, name_variants, tumour_spans
from rag.answer.question import QUESTION_WORDS, analyze
from rag.text import WORD
from rag.text.analyzer import is_designator

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Kind = Literal["standalone", "refers", "fragment"]
Embed = Callable[[list[str]], "NDArray[np.float32]"]

# Words that point back to something said before.
ANAPHORA = frozenset(
    """it its it's they them their theirs those these this that such same he she his her him
    former latter there""".split()
)
# "that study", "the drug", "the sorafenib patients", "the ones who ...": a definite reference
# to something named before. Not "the SHARP trial" (a name) nor "the study of early fever as a
# predictor ...": a noun with its own description names something new.
DEFINITE = re.compile(
    r"\b(the|that|this|these|those|same)\s+(?:(?-i:[a-z]+)\s+)?(study|studies|trial|trials|paper|report|drug|"
    r"treatment|therapy|patients?|people|ones|person|participants|cohort|group|population|analysis|virus|"
    r"vaccine|disease|man|woman|men|women|lady|gentleman|child|children|case|cases|combination|regimen|"
    r"procedure|intervention|infection|strain|dose|doses|arm|arms)\b"
    r"(?!\s+(?:of|on|in|with|from|by|comparing|testing|evaluating|using|that|which|where)\s+\w+\s+\w+)",
    re.I,
)
# "the man", "the 75 year old woman", "that second patient": one person, named definitely.
PERSON_PHRASE = re.compile(
    r"\b(?:the|that|this)\s+(?:[\w-]+\s+){0,4}?(?:man|woman|lady|gentleman|boy|girl|child|person|patient)\b",
    re.I,
)
# "Different question: ...", "Unrelated, but ...": the user says the topic changes.
TOPIC_CHANGE = re.compile(
    r"^\s*(?:(?:a |an |one )?(?:(?:totally|completely|entirely|quite) )?"
    r"(?:different|separate|unrelated|new|other|another) "
    r"(?:thing|question|topic|subject)|(?:on )?(?:a |an )?(?:different|unrelated|separate) (?:note|matter)"
    r"|unrelated|changing (?:the )?subject|change of (?:topic|subject))\b(?: (?:entirely|altogether|now))?"
    r"\s*[-:,.;–—]*\s*(?:but\b)?\s*[-:,]*\s*",
    re.I,
)
# Longest first: "and what about" is one opener, not "and" before a question.
_OPENING = r"and what about|and how about|what about|how about|what of|and|but|also"
FRAGMENT_OPENERS = re.compile(rf"^\s*(?:{_OPENING})\b[\s,]*", re.I)
# A word with its hyphenated parts ("SARS-CoV-2", "COVID-19").
NAME = re.compile(r"(?<![\w-])\w+(?:-\w+)*(?![\w-])")
# "(And) when it's used for thyroid cancer?" says no more than "And for thyroid cancer?".
CONDITION = re.compile(
    r"^(?:when|if)\s+(?:(?:it|they)(?:'s|'re|\s+is|\s+are|\s+was|\s+were)\s+)?"
    r"(?:used|given|taken|tried|tested)\s+(?=(?:in|for|with|among|on)\b)",
    re.I,
)
# "How many were still alive after a year?", "How many died?": counted among those named before.
ELLIPTICAL = re.compile(
    r"^how\s+many\s+(?:(?:were|was|did|had|have|has|are|is|got|get|could|would|will|can)\b|\w+ed\b(?!\s+\w+s\b))",
    re.I,
)
OPENERS = re.compile(rf"^\s*(?:{_OPENING}|so|then|ok(?:ay)?)\b[\s,]*", re.I)
# A fragment asks nothing of its own: none of these.
ASKING = frozenset("what which how who when why where did does do was were is are has have can".split())
PREPOSITIONS = ("in", "for", "with", "among", "after", "before", "at", "during", "versus", "vs", "on", "of")
MAX_FRAGMENT_WORDS = 6
# Words that stand for a noun said before: "the second one".
PRO_FORMS = frozenset({"one", "ones"})
# Fewer content words than this and no name, and a question leans on the turn before.
MIN_OWN_TOPIC_WORDS = 4
# A word of a fragment replaces the earlier word most similar in meaning, if at least this similar.
MIN_REPLACE_SIMILARITY = 0.4
# Two disease names at least this similar (the bundled model) are one disease: "kidney cancer" /
# "renal cell carcinoma" 0.85, "liver cancer" / "hepatocellular carcinoma" 0.75, but "kidney
# cancer" / "liver cancer" 0.66, "lung cancer" / "liver cancer" 0.58, "leukaemia" / "liver
# cancer" 0.44.
SAME_DISEASE = 0.7


@dataclass(frozen=True)
class Turn:
    """An earlier turn: its question, and the documents its answer cited (when known)."""

    question: str
    answer: str | None = None
    doc_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolved:
    question: str
    """As asked."""
    query: str
    """What is retrieved and scored with: the question with what it refers to."""
    kind: Kind
    prefer: tuple[str, ...] = ()
    """Documents of the earlier answer to answer from first (a question that refers back)."""
    previous: str | None = None
    """The earlier turn's query, resolved in its turn (None for the first question)."""
    topic: tuple[str, ...] = ()
    """What the conversation is about at this turn: a follow-up that refers back keeps it."""
    changes_disease: bool = False
    """It names another disease than the earlier turn: no earlier documents to prefer."""


def resolve(
    question: str,
    history: Sequence[Turn],
    embed: Embed | None = None,
    known: Callable[[str], bool] | None = None,
) -> Resolved:
    """The question as the conversation so far gives it meaning. `prefer` holds the documents
    the turn it refers to cited, when the history says (a refers-back question whose earlier
    turn names none gets `prefer` empty: the caller may find them by retrieving `previous`).
    `known`: whether the corpus uses a word; an earlier turn's words it does not ("My mum has
    ...", "doesn't") are not carried as its topic."""
    previous: Resolved | None = None
    for turn in history:
        resolved = _resolve_one(turn.question, previous, embed, ())
        if known is not None:
            # A name by its words: "SARS-CoV-2" is known when "SARS" and "CoV" are, "hepatitis C"
            # when "hepatitis" is (the vocabulary keeps no single characters).
            topic = tuple(
                w
                for w in resolved.topic
                if all(known(p) for p in WORD.findall(w) if len(p) > 1 and not p.isdigit())
            )
            resolved = dataclasses.replace(resolved, topic=topic)
        previous = dataclasses.replace(resolved, prefer=turn.doc_ids)
    return _resolve_one(question, previous, embed, ())


def _resolve_one(
    question: str, previous: Resolved | None, embed: Embed | None, cited: tuple[str, ...]
) -> Resolved:
    if previous is None:
        return Resolved(question, question, "standalone", cited, topic=topic_words(question))
    if TOPIC_CHANGE.match(question):
        asked = TOPIC_CHANGE.sub("", question, count=1)
        return Resolved(question, asked, "standalone", cited, previous.query, topic_words(asked))
    kind = classify(question)
    if kind == "standalone":
        return Resolved(question, question, kind, cited, previous.query, topic_words(question))
    old_disease = other_disease(question, previous.query, embed)
    if kind == "fragment":
        fragment = fragment_text(question).rstrip(" ?.!")
        query = swap_disease(previous.query, fragment, old_disease) or substitute(
            previous.query, fragment, embed
        )
        if query is not None:
            return Resolved(question, query, kind, cited, previous.query, topic_words(query))
    # The topic first: words after the question's own would read as part of what it asks for.
    own = OPENERS.sub("", question).strip()
    conditioned = with_condition(previous.query, own, old_disease)
    if conditioned is not None:
        return Resolved(question, conditioned, "fragment", cited, previous.query, topic_words(conditioned))
    if old_disease is not None:
        dropped = {w.lower() for w in WORD.findall(previous.query[old_disease[0] : old_disease[1]])}
        topic = tuple(w for w in previous.topic if w.lower() not in dropped)
        query = f"{' '.join(topic)}: {own[:1].upper()}{own[1:]}" if topic else question
        return Resolved(question, query, "refers", cited, previous.query, topic, changes_disease=True)
    query = f"{' '.join(previous.topic)}: {own[:1].upper()}{own[1:]}" if previous.topic else question
    return Resolved(question, query, "refers", cited or previous.prefer, previous.query, previous.topic)


def other_disease(question: str, previous: str, embed: Embed | None) -> tuple[int, int] | None:
    """Where `previous` names its disease, when `question` names another one ("kidney cancer"
    after "liver cancer"; not "renal cell carcinoma" after "kidney cancer"); else None."""
    # An earlier tumour named by its organ ("liver tumours") is the disease a new one replaces.
    new, old = disease_spans(question), disease_spans(previous) or tumour_spans(previous)
    if not new or not old:
        return None
    new_names = [v for name, *_ in new for v in name_variants(name)]
    old_names = [v for name, *_ in old for v in name_variants(name)]
    if set(new_names) & set(old_names):
        return None
    if embed is not None:
        vectors = embed([*new_names, *old_names])
        if float((vectors[: len(new_names)] @ vectors[len(new_names) :].T).max()) >= SAME_DISEASE:
            return None
    # The whole name with its qualifiers: "renal cell carcinoma", not "cell carcinoma"; but not
    # the verb after its subject ("Does sorafenib help renal cell carcinoma?").
    name, start, end = old[0]
    return _after_verb(previous, name, start), end


def _after_verb(text: str, name: str, start: int) -> int:
    """Where a disease's name found at `start` begins once a verb read as its first qualifier
    is left out: after a drug or a pronoun (its subject: "sorafenib help", "it shrink"),
    adverbs ("actually") and then one word, when the rest still names the disease."""
    before = WORD.findall(text[:start])
    if not before or not (names_drug_or_gene(before[-1]) or before[-1].lower() in ANAPHORA):
        return start
    words = list(WORD.finditer(text, start))
    count = len(name.split())
    skip = 0
    while skip < count - 1 and words[skip].group().lower().endswith("ly"):
        skip += 1
    shortest = name_variants(name)[-1]  # the name at its shortest: "liver tumors", "leukemia"
    if count - skip - 1 < len(shortest.split()):
        return start
    return words[skip + 1].start()


def swap_disease(previous: str, fragment: str, old: tuple[int, int] | None) -> str | None:
    """The earlier question with its disease replaced by the one a fragment names ("for
    leukaemia"), when the fragment names nothing else; None otherwise."""
    if old is None:
        return None
    words = fragment.split()
    named = words[1:] if words and words[0].lower() in PREPOSITIONS else words
    names = disease_spans(" ".join(named))
    # The fragment is the disease, with at most a stage word ("advanced kidney cancer").
    if len(names) != 1 or len(named) > len(names[0][0].split()) + 1:
        return None
    return previous[: old[0]] + " ".join(named) + previous[old[1] :]


def with_condition(previous: str, own: str, old: tuple[int, int] | None) -> str | None:
    """The earlier question asked of another disease under a condition ("for leukaemia, when
    it's given together with G-CSF?" after "Which side effects ... in liver cancer ...?"): it
    asks nothing of its own, so it is the earlier question with the disease swapped and the
    condition added; None when `own` is not a disease phrase followed by a clause."""
    head, comma, condition = own.partition(",")
    if not comma or not condition.strip(" ?.!"):
        return None
    swapped = swap_disease(previous, head, old)
    if swapped is None:
        return None
    return f"{swapped.rstrip(' ?.!')}, {condition.strip(' ?.!')}?"


def fragment_text(question: str) -> str:
    """The question less an opener and a condition that add nothing ("And when it's used for
    thyroid cancer?" is "for thyroid cancer")."""
    return CONDITION.sub("", FRAGMENT_OPENERS.sub("", question).lstrip())


def classify(question: str) -> Kind:
    tokens = [t.lower() for t in WORD.findall(question)]
    rest = fragment_text(question)
    rest_tokens = [t.lower() for t in WORD.findall(rest)]
    if (
        rest != question
        and not set(rest_tokens) & ANAPHORA
        and len(rest_tokens) <= MAX_FRAGMENT_WORDS
        and not set(rest_tokens) & ASKING
    ):
        return "fragment"
    if set(tokens) & ANAPHORA or DEFINITE.search(question):
        return "refers"
    if names_something(question):  # "And what family does MERS reside in?" has its own topic
        return "standalone"
    if OPENERS.match(question) or ELLIPTICAL.match(question.lstrip()):
        return "refers"
    own = [w for w in analyze(question).content_words if w not in QUESTION_WORDS]
    return "refers" if len(own) < MIN_OWN_TOPIC_WORDS else "standalone"


def names_something(question: str) -> bool:
    """A name past the first word (a capital or a digit inside a word: "MERS", "Enfuvirtide",
    "H5N1"): the question carries a topic of its own."""
    for position, token in enumerate(WORD.findall(question)):
        coded = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if coded or (position > 0 and any(c.isupper() for c in token)):
            return True
    return False


def topic_words(question: str) -> tuple[str, ...]:
    """What a question is about: its content words, without what it asks for (its focus); the
    focus itself when nothing else is left ("What is regorafenib?" is about regorafenib)."""
    parsed = analyze(question)
    focus = {w.lower() for w in parsed.focus}
    wanted = set(parsed.content_words)
    # A name is carried whole: "SARS-CoV-2", not "SARS CoV" (which is another virus).
    content = [
        (span, focus.isdisjoint(w.lower() for w in words))
        for match in NAME.finditer(question)
        for span, words in _carried(match.group(), wanted, _designator(question, match.end()))
    ]
    return tuple(dict.fromkeys(t for t, off_focus in content if off_focus)) or tuple(
        dict.fromkeys(t for t, _ in content)
    )


def _carried(token: str, wanted: set[str], designator: str = "") -> list[tuple[str, list[str]]]:
    """The parts of one hyphenated word that a topic carries, each with its words: a name
    whole when any of its words is a content word, else each content word; the last with the
    letter or digit that follows the word (`designator`: "hepatitis C", not "hepatitis")."""
    words = [w for w in WORD.findall(token) if w.lower() in wanted]
    if words and "-" in token and is_name(token):
        return [(token + designator, words)]
    parts = [(w, [w]) for w in words]
    if parts and designator and WORD.findall(token)[-1] == words[-1]:
        parts[-1] = (words[-1] + designator, [words[-1]])
    return parts


SPACE = re.compile(r"\s+")


def _designator(question: str, end: int) -> str:
    """The letter or digit naming a variant of the word ending at `end` ("hepatitis C", "grade
    3", "hepatitis C-related"; not "grade 3-4"), with its space, as lexical search reads it
    (`is_designator`); "" if none."""
    space = SPACE.match(question, end)
    if space is None:
        return ""
    tokens = WORD.finditer(question, space.end())
    token, following = next(tokens, None), next(tokens, None)
    if token is None or token.start() != space.end():
        return ""
    if not is_designator(token.group().lower(), following.group() if following else None):
        return ""
    return question[end : token.end()]


def substitute(previous: str, fragment: str, embed: Embed | None) -> str | None:
    """The earlier question with the fragment put in place of what it replaces; None when
    nothing in it can be replaced. A fragment opened by a preposition replaces the earlier
    phrase it opens (`_replace_phrase`). One without a preposition takes the place of the
    earlier person ("the 75 year old woman"), of the earlier name, or of the word most similar
    in meaning."""
    words = fragment.split()
    if words and words[0].lower() in PREPOSITIONS:
        return _replace_phrase(previous, fragment, embed)
    return (
        _swap_person(previous, fragment)
        or _swap_name(previous, fragment, embed)
        or _swap_similar(previous, fragment, embed)
    )


def _replace_phrase(previous: str, fragment: str, embed: Embed | None) -> str:
    """The earlier question with the phrase opened by the fragment's preposition replaced by
    the fragment (unless that phrase names the disease and the fragment none); else the name
    the fragment names takes the earlier one's place ("for MERS" after "the R0 of SARS"); else
    the fragment is added at the end."""
    words = fragment.split()
    pattern = re.compile(
        rf"\b{re.escape(words[0])}\s+[^,;:?.]*?(?=\s+(?:{'|'.join(PREPOSITIONS)})\b|[,;:?.]|$)", re.I
    )
    found = pattern.search(previous)
    if found:
        # "with sorafenib alone" after "... of sorafenib with G-CSF and plerixafor ...?" asks
        # for the name before the phrase without what the phrase adds: "... of sorafenib alone".
        before = WORD.findall(previous[: found.start()])
        if len(words) > 1 and before and before[-1].lower() == words[1].lower():
            rest = " ".join(words[2:])
            return previous[: found.start()].rstrip() + (f" {rest}" if rest else "") + previous[found.end() :]
        # "on regorafenib" after "... patients on sorafenib get a bad reaction on the hands?"
        # swaps the name the phrase opens with, not the words after it up to "on the hands".
        opening = found.group().split()[1:2]
        if len(words) == 2 and is_name(words[1]) and opening and is_name(opening[0]):
            at = found.start() + found.group().index(opening[0], len(words[0]))
            return previous[:at] + words[1] + previous[at + len(opening[0]) :]
        # "in children" after "... in renal cell carcinoma?" is a group within the disease.
        if not (disease_spans(found.group()) and not disease_spans(fragment)):
            return pattern.sub(fragment, previous, count=1)
    # A name takes a name's place ("for MERS" after "the R0 of SARS"); anything else is a
    # condition added ("with chemotherapy", "for patients with poor liver function").
    swapped = _swap_name(previous, words[1], embed) if len(words) == 2 else None
    return swapped or f"{previous.rstrip(' ?.!')} {fragment}?"


def _swap_person(previous: str, fragment: str) -> str | None:
    """The earlier question with the person it asks about replaced by the one the fragment
    names: "And the 75 year old woman?" after "How long did the 55 year old man respond?" is
    "How long did the 75 year old woman respond?". None unless both name one by a definite
    phrase ending in a word for a person."""
    if not PERSON_PHRASE.fullmatch(fragment.strip()):
        return None
    found = PERSON_PHRASE.search(previous)
    return previous[: found.start()] + fragment.strip() + previous[found.end() :] if found else None


def _swap_name(previous: str, fragment: str, embed: Embed | None) -> str | None:
    """The earlier question with the name it holds most similar to the fragment's in its place,
    when the fragment is one name ("SARS", "MERS-CoV", "regorafenib") and the earlier question
    names something: "... period of COVID-19" becomes "... period of SARS", however far apart
    the model puts the two names' meanings. None otherwise."""
    if not is_name(fragment):
        return None
    names = [
        m for m in NAME.finditer(previous) if is_name(m.group()) and m.group().lower() != fragment.lower()
    ]
    if len(names) == 1:
        chosen = names[0]
    elif names and embed is not None:
        vectors = embed([fragment, *(m.group() for m in names)])
        chosen = names[int((vectors[1:] @ vectors[0]).argmax())]
    else:
        return None
    return previous[: chosen.start()] + fragment + previous[chosen.end() :]


def is_name(text: str) -> bool:
    """One word, hyphenated parts and all, that names a thing: a capital past its first letter
    ("MERS", "SARS-CoV-2"), digits with letters ("H5N1"), or a drug's or gene's name."""
    return bool(NAME.fullmatch(text)) and (any(c.isupper() for c in text[1:]) or names_drug_or_gene(text))


def _swap_similar(previous: str, fragment: str, embed: Embed | None) -> str | None:
    """The earlier question with the fragment's one word in place of the earlier word most
    similar in meaning to it (at least MIN_REPLACE_SIMILARITY): "the second one" after "Koch's
    first postulate". None when none is, or when the fragment is a phrase of several words:
    "the case fatality rate" after "How was it estimated?" is a new focus, not "How was it
    rate?", and "patients on dialysis" a group, not "dialysis" for "renal". Only the asked part
    of an earlier follow-up takes it ("survival" for "recurrence" in "sorafenib after surgery
    liver cancer: Did it reduce recurrence?"), not the topic carried before it."""
    if embed is None:
        return None
    # Single letters aside: "Italy's" is one word.
    new = [w for w in WORD.findall(fragment) if w.lower() not in QUESTION_WORDS | PRO_FORMS and len(w) > 1]
    topic, colon, asked = previous.rpartition(": ")
    # A disease is swapped only for a disease (swap_disease): no "acute myeloid chemotherapy".
    disease = {w.lower() for _, start, end in disease_spans(asked) for w in WORD.findall(asked[start:end])}
    old = [w for w in dict.fromkeys(WORD.findall(asked)) if w.lower() not in QUESTION_WORDS | disease]
    if len(new) != 1 or not old or new[0].lower() in {w.lower() for w in old}:
        return None
    vectors = embed([*new, *old])
    similarity = vectors[1:] @ vectors[0]
    column = int(similarity.argmax())
    if similarity[column] < MIN_REPLACE_SIMILARITY:
        return None
    return topic + colon + re.sub(rf"\b{re.escape(old[column])}\b", new[0], asked, count=1)
