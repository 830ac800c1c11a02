"""Plain text, Markdown (optionally with YAML front matter) and JSON Lines.

- `.md` / `.markdown` with optional front matter (`---` ... `---`) holding `doc_id`, `title`,
  `authors`, `journal`, `year`, `source` and any other fields;
- `.md` / `.txt` without metadata: the title is the first heading or line, the id the file path;
- `.jsonl`: one JSON object per line with at least `text` (and usually `title`, `doc_id`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from rag.documents import Document
from rag.errors import DocumentError
from rag.ingest.loaders.base import (
    REFERENCE_HEADING,
    ParsedFile,
    decode_text,
    first_line_title,
    make_document,
)
from rag.ingest.loaders.pdf_lines import heading_name
from rag.ingest.loaders.pdf_references import (
    MAX_REFERENCES,
    REFERENCE_ENTRY,
    reference_entries,
    reference_shaped,
)

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class TextLoader:
    name = "text"
    suffixes = (".md", ".markdown", ".txt")

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile:
        raw = decode_text(data, str(path))
        return ParsedFile([parse_text(raw, default_id, str(path), markdown=path.suffix.lower() != ".txt")])


class JsonlLoader:
    name = "jsonl"
    suffixes = (".jsonl",)

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile:
        return ParsedFile(parse_jsonl(decode_text(data, str(path)), default_id, str(path)))


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
        except RecursionError as exc:
            raise DocumentError(f"{origin}: YAML front matter nested too deeply to be read") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise DocumentError(f"{origin}: front matter must be a mapping of field: value")
        meta = loaded or {}
        body = raw[match.end() :]
    body, references = split_text_references(body.strip())
    if references and "references" not in meta:
        meta["references"] = references
    if "title" not in meta:
        meta["title"] = first_line_title(body, markdown=markdown)
    return make_document({**meta, "text": body}, default_id, origin)


def parse_jsonl(raw: str, default_id: str, origin: str) -> list[Document]:
    """Every line's document; one bad line makes the whole file unusable (it is one dataset)."""
    documents = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"{origin}:{number}: invalid JSON ({exc.msg})") from exc
        except RecursionError as exc:
            raise DocumentError(f"{origin}:{number}: JSON nested too deeply to be read") from exc
        if not isinstance(record, dict):
            raise DocumentError(f"{origin}:{number}: each line must be a JSON object")
        if isinstance(record.get("text"), str):
            record["text"] = record["text"].strip()
        documents.append(make_document(record, f"{default_id}-{number}", f"{origin}:{number}"))
    return documents


def split_text_references(text: str) -> tuple[str, list[str]]:
    """Plain text (a .txt or Markdown paper) without its reference lists, and their entries: a
    reference heading line and what follows it up to the next heading, when that is
    reference-shaped. Its entries cite other work: quoting them would answer from a title."""
    lines = text.split("\n")
    cut: set[int] = set()
    for start, line in enumerate(lines):
        if not REFERENCE_HEADING.match(line.lstrip("#").strip()):
            continue
        end = next((i for i in range(start + 1, len(lines)) if _opens_text_section(lines[i])), len(lines))
        if reference_shaped([other.strip() for other in lines[start + 1 : end]]):
            cut.update(range(start, end))
    if not cut:
        return text, []
    region = [
        lines[i].strip()
        for i in sorted(cut)
        if lines[i].strip() and not REFERENCE_HEADING.match(lines[i].lstrip("#").strip())
    ]
    kept = "\n".join(line for i, line in enumerate(lines) if i not in cut).strip()
    numbered = any(REFERENCE_ENTRY.match(line) for line in region)
    # Unnumbered entries of plain text are one per line; numbered ones may wrap.
    return kept, (reference_entries(region) if numbered else region)[:MAX_REFERENCES]


def _opens_text_section(line: str) -> bool:
    text = line.strip()
    return (
        bool(text)
        and not REFERENCE_HEADING.match(text.lstrip("#").strip())
        and (text.startswith("#") or heading_name(text) is not None)
    )
