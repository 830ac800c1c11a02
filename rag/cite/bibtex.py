"""References as BibTeX.

Text fields are written as LaTeX with pylatexenc (`&` as `\\&`, `é` as `{\\'e}`, `α` as
`{\\ensuremath{\\alpha}}`), so the file works with classic BibTeX and pdfLaTeX as well as with
Biber; a character LaTeX has no name for stays as UTF-8. BibTeX counts every brace, escaped or
not, so a brace from the metadata without a partner is written as `{\\textbraceleft}` or
`{\\textbraceright}`: an unbalanced one would end the field early. Title words with capitals
after their first letter ("RESORCE", "miR-181a", "PET/CT") are braced so styles that lower-case
titles keep them.
Addresses (`doi`, `url`) are verbatim fields in biblatex and are not LaTeX-encoded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from rag.cite.names import Name
from rag.cite.reference import Reference

if TYPE_CHECKING:
    from pylatexenc.latexencode import UnicodeToLatexEncoder


def to_bibtex(references: Sequence[Reference]) -> str:
    return "\n".join(_entry(reference) for reference in references)


def _entry(reference: Reference) -> str:
    authors = [_author(name) for name in reference.authors] + (["others"] if reference.et_al else [])
    fields = [
        ("author", " and ".join(authors) if reference.authors else None),
        ("title", _title(reference.title)),
        ("journal", latex(reference.journal)),
        ("year", str(reference.year) if reference.year is not None else None),
        ("volume", latex(reference.volume)),
        ("number", latex(reference.issue)),
        ("pages", re.sub(r"(?<=\d)-(?=\d)", "--", latex(reference.pages) or "") or None),
        ("doi", verbatim(reference.doi)),
        ("pmid", reference.pmid),
        ("url", verbatim(reference.url)),
        ("note", latex(reference.note)),
        ("keywords", latex(", ".join(reference.keywords))),
    ]
    kind = "article" if reference.kind == "article" else "misc"
    lines = [f"  {name} = {{{value}}}," for name, value in fields if value]
    return "\n".join([f"@{kind}{{{reference.key},", *lines, "}", ""])


def _author(name: Name) -> str:
    if name.literal is not None:
        return f"{{{latex(name.literal)}}}"  # braced: BibTeX reads it as one name, "and" included
    family, given, suffix = (_name_part(part) for part in (name.family, name.given, name.suffix))
    if suffix:
        return f"{family}, {suffix}, {given}"  # BibTeX's "von Last, Jr, First"
    return ", ".join(part for part in (family, given) if part)


def _name_part(text: str | None) -> str:
    """A part of a name; braced when BibTeX would otherwise split it (a comma, "and", "others")."""
    encoded = latex(text) or ""
    if text and ("," in text or re.search(r"\b(?:and|others)\b", text, re.IGNORECASE)):
        return f"{{{encoded}}}"
    return encoded


def _title(title: str) -> str:
    return " ".join(
        f"{{{latex(word)}}}" if any(c.isupper() for c in word[1:]) else latex(word) or ""
        for word in title.split()
    )


def latex(text: str | None) -> str | None:
    """`text` as LaTeX that BibTeX reads back as it is: special characters escaped, braces
    balanced. Braces that pair up are written `\\{` and `\\}`; BibTeX counts every brace, so an
    unpaired one is written `{\\textbraceleft}` (`{\\textbraceright}`) instead."""
    if not text:
        return None
    text = " ".join(text.split())
    pieces, start = [], 0
    for at in unpaired_braces(text):
        pieces += [_encode(text[start:at]), UNPAIRED[text[at]]]
        start = at + 1
    return "".join([*pieces, _encode(text[start:])])


UNPAIRED = {"{": r"{\textbraceleft}", "}": r"{\textbraceright}"}


def unpaired_braces(text: str) -> list[int]:
    """Where the braces of `text` that have no partner are, in order."""
    opened: list[int] = []
    unpaired = []
    for at, char in enumerate(text):
        if char == "{":
            opened.append(at)
        elif char == "}":
            if opened:
                opened.pop()
            else:
                unpaired.append(at)
    return sorted(unpaired + opened)


def _encode(text: str) -> str:
    # A paired brace comes out as {\{} (protected as every macro is): plain \{ reads the same.
    encoded = _encoder().unicode_to_latex(text).replace(r"{\{}", r"\{").replace(r"{\}}", r"\}")
    # TeX joins "--" into a dash, "``" and "''" into quotes, "?`" and "!`" into ¿ and ¡: an empty
    # group keeps the characters as they were written.
    return LIGATURE.sub("{}", encoded)


LIGATURE = re.compile(r"(?<=-)(?=-)|(?<=`)(?=`)|(?<=')(?=')|(?<=[?!])(?=`)")


def verbatim(address: str | None) -> str | None:
    """An address as a verbatim field: the characters that would unbalance or escape it
    percent-encoded, as they would be in a URL."""
    if not address:
        return None
    return address.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


@cache
def _encoder() -> UnicodeToLatexEncoder:
    from pylatexenc.latexencode import RULE_DICT, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

    quote = {ord('"'): '{"}'}  # not '' (a closing quote): the character itself, kept from babel
    return UnicodeToLatexEncoder(
        conversion_rules=[UnicodeToLatexConversionRule(RULE_DICT, quote), "defaults"],
        non_ascii_only=False,  # & % $ # _ ~ ^ \ escaped too
        replacement_latex_protection="braces-all",  # {\'e}: one letter to BibTeX's sorting and casing
        unknown_char_policy="keep",  # CJK and the like stay as UTF-8 (the file is UTF-8)
        unknown_char_warning=False,
    )
