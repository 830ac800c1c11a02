"""Citation export: stored documents as references for a reference manager (BibTeX, RIS,
CSL-JSON). Pure functions over `Document` metadata; nothing here reads the index."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.cite.bibtex import to_bibtex
from rag.cite.csl import to_csl_json
from rag.cite.names import Name, split_authors
from rag.cite.reference import Reference, reference_of, references_of
from rag.cite.ris import to_ris
from rag.documents import Document

__all__ = ["FORMATS", "CitationFormat", "Name", "Reference", "export", "reference_of", "split_authors"]


@dataclass(frozen=True)
class CitationFormat:
    name: str
    media_type: str
    suffix: str
    """The file name ending a download gets."""
    render: Callable[[Sequence[Reference]], str]


FORMATS = {
    "bibtex": CitationFormat("bibtex", "application/x-bibtex", ".bib", to_bibtex),
    "ris": CitationFormat("ris", "application/x-research-info-systems", ".ris", to_ris),
    "csl-json": CitationFormat("csl-json", "application/vnd.citationstyles.csl+json", ".json", to_csl_json),
}


def export(documents: Sequence[Document], format_name: str) -> str:
    """The documents' references in one of FORMATS (KeyError for another name)."""
    return FORMATS[format_name].render(references_of(documents))
