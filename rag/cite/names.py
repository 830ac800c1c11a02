"""Author names out of the one string a document stores them in.

The loaders keep authors as they found them: PubMed and MEDLINE as "Antoniou EA, Koutsounas I"
(family name, then initials), web pages as "Ann Lee, Bo Chen" or, when the names hold commas of
their own, "Kim, Min-jun; Lee, Ann", PDF by-lines as "Ann Lee, Bo Chen", and front matter as the
writer typed it, often ending in "et al.".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ET_AL = re.compile(r"[\s,;]*\b(?:et\.?\s*al\.?|and\s+others)\s*$", re.IGNORECASE)
# "EA", "J.", "J.A.", "J.-P.": a token made of initials (MEDLINE writes them without periods).
INITIALS = re.compile(r"^(?:[A-Z]{1,3}|(?:[A-Z]\.-?)+)$")
SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
# Lower-case words that belong to the family name: "van der Berg", "de la Cruz".
PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "la", "le"}
# Words that make an author a group rather than a person ("The RESORCE Investigators").
GROUP_WORDS = {
    "group",
    "investigators",
    "consortium",
    "committee",
    "collaboration",
    "collaborative",
    "collaborators",
    "society",
    "association",
    "team",
    "network",
    "council",
    "organization",
    "organisation",
    "institute",
    "foundation",
    "alliance",
}


@dataclass(frozen=True)
class Name:
    """One author: a person (family, given, suffix) or a group named as written (`literal`)."""

    family: str | None = None
    given: str | None = None
    suffix: str | None = None
    literal: str | None = None

    def display(self) -> str:
        """ "Family, Given, Suffix" (RIS and BibTeX order), or the literal name."""
        if self.literal is not None:
            return self.literal
        return ", ".join(part for part in (self.family, self.given, self.suffix) if part)


def split_authors(authors: str | None) -> tuple[tuple[Name, ...], bool]:
    """The names in `authors`, and whether the list was cut short ("et al.")."""
    text = " ".join((authors or "").split())
    cut = ET_AL.search(text)
    if cut is not None:
        text = text[: cut.start()]
    if ";" in text:
        names = [_name(part) for part in text.split(";")]
    else:
        parts = [part.strip() for part in re.split(r",|\band\b|&", text)]
        parts = [part for part in parts if part]
        if _family_given_pairs(parts):
            names = [
                _name(f"{family}, {given}") for family, given in zip(parts[::2], parts[1::2], strict=True)
            ]
        else:
            names = [_name(part) for part in parts]
    return tuple(name for name in names if name is not None), cut is not None


def _family_given_pairs(parts: list[str]) -> bool:
    """Whether a comma-separated list reads "Family, Given, Family, Given": an even number of
    one-word parts ("Smith, John, Doe, Jane"), or every second part initials ("Smith, J. A.")."""
    if not parts or len(parts) % 2:
        return False
    if all(len(part.split()) == 1 for part in parts):
        return True
    given = parts[1::2]
    return all(all(INITIALS.match(token) for token in part.split()) for part in given) and not any(
        all(INITIALS.match(token) for token in part.split()) for part in parts[::2]
    )


def _name(text: str) -> Name | None:
    text = text.strip(" ,;")
    if not text:
        return None
    if any(word.lower().strip(".,()") in GROUP_WORDS for word in text.split()):
        return Name(literal=text)
    if "," in text:  # "Family, Given[, Suffix]"
        family, _, rest = (part.strip() for part in text.partition(","))
        given, _, after = (part.strip() for part in rest.partition(","))
        if after and after.lower().rstrip(".") not in SUFFIXES:
            given, after = rest, ""
        return Name(family=family, given=_spaced(given) or None, suffix=after or None)
    tokens = text.split()
    suffix = tokens.pop() if len(tokens) > 1 and tokens[-1].lower().rstrip(".") in SUFFIXES else None
    if len(tokens) == 1:
        return Name(family=tokens[0], suffix=suffix)
    initials = len(tokens)
    while initials > 1 and INITIALS.match(tokens[initials - 1]):
        initials -= 1
    if initials < len(tokens) and any(c.islower() for c in " ".join(tokens[:initials])):
        # "Antoniou EA", "Smith J. A.": the family name first, the initials after it.
        given = " ".join(_spaced(token) for token in tokens[initials:])
        return Name(family=" ".join(tokens[:initials]), given=given, suffix=suffix)
    # "Ann Lee", "J. A. Smith", "Vincent van Gogh": the family name last, with its particles.
    first_family = len(tokens) - 1
    while first_family > 1 and tokens[first_family - 1].lower() in PARTICLES:
        first_family -= 1
    given = " ".join(re.sub(r"\.(?=[A-Z])", ". ", token) for token in tokens[:first_family])
    return Name(family=" ".join(tokens[first_family:]), given=given, suffix=suffix)


def _spaced(given: str) -> str:
    """Initials as a reference manager reads them: "EA" -> "E. A.", "J.A." -> "J. A."."""
    if re.fullmatch(r"[A-Z]{1,3}", given):
        return " ".join(f"{letter}." for letter in given)
    return re.sub(r"\.(?=[A-Z])", ". ", given)
