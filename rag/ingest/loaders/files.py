"""Which loader reads a file, and loading a whole corpus with a report per file.

One bad file never stops the others: it is reported as failed, with the reason. Files that
are not documents (unknown types, links out of the corpus) are skipped, and so is a second
copy of an article already loaded (see `rag.ingest.dedupe`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from rag.documents import Document, source_file
from rag.errors import DocumentError, UnsupportedFileError
from rag.ingest.dedupe import identifiers, unique_documents
from rag.ingest.loaders.base import Loader, ParsedFile, default_id_for
from rag.ingest.loaders.html import HtmlLoader
from rag.ingest.loaders.pdf import PdfLoader
from rag.ingest.loaders.pubmed import MedlineLoader, PubmedXmlLoader, is_medline
from rag.ingest.loaders.text import JsonlLoader, TextLoader
from rag.ingest.paths import inside
from rag.progress import Progress, no_progress

log = logging.getLogger(__name__)

LOADERS: tuple[Loader, ...] = (
    TextLoader(),
    JsonlLoader(),
    PdfLoader(),
    HtmlLoader(),
    PubmedXmlLoader(),
    MedlineLoader(),
)
SUFFIXES = frozenset(suffix for loader in LOADERS for suffix in loader.suffixes)
Status = Literal["loaded", "skipped", "failed"]


@dataclass(frozen=True)
class FileReport:
    path: str
    status: Status
    reason: str | None = None
    documents: int = 0
    format: str | None = None


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of every file, or record in a file, that was not loaded."""
        return [(f.path, f.reason or "") for f in self.files if f.status != "loaded"]


def loader_for(path: Path, head: bytes = b"") -> Loader:
    """The loader for a file, by its suffix; a `.txt` holding MEDLINE records is read as such."""
    suffix = path.suffix.lower()
    if suffix == ".txt" and is_medline(head[:64].decode("utf-8", "ignore").lstrip("\ufeff")):
        return LOADERS[-1]
    for loader in LOADERS:
        if suffix in loader.suffixes:
            return loader
    raise UnsupportedFileError(f"unsupported file type {suffix!r}", f"use one of {sorted(SUFFIXES)}")


def parse_file(data: bytes, path: Path, base: Path) -> ParsedFile:
    """The documents in the bytes `data` of the file `path` (which need not exist yet)."""
    return parse_with(loader_for(path, data), data, path, default_id_for(path, base))


def parse_with(loader: Loader, data: bytes, path: Path, default_id: str) -> ParsedFile:
    """`loader.parse`, with any failure of the parsing libraries on this file (a JSON or YAML
    nesting too deep for the parser's recursion, a damaged archive, a bug they have on odd
    input) reported as a DocumentError about the file: one bad file never stops the others."""
    try:
        return loader.parse(data, path, default_id)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentError(f"{path} is nested too deeply to be read") from exc
    except MemoryError as exc:
        raise DocumentError(f"{path} is too large to be read") from exc
    except Exception as exc:
        log.warning("the %s loader failed on %s", loader.name, path, exc_info=True)
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise DocumentError(f"{path} cannot be read ({reason})") from exc


def load_paths(
    paths: Iterable[Path], confine_to: Sequence[Path] | None = None, progress: Progress = no_progress
) -> LoadResult:
    """Load every supported file under `paths` (files or directories, recursively).

    With `confine_to`, a file that resolves outside those directories (a symlink pointing
    elsewhere) is skipped, not read."""
    files, skipped = corpus_files(paths, confine_to)
    advance = progress("files", len(files))
    per_file = []
    for path, base in files:
        per_file.append(load_one(path, base))
        advance(1)
    return combine(per_file, skipped)


def corpus_files(
    paths: Iterable[Path], confine_to: Sequence[Path] | None = None
) -> tuple[list[tuple[Path, Path]], list[FileReport]]:
    """(file, the directory its id is relative to) for every supported file, and the files skipped
    because they link outside `confine_to`."""
    files: list[tuple[Path, Path]] = []
    skipped: list[FileReport] = []
    for root in paths:
        if not root.exists():
            raise DocumentError(f"{root} does not exist", "pass an existing file or directory")
        for path, walk_base in _files(root):
            base = walk_base
            if confine_to is not None:
                containing = _containing_root(path, confine_to)
                if containing is None:
                    skipped.append(
                        FileReport(str(path), "skipped", "links outside the corpus roots; not read")
                    )
                    continue
                base = containing  # ids relative to the corpus root, as a whole-corpus ingest gives
            files.append((path, base))
    return files, skipped


def load_one(path: Path, base: Path) -> tuple[list[Document], list[FileReport]]:
    """One file's documents and what happened to it; never raises for a bad file."""
    try:
        loader = loader_for(path)
        data = path.read_bytes()
        loader = loader_for(path, data)
        parsed = parse_with(loader, data, path, default_id_for(path, base))
    except UnsupportedFileError as exc:
        return [], [FileReport(str(path), "skipped", exc.message)]
    except OSError as exc:
        return [], [FileReport(str(path), "failed", f"cannot read it: {exc.strerror}")]
    except DocumentError as exc:
        return [], [FileReport(str(path), "failed", str(exc))]  # with the hint: what to do about it
    reports = [FileReport(str(path), "skipped", reason, format=loader.name) for reason in parsed.refused]
    loaded = FileReport(str(path), "loaded", documents=len(parsed.documents), format=loader.name)
    return parsed.documents, ([loaded] if parsed.documents or not reports else []) + reports


def combine(
    per_file: Iterable[tuple[list[Document], list[FileReport]]], skipped: list[FileReport]
) -> LoadResult:
    """The files' documents as one corpus: an id used by two files is kept for the first, unless
    both are records of one article (then rag.ingest.dedupe keeps the fuller); each article once."""
    result = LoadResult(files=list(skipped))
    first_seen: dict[str, Document] = {}
    for documents, reports in per_file:
        result.files.extend(reports)
        for doc in documents:
            earlier = first_seen.setdefault(doc.doc_id, doc)
            if earlier is not doc and not set(identifiers(doc)) & set(identifiers(earlier)):
                source = source_file(doc.path or "")
                reason = f"doc_id {doc.doc_id!r} already used by {source_file(earlier.path or '')}"
                result.files = [
                    _one_fewer(f) if f.path == source and f.status == "loaded" else f for f in result.files
                ]
                result.files.append(FileReport(source, "skipped", reason))
                continue
            result.documents.append(doc)
    result.documents, dropped = unique_documents(result.documents)
    for doc, kept_id, why in dropped:
        source = source_file(doc.path or "")
        result.files = [
            _one_fewer(f) if f.path == source and f.status == "loaded" else f for f in result.files
        ]
        result.files.append(
            FileReport(source, "skipped", f"{doc.doc_id} is a duplicate of {kept_id} ({why})")
        )
    result.files = [f for f in result.files if f.status != "loaded" or f.documents > 0]
    return result


def _one_fewer(report: FileReport) -> FileReport:
    return replace(report, documents=report.documents - 1)


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
