"""Documents that arrive over the API become files in the upload directory.

The corpus stays the one source of truth: `rag ingest` and rebuilds keep uploaded
documents, and deleting one removes its file. `rag.ingest.updater` writes the files atomically
before the index commits and puts them back as they were if the commit fails.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

import yaml

from rag.documents import Document
from rag.errors import DocumentError, UnsupportedFileError
from rag.ingest.loaders import SUFFIXES, parse_file, valid_unicode

UPLOAD_SUFFIXES = tuple(sorted(SUFFIXES))
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StagedFile:
    """A file to write into the upload directory and the documents it holds."""

    path: Path
    data: bytes
    documents: tuple[Document, ...]


def upload_name(filename: str) -> str:
    """A safe file name for an uploaded file: no directories, no leading dot, ASCII only.

    A name that is already such a name is kept; any other gets a hash of the name it came with,
    so two names never become one file ("研究.md" and "論文.md", "a b.md" and "a-b.md") and the
    same name again replaces its own file."""
    base = PureWindowsPath(filename).name  # also strips POSIX directories
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in UPLOAD_SUFFIXES:
        raise UnsupportedFileError(
            f"{filename!r} is not a supported file type", f"upload one of {', '.join(UPLOAD_SUFFIXES)}"
        )
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = _UNSAFE.sub("-", ascii_stem).strip("-.")[:150]
    if slug != stem or suffix != suffix.lower():
        digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        slug = f"{slug or 'upload'}-{digest}"
    return f"{slug}.{suffix.lower()}"


def stage_file(filename: str, data: bytes, uploads_dir: Path, corpus_dir: Path) -> StagedFile:
    """Parse an uploaded file as `rag ingest` will read it once it is stored."""
    path = uploads_dir / upload_name(filename)
    base = corpus_dir if path.resolve().is_relative_to(corpus_dir.resolve()) else uploads_dir
    parsed = parse_file(data, path, base)
    if not parsed.documents:
        reasons = "; ".join(parsed.refused[:3])
        raise DocumentError(f"{filename!r} holds no usable documents" + (f": {reasons}" if reasons else ""))
    return StagedFile(path, data, tuple(parsed.documents))


def stage_record(record: Mapping[str, Any], uploads_dir: Path, corpus_dir: Path) -> StagedFile:
    """A document given as fields (title, text, metadata) stored as Markdown with front matter.

    Without a doc_id the id is derived from the content, so posting it again is a no-op."""
    record = valid_unicode(dict(record))
    text = str(record.get("text", "")).replace("\r\n", "\n").replace("\r", "\n").strip()
    fields = {key: value for key, value in record.items() if key != "text" and value is not None}
    if not fields.get("doc_id"):
        digest = hashlib.sha256(f"{fields.get('title', '')}\0{text}".encode()).hexdigest()
        fields["doc_id"] = f"upload-{digest[:16]}"
    doc_id = str(fields["doc_id"])
    front = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=1_000_000)
    data = f"---\n{front}---\n{text}\n".encode()
    # Distinct ids must not share a file name ("a:b" and "a-b" slug alike).
    slug = _UNSAFE.sub("-", doc_id).strip("-.")[:120]
    name = f"{slug}.md" if slug == doc_id else f"{slug}-{hashlib.sha256(doc_id.encode()).hexdigest()[:8]}.md"
    staged = stage_file(name, data, uploads_dir, corpus_dir)
    (document,) = staged.documents
    if document.doc_id != doc_id or document.text != text:
        raise DocumentError(f"document {doc_id!r} cannot be stored faithfully as Markdown")
    return staged
