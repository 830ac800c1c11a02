"""Reading exported references back with independent parsers: bibtexparser (BibTeX, its LaTeX
decoded by pylatexenc as a reference manager would), rispy (RIS) and json (CSL-JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import bibtexparser
import rispy
from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

# Fields biblatex reads verbatim (no LaTeX in them).
VERBATIM = {"doi", "url"}


def _decoder() -> LatexNodes2Text:
    context = get_default_latex_context_db()
    # LaTeX's own text symbols, which pylatexenc's defaults decode to nothing or to a modifier letter.
    context.add_context_category(
        "text-symbols",
        prepend=True,
        macros=[
            MacroTextSpec("textbraceleft", "{"),
            MacroTextSpec("textbraceright", "}"),
            MacroTextSpec("textasciicircum", "^"),
        ],
    )
    return LatexNodes2Text(latex_context=context)


DECODER = _decoder()


@dataclass(frozen=True)
class BibName:
    first: str
    von: str
    last: str
    jr: str


@dataclass(frozen=True)
class BibEntry:
    key: str
    entry_type: str
    fields: dict[str, str]
    authors: list[BibName]


def parse_bibtex(text: str) -> list[BibEntry]:
    """The entries of `text`; fails on any block bibtexparser cannot read."""
    library = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    assert library.failed_blocks == [], [getattr(b, "error", b) for b in library.failed_blocks]
    entries = []
    for entry in library.entries:
        fields: dict[str, str] = {}
        authors: list[BibName] = []
        for field in entry.fields:
            if field.key == "author":
                authors = [
                    BibName(
                        *(DECODER.latex_to_text(" ".join(part)) for part in (n.first, n.von, n.last, n.jr))
                    )
                    for n in field.value
                ]
            else:
                value = str(field.value)
                fields[field.key] = value if field.key in VERBATIM else DECODER.latex_to_text(value)
        entries.append(BibEntry(entry.key, entry.entry_type, fields, authors))
    return entries


def parse_ris(text: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = rispy.loads(text)
    return records
