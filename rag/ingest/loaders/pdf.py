"""PDF articles: text per page, cleaned the way a reader sees it, with page-accurate offsets.

PDFium reads the text layer with each line's position and type size
(`rag.ingest.loaders.pdf_read`); `rag.ingest.loaders.pdf_text` turns the pages into one clean
text (running headers, page numbers, hyphenation, tables, references, front matter). Here: the
bibliographic metadata. The first page's layout (the largest type is the title, the line under
it the by-line) is trusted over the PDF info fields, which often name the file, the typesetting
job or the journal; an info field is used where it agrees with what the first page prints.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.ingest.loaders.base import (
    ParsedFile,
    article_problem,
    find_doi,
    make_document,
    normalize_space,
    publication_year,
)
from rag.ingest.loaders.pdf_read import PdfPage, read_pdf
from rag.ingest.loaders.pdf_text import PdfText, clean_pages, looks_like_authors

# Info titles that name the file, the tool, an identifier or a stamp instead of the article.
JUNK_TITLE = re.compile(
    r"\.(docx?|pdf|tex|indd|rtf|qxd|fm)\b|^microsoft word|^untitled|^title$|^\s*$|^doi\b|^arxiv:|"
    r"^\S*\d\S*$|^(?:manuscript|article|paper|document)\s*\d*$",
    re.I,
)
FOOTNOTE_MARKS = re.compile(r"[\d*∗†‡§¶#☯✉]+|\b[a-h](?:,[a-h])*(?=,|\s|$)")
MIN_TITLE_WORDS = 3
# The journal's citation line: "British Medical Bulletin, 2015, 113:45–58", "Diabetologia (2024) 67:940".
CITATION_YEAR = re.compile(r"\(?\b((?:19|20)\d\d)\b\)?[,;]?\s+(?:vol\.?\s*)?\d{1,4}\s*[(:,]", re.I)


class PdfLoader:
    name = "pdf"
    suffixes = (".pdf",)

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile:
        origin = str(path)
        pages, info = read_pdf(data, origin)
        cleaned = clean_pages(pages)
        if not cleaned.text.strip():
            raise DocumentError(
                f"{origin} has no text layer (a scanned PDF?)", "run OCR on it first (for example ocrmypdf)"
            )
        problem = article_problem(cleaned.text)
        if problem is not None:
            return ParsedFile(refused=[f"{origin}: {problem}"])
        record = pdf_record(cleaned, info, pages)
        return ParsedFile(
            [
                make_document(
                    record, default_id, origin, page_starts=cleaned.page_starts, sections=cleaned.sections
                )
            ]
        )


def page_text(page: PdfPage) -> str:
    return "\n".join(line.text.replace("\t", " ") for line in page.lines)


def pdf_record(cleaned: PdfText, info: dict[str, str], pages: list[PdfPage]) -> dict[str, Any]:
    """The document's fields: the first page's layout, PDF info where it agrees with it."""
    first_page = page_text(pages[0]) if pages else ""
    title = choose_title(normalize_space(info.get("Title", "")), cleaned, first_page)
    authors = choose_authors(cleaned, normalize_space(info.get("Author", "")), first_page, title)
    first_page_top = "\n".join(first_page.splitlines()[:12])
    citation = CITATION_YEAR.search("\n".join([*cleaned.front_matter, first_page]))
    year = (
        (int(citation.group(1)) if citation else None)
        or publication_year(first_page_top)
        or publication_year(info.get("CreationDate", "")[:6])
    )
    doi = (
        find_doi("\n".join(cleaned.front_matter))
        or find_doi(first_page)
        or (find_doi(page_text(pages[1])) if len(pages) > 1 else None)
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


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text.lower()) if len(word) > 2}


def _agrees(candidate: str, printed: str) -> bool:
    """Most of the candidate's words are printed on the first page."""
    words = _words(candidate)
    return bool(words) and len(words & _words(printed)) >= 0.8 * len(words)


def choose_title(info_title: str, cleaned: PdfText, first_page: str) -> str | None:
    info_ok = (
        bool(info_title)
        and not JUNK_TITLE.search(info_title)
        and len(info_title.split()) >= MIN_TITLE_WORDS
        and _agrees(info_title, first_page)
    )
    layout = cleaned.title if cleaned.title and len(cleaned.title.split()) >= 2 else None
    if layout and info_ok and _agrees(info_title, layout) and _agrees(layout, info_title):
        return info_title  # the same title, without the line breaks of the page
    if layout:
        return layout
    if info_ok:
        return info_title
    return cleaned.front_title


def choose_authors(cleaned: PdfText, info_author: str, first_page: str, title: str | None) -> str | None:
    names = ""
    for count in range(1, len(cleaned.byline) + 1):  # as many by-line lines as read as names
        candidate = clean_byline(" ".join(cleaned.byline[:count]))
        if not looks_like_authors(candidate):
            break
        names = candidate
    if names:
        return names.title() if names.isupper() else names
    if info_author and looks_like_authors(info_author) and _agrees(info_author, first_page):
        return info_author
    return next(
        (line for line in cleaned.front_matter if line != title and looks_like_authors(clean_byline(line))),
        None,
    )


def clean_byline(line: str) -> str:
    """Names without footnote marks and the final "and": "Ann Lee1,*, Bo Chen2 and Cy Wu†"
    -> "Ann Lee, Bo Chen, Cy Wu"."""
    text = FOOTNOTE_MARKS.sub("", line)
    names = [name.strip(" .") for name in re.split(r",|;|·|\band\b|&", text)]
    return ", ".join(" ".join(name.split()) for name in names if name.strip(" ."))
