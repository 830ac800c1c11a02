"""A stored document's metadata as a reference: the fields every citation format shares.

The core fields come from the document (title, authors, journal, year, source); identifiers and
the volume, issue and pages from its `extra` fields where the loaders or the writer put them:
`doi` and `pmid` (PubMed, PDF, web pages), `url`, `volume`, `issue`, `pages`, `keywords`, or a
MEDLINE-style `citation` ("In Vivo. 2016; 30(5):677-80", as the shipped corpus has it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rag.cite.names import Name, split_authors
from rag.documents import Document

# C0 and C1 control characters (newlines are whitespace and are folded before this).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
WEB_ADDRESS = re.compile(r"^https?://\S+$", re.IGNORECASE)
DOI = re.compile(r"(?:^|doi\.org/|doi:\s*)(10\.\d{4,9}/\S+)$", re.IGNORECASE)
PUBMED_URL = re.compile(r"ncbi\.nlm\.nih\.gov/(?:pubmed/)?(\d+)/?$", re.IGNORECASE)
# The part of a MEDLINE source after its last ";": "30(5):677-80", "16:50", "102(Suppl. 2)".
VOLUME_ISSUE_PAGES = re.compile(r"^(?P<volume>[^\s():;]+)?(?:\s*\((?P<issue>[^()]+)\))?(?::(?P<pages>\S+))?$")
KEY_STOPWORDS = {"a", "an", "the", "of", "on", "in", "for", "and", "to", "with", "by", "at", "from", "is"}
# Letters NFKD does not reduce to ASCII.
ASCII_LETTERS = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L"}
    | {"đ": "d", "Đ": "D", "þ": "th", "Þ": "Th", "ı": "i"}
)


@dataclass(frozen=True)
class Reference:
    """What a reference manager needs about one document. `key` is unique within one export."""

    key: str
    doc_id: str
    kind: str
    """"article" (it names a journal) or "document"."""
    title: str
    authors: tuple[Name, ...] = ()
    et_al: bool = False
    """The stored list of authors ends in "et al."."""
    journal: str | None = None
    year: int | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    """"677-680": a range written out in full, or one page or article number."""
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    note: str | None = None
    """The document's source when it is a description rather than an address."""
    keywords: tuple[str, ...] = ()


def clean(text: object) -> str | None:
    """A metadata value as one line of text: whitespace runs as one space, no control
    characters; None for a missing or empty value."""
    if text is None or isinstance(text, bool | dict | list):
        return None
    value = CONTROL.sub("", " ".join(str(text).split()))
    return value or None


def references_of(documents: Sequence[Document]) -> list[Reference]:
    """The documents as references, in order, each with a citation key no other one has."""
    references = [reference_of(document) for document in documents]
    keys = unique_keys([r.key for r in references])
    return [_with_key(reference, key) for reference, key in zip(references, keys, strict=True)]


def _with_key(reference: Reference, key: str) -> Reference:
    return replace(reference, key=key)


def reference_of(document: Document) -> Reference:
    extra = document.extra
    authors, et_al = split_authors(document.authors)
    title = clean(document.title) or document.doc_id
    if title.endswith(".") and not title.endswith(".."):  # PubMed's closing period: styles add their own
        title = title[:-1]
    source = clean(document.source)
    url = clean(extra.get("url"))
    url = url if url and WEB_ADDRESS.match(url) else None
    if source and WEB_ADDRESS.match(source):
        url, note = url or source, None
    else:
        note = source
    volume, issue, pages = _volume_issue_pages(extra)
    journal = clean(document.journal)
    reference = Reference(
        key="",
        doc_id=document.doc_id,
        kind="article" if journal else "document",
        title=title,
        authors=authors,
        et_al=et_al,
        journal=journal,
        year=document.year,
        volume=volume,
        issue=issue,
        pages=pages,
        doi=_doi(extra.get("doi"), url),
        pmid=_pmid(extra.get("pmid"), url),
        url=url,
        note=note,
        keywords=_keywords(extra.get("keywords")),
    )
    return _with_key(reference, base_key(reference))


def _doi(value: object, url: str | None) -> str | None:
    for candidate in (clean(value), url):
        match = DOI.search(candidate or "")
        if match:
            return match.group(1).rstrip(".,;")
    return None


def _pmid(value: object, url: str | None) -> str | None:
    pmid = clean(value)
    if pmid and pmid.isdigit():
        return pmid
    match = PUBMED_URL.search(url or "")
    return match.group(1) if match else None


def _keywords(value: object) -> tuple[str, ...]:
    items: list[Any] = value if isinstance(value, list) else str(value).split(",") if value else []
    return tuple(keyword for keyword in (clean(item) for item in items) if keyword)


def _volume_issue_pages(extra: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    volume, issue, pages = clean(extra.get("volume")), clean(extra.get("issue")), clean(extra.get("pages"))
    citation = clean(extra.get("citation"))
    if citation and not (volume or issue or pages):
        match = VOLUME_ISSUE_PAGES.match(citation.rpartition(";")[2].strip())
        if match:
            volume, issue, pages = match.group("volume", "issue", "pages")
    return volume, issue, full_range(pages) if pages else None


def full_range(pages: str) -> str:
    """A MEDLINE page range written out: "677-80" -> "677-680"; anything else as it is."""
    match = re.fullmatch(r"(\d+)-(\d+)", pages)
    if match is None:
        return pages
    first, last = match.groups()
    if len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return f"{first}-{last}"


def ascii_word(text: str) -> str:
    """Lower-case ASCII letters and digits only: "Müller-Lüdenscheidt" -> "mullerludenscheidt"."""
    folded = unicodedata.normalize("NFKD", text.translate(ASCII_LETTERS)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def base_key(reference: Reference) -> str:
    """The first author's family name, the year and the first word of the title that says
    something: "antoniou2016remission". Only ASCII letters and digits, so any BibTeX reads it."""
    first = reference.authors[0] if reference.authors else None
    author = ""
    if first is not None:
        author = ascii_word((first.family or "") if first.literal is None else first.literal.split()[0])
    words = [ascii_word(word) for word in reference.title.split()]
    word = next((w for w in words if w and w not in KEY_STOPWORDS), "")
    key = f"{author[:24]}{reference.year or ''}{word[:24]}"
    if not key[:1].isalpha():
        key = f"ref{key or ascii_word(reference.doc_id)[:40]}"
    return key


def unique_keys(keys: Sequence[str]) -> list[str]:
    """`keys` with repeats told apart: the second "smith2016x" becomes "smith2016x-2", and so on
    (a base key is letters and digits only, so a suffixed key never equals another base key)."""
    seen: set[str] = set()
    unique = []
    for key in keys:
        candidate, n = key, 1
        while candidate in seen:
            n += 1
            candidate = f"{key}-{n}"
        seen.add(candidate)
        unique.append(candidate)
    return unique
