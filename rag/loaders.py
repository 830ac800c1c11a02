"""Read corpus files into Documents.

Accepted formats:
- `.md` / `.markdown` with optional YAML front matter (`---` ... `---`) holding `doc_id`,
  `title`, `authors`, `journal`, `year`, `source` and any other fields;
- `.md` / `.txt` without metadata: the title is the first heading or line, the id the file path;
- `.jsonl`: one JSON object per line with at least `text` (and usually `title`, `doc_id`).

A file that cannot be used is reported in `LoadResult.skipped` with the reason; it does not
stop the other files from loading.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rag.documents import CITATION_FIELDS, Document
from rag.errors import DocumentError, UnsupportedFileError
from rag.paths import inside

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
SUFFIXES = TEXT_SUFFIXES | {".jsonl"}
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
DOC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
MAX_TITLE_CHARS = 300


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def load_paths(paths: Iterable[Path], confine_to: Sequence[Path] | None = None) -> LoadResult:
    """Load every supported file under `paths` (files or directories, recursively).

    With `confine_to`, a file that resolves outside those directories (a symlink pointing
    elsewhere) is skipped, not read."""
    result = LoadResult()
    seen: dict[str, str] = {}
    for root in paths:
        if not root.exists():
            raise DocumentError(f"{root} does not exist", "pass an existing file or directory")
        for path, walk_base in _files(root):
            base = walk_base
            if confine_to is not None:
                containing = _containing_root(path, confine_to)
                if containing is None:
                    result.skipped.append((str(path), "links outside the corpus roots; not read"))
                    continue
                base = containing  # ids relative to the corpus root, as a whole-corpus ingest gives
            try:
                docs = list(load_file(path, base))
            except DocumentError as exc:
                result.skipped.append((str(path), exc.message))
                continue
            for doc in docs:
                if doc.doc_id in seen:
                    result.skipped.append(
                        (str(path), f"doc_id {doc.doc_id!r} already used by {seen[doc.doc_id]}")
                    )
                    continue
                seen[doc.doc_id] = str(path)
                result.documents.append(doc)
    return result


def _containing_root(path: Path, roots: Sequence[Path]) -> Path | None:
    if not inside(path, roots):
        return None
    unresolved = path.absolute()
    for root in roots:
        if unresolved.is_relative_to(root.resolve()):
            return root.resolve()
    return None


def _files(root: Path) -> Iterator[tuple[Path, Path]]:
    if root.is_file():
        yield root, root.parent
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            yield path, root


def load_file(path: Path, base: Path | None = None) -> Iterator[Document]:
    """Documents in one file; raises DocumentError when the file cannot be used."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFileError(f"unsupported file type {suffix!r}", f"use one of {sorted(SUFFIXES)}")
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path} is not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror}") from exc
    yield from parse_file_text(raw, path, base or path.parent)


def parse_file_text(raw: str, path: Path, base: Path) -> Iterator[Document]:
    """The documents in the text `raw` of the file `path` (which need not exist yet)."""
    default_id = default_id_for(path, base)
    if path.suffix.lower() == ".jsonl":
        yield from parse_jsonl(raw, default_id, str(path))
    else:
        yield parse_text(raw, default_id, str(path), markdown=path.suffix.lower() != ".txt")


def parse_text(raw: str, default_id: str, origin: str, *, markdown: bool = True) -> Document:
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    meta: dict[str, Any] = {}
    body = raw
    match = FRONT_MATTER.match(raw) if markdown else None
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise DocumentError(f"{origin}: invalid YAML front matter: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise DocumentError(f"{origin}: front matter must be a mapping of field: value")
        meta = loaded or {}
        body = raw[match.end() :]
    body = body.strip()
    if "title" not in meta:
        meta["title"] = _first_line_title(body, markdown=markdown)
    return make_document({**meta, "text": body}, default_id, origin)


def parse_jsonl(raw: str, default_id: str, origin: str) -> Iterator[Document]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"{origin}:{number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise DocumentError(f"{origin}:{number}: each line must be a JSON object")
        if isinstance(record.get("text"), str):
            record["text"] = record["text"].strip()
        yield make_document(record, f"{default_id}-{number}", f"{origin}:{number}")


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


def make_document(record: dict[str, Any], default_id: str, origin: str) -> Document:
    """Validate one record (front matter + text, or a JSONL object) into a Document."""
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
        title = _first_line_title(text, markdown=False)
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
        title=" ".join(title.split()),
        text=text,
        year=year,
        extra=extra,
        path=origin,
        **fields,
    )


def _optional_str(value: Any, name: str, origin: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):  # authors as a YAML/JSON list
        return ", ".join(str(item) for item in value)
    if isinstance(value, str | int | float):
        return str(value)
    raise DocumentError(f"{origin}: field {name!r} must be text")


def _first_line_title(text: str, *, markdown: bool) -> str:
    for raw in text.splitlines():
        line = raw.strip().lstrip("#").strip() if markdown else raw.strip()
        if line:
            return line[:MAX_TITLE_CHARS]
    return "Untitled"


def default_id_for(path: Path, base: Path) -> str:
    relative = path.relative_to(base) if path.is_relative_to(base) else Path(path.name)
    stem = str(relative.with_suffix(""))
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_stem.replace("/", "--")).strip("-.")
    return slug[:200] or "document"
