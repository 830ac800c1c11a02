"""References as RIS: one `TAG  - value` line per field, `TY` first and `ER` last, CRLF line ends
(as Zotero and EndNote write it). Every value is one line (the reference's fields hold no line
breaks), so no value can start a tag of its own."""

from __future__ import annotations

from collections.abc import Sequence

from rag.cite.reference import Reference

NEWLINE = "\r\n"


def to_ris(references: Sequence[Reference]) -> str:
    return "".join(_record(reference) for reference in references)


def _record(reference: Reference) -> str:
    first_page, _, last_page = (reference.pages or "").partition("-")
    tags = [
        ("TY", "JOUR" if reference.kind == "article" else "GEN"),
        ("ID", reference.key),
        ("TI", reference.title),
        *(("AU", name.display()) for name in reference.authors),
        ("T2", reference.journal),  # the journal of a JOUR record (Zotero's publicationTitle)
        ("PY", str(reference.year) if reference.year is not None else None),
        ("VL", reference.volume),
        ("IS", reference.issue),
        ("SP", first_page or None),
        ("EP", last_page or None),
        ("DO", reference.doi),
        ("AN", reference.pmid),  # PubMed's accession number is the PMID
        ("UR", reference.url),
        ("N1", reference.note),
        *(("KW", keyword) for keyword in reference.keywords),
    ]
    lines = [f"{tag}  - {value}" for tag, value in tags if value]
    return NEWLINE.join([*lines, "ER  - ", "", ""])
