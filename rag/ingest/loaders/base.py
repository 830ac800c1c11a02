"""What every loader shares: the loader interface, validation of a record into a Document,
default ids, and the text clean-ups that PDF and HTML both need."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rag.documents import CITATION_FIELDS, Document
from rag.errors import DocumentError

DOC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
MAX_TITLE_CHARS = 300
DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
REFERENCE_HEADING = re.compile(
    r"^\s*(?:\d+\.?\s*|[IVX]+\.\s*)?(references?|bibliography|literature cited|works cited|reference list|"
    r"references and notes|notes and references)\s*:?\s*$",
    re.IGNORECASE,
)


@dataclass
class ParsedFile:
    """The documents in one file, and the records in it that could not be used (with why)."""

    documents: list[Document] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class Loader(Protocol):
    """Reads one file type. `parse` raises DocumentError when the file as a whole is unusable."""

    @property
    def name(self) -> str: ...

    @property
    def suffixes(self) -> tuple[str, ...]: ...

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile: ...


def decode_text(data: bytes, origin: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); line ends normalized to \\n."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{origin} is not UTF-8 text ({exc.reason})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def valid_unicode(value: Any) -> Any:
    """`value` with every string made encodable: YAML and JSON escapes can produce lone
    surrogates ("\\ud83d"), which no file, hash or response could hold. A split pair is
    joined, a lone one becomes U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {valid_unicode(k): valid_unicode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [valid_unicode(item) for item in value]
    return value


def make_document(
    record: dict[str, Any],
    default_id: str,
    origin: str,
    *,
    page_starts: Sequence[int] = (),
    sections: Sequence[tuple[int, str]] = (),
) -> Document:
    """Validate one record (front matter + text, a JSONL object, a parsed article) into a Document."""
    record = valid_unicode(record)
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DocumentError(f"{origin}: the document has no text")
    doc_id = str(record.get("doc_id") or default_id)
    if not DOC_ID.match(doc_id):
        raise DocumentError(
            f"{origin}: invalid doc_id {doc_id!r}",
            "use letters, digits and . _ : - (at most 200 characters)",
        )
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        title = first_line_title(text, markdown=False)
    year = record.get("year")
    if year is not None:
        try:
            year = int(year)
        except (TypeError, ValueError) as exc:
            raise DocumentError(f"{origin}: year must be a whole number, got {year!r}") from exc
    fields = {
        name: _optional_str(record.get(name), name, origin) for name in CITATION_FIELDS if name != "year"
    }
    reserved = {"doc_id", "title", "text", *CITATION_FIELDS}
    extra = {key: value for key, value in record.items() if key not in reserved}
    return Document(
        doc_id=doc_id,
        title=" ".join(title.split())[:MAX_TITLE_CHARS],
        text=text,
        year=year,
        extra=extra,
        path=origin,
        authors=fields["authors"],
        journal=fields["journal"],
        source=fields["source"],
        page_starts=tuple(page_starts),
        sections=tuple(sections),
    )


def _optional_str(value: Any, name: str, origin: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):  # authors as a YAML/JSON list
        return ", ".join(str(item) for item in value)
    if isinstance(value, str | int | float):
        return str(value)
    raise DocumentError(f"{origin}: field {name!r} must be text")


def first_line_title(text: str, *, markdown: bool) -> str:
    for raw in text.splitlines():
        line = raw.strip().lstrip("#").strip() if markdown else raw.strip()
        if line:
            return line[:MAX_TITLE_CHARS]
    return "Untitled"


def default_id_for(path: Path, base: Path) -> str:
    """The id of a file's document: its path under `base` as a slug ("trials/berg 2019.pdf" ->
    "trials--berg-2019-<hash>"). A path the slug had to change gets a hash of the path, so two
    files never share an id ("研究.md" and "論文.md" are not both "document")."""
    relative = path.relative_to(base) if path.is_relative_to(base) else Path(path.name)
    stem = str(relative.with_suffix("")).replace("/", "--")
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_stem).strip("-.")[:180]
    if slug == stem:
        return slug
    digest = hashlib.sha256(str(relative).encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug or 'document'}-{digest}"


def find_doi(text: str) -> str | None:
    match = DOI.search(text)
    return match.group(1).rstrip(".,;)]") if match else None


def normalize_space(text: str) -> str:
    """Whitespace runs as one space; soft hyphens and zero-width characters removed."""
    text = text.replace("\u00ad", "").replace("\u200b", "").replace("\ufeff", "")
    return " ".join(text.split())


MIN_ARTICLE_WORDS = 20  # words in sentences an article has at least (an abstract alone has over 100)
MIN_PROSE_SHARE = 0.2  # ... and at least this share of its text
_LETTERS = re.compile("[A-Za-z]{2}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")  # linear: no backtracking on text without an end


def article_problem(text: str) -> str | None:
    """Why an extracted text is not an article (a masthead, a page of links, a cover page), or
    None. Prose is sentences of five words or more; a document with too little of it would
    answer questions from page furniture ("Volume 18, pages 231-234 [1]")."""
    sentences = [
        piece
        for piece in _SENTENCE_END.split(text)
        if piece.rstrip().endswith((".", "!", "?")) and len(piece.split()) >= 5 and _LETTERS.search(piece)
    ]
    words = sum(len(sentence.split()) for sentence in sentences)
    if words < MIN_ARTICLE_WORDS:
        return (
            f"no article text: {words} words of prose in {len(text)} characters (a masthead or navigation?)"
        )
    if sum(map(len, sentences)) < MIN_PROSE_SHARE * len(text):
        return "no article text: most of it is not prose (navigation, lists of links or page furniture)"
    return None


def publication_year(text: str) -> int | None:
    match = re.search(r"\b(19[5-9]\d|20\d\d)\b", text)
    return int(match.group(1)) if match else None
