"""PDF articles: text per page, cleaned the way a reader sees it, with page-accurate offsets.

pypdf reads the text layer page by page; `rag.ingest.loaders.pdf_text` turns the pages into one
clean text (running headers, page numbers, hyphenation, references, front matter). Here:
opening the file safely and reading the bibliographic metadata (PDF info first, then the
first page: the largest type is the title).
"""

from __future__ import annotations

import io
import logging
import re
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.ingest.loaders.base import ParsedFile, find_doi, make_document, normalize_space, publication_year
from rag.ingest.loaders.pdf_text import PdfText, clean_pages, looks_like_authors

log = logging.getLogger(__name__)
# pypdf logs what it repairs in a damaged file; a file it cannot read is reported by us instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)
# Info titles that name the file or the tool instead of the article.
JUNK_TITLE = re.compile(r"\.(docx?|pdf|tex|indd|rtf)\b|^microsoft word|^untitled|^title$|^\s*$", re.I)
MAX_PAGES = 2000


class PdfLoader:
    name = "pdf"
    suffixes = (".pdf",)

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile:
        origin = str(path)
        pages, info, title_by_size = read_pdf(data, origin)
        cleaned = clean_pages(pages)
        if not cleaned.text.strip():
            raise DocumentError(
                f"{origin} has no text layer (a scanned PDF?)", "run OCR on it first (for example ocrmypdf)"
            )
        record = pdf_record(cleaned, info, title_by_size, pages)
        return ParsedFile(
            [
                make_document(
                    record, default_id, origin, page_starts=cleaned.page_starts, sections=cleaned.sections
                )
            ]
        )


def read_pdf(data: bytes, origin: str) -> tuple[list[str], dict[str, str], str | None]:
    """(text of each page, PDF info fields, the first page's largest-type line) of a PDF.

    Raises DocumentError for an encrypted, corrupt or empty file."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    if not data.lstrip()[:1024].count(b"%PDF-"):
        raise DocumentError(f"{origin} is not a PDF file (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _decrypted(reader):
            raise DocumentError(
                f"{origin} is encrypted and needs a password to open",
                "save an unencrypted copy, for example with qpdf --decrypt, and add that",
            )
        if len(reader.pages) > MAX_PAGES:
            raise DocumentError(f"{origin} has {len(reader.pages)} pages; at most {MAX_PAGES} are read")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = {str(k).lstrip("/"): str(v) for k, v in (reader.metadata or {}).items() if v}
        title = _largest_type(reader.pages[0]) if pages else None
    except DocumentError:
        raise
    except (DependencyError, FileNotDecryptedError) as exc:
        raise DocumentError(
            f"{origin} is encrypted in a way that cannot be opened here ({exc})",
            "save an unencrypted copy and add that",
        ) from exc
    except Exception as exc:  # a damaged file can fail anywhere inside the parser, with any error type
        log.debug("pypdf failed on %s", origin, exc_info=True)
        raise DocumentError(
            f"{origin} is damaged or not a valid PDF ({type(exc).__name__}: {exc})",
            "open and re-save it, or export it again",
        ) from exc
    if not pages:
        raise DocumentError(f"{origin} has no pages")
    return pages, info, title


def _decrypted(reader: Any) -> bool:
    """Many PDFs are encrypted only to restrict printing: the empty user password opens them."""
    from pypdf import PasswordType

    return bool(reader.decrypt("") != PasswordType.NOT_DECRYPTED)


def _largest_type(page: Any) -> str | None:
    """The text set in the largest type on the page (the title of most articles), when that type
    stands out from the body text."""
    runs: list[tuple[float, str]] = []

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], font: Any, size: float) -> None:
        if text.strip():
            scale = abs(tm[3] * cm[3]) or 1.0
            runs.append((round(float(size) * scale, 1), text))

    page.extract_text(visitor_text=visit)
    if not runs:
        return None
    sizes = [size for size, text in runs for _ in range(len(text))]
    body = statistics.median(sizes)
    largest = max(size for size, _ in runs)
    if largest < body * 1.15:
        return None
    # Consecutive runs in the largest type: a title set over two lines.
    title: list[str] = []
    for size, text in runs:
        if size == largest:
            title.append(text)
        elif title:
            break
    return normalize_space(" ".join(title)) or None


def pdf_record(
    cleaned: PdfText, info: dict[str, str], title_by_size: str | None, pages: list[str]
) -> dict[str, Any]:
    """The document's fields: PDF info where it is meaningful, else what the first page shows."""
    info_title = normalize_space(info.get("Title", ""))
    title = info_title if info_title and not JUNK_TITLE.search(info_title) else None
    title = title or title_by_size or cleaned.front_title
    authors = normalize_space(info.get("Author", "")) or None
    if authors is None:
        authors = next(
            (line for line in cleaned.front_matter if line != title and looks_like_authors(line)), None
        )
    first_page_top = "\n".join(pages[0].splitlines()[:12]) if pages else ""
    year = publication_year(first_page_top) or publication_year(info.get("CreationDate", "")[:6])
    doi = (
        find_doi("\n".join(cleaned.front_matter))
        or find_doi(first_page_top)
        or find_doi(info.get("Subject", ""))
    )
    record: dict[str, Any] = {
        "title": title,
        "text": cleaned.text,
        "authors": authors,
        "year": year,
        "source": f"https://doi.org/{doi}" if doi else None,
        "pages": len(pages),
    }
    if doi:
        record["doi"] = doi
    if cleaned.references:
        record["references"] = cleaned.references
    return record
