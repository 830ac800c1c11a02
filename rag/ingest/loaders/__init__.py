"""Read corpus files into Documents: one small loader per format, chosen by file type.

| Format | Files | Loader |
|---|---|---|
| Markdown / text | `.md`, `.markdown`, `.txt` | `rag.ingest.loaders.text` |
| JSON Lines | `.jsonl` | `rag.ingest.loaders.text` |
| PDF | `.pdf` | `rag.ingest.loaders.pdf` (+ `pdf_read`: PDFium; `pdf_layout`, `pdf_text`: clean-up) |
| Web page | `.html`, `.htm`, `.xhtml` | `rag.ingest.loaders.html` (+ `html_content`: trafilatura) |
| PubMed XML | `.xml` (`PubmedArticleSet`) | `rag.ingest.loaders.pubmed` |
| MEDLINE | `.nbib`, `.medline`, `.txt` starting `PMID-` | `rag.ingest.loaders.pubmed` |

A file that cannot be used is reported in `LoadResult.files` with the reason; it does not stop
the other files from loading.
"""

from __future__ import annotations

from rag.ingest.loaders.base import DOC_ID, Loader, ParsedFile, default_id_for, make_document, valid_unicode
from rag.ingest.loaders.files import SUFFIXES, FileReport, LoadResult, load_paths, loader_for, parse_file

__all__ = [
    "DOC_ID",
    "SUFFIXES",
    "FileReport",
    "LoadResult",
    "Loader",
    "ParsedFile",
    "default_id_for",
    "load_paths",
    "loader_for",
    "make_document",
    "parse_file",
    "valid_unicode",
]
