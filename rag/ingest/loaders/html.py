"""Saved web pages (`.html`, `.htm`): the article, without the page around it.

The main content is the page's `<article>` (the longest, when there are several), else
`<main>` or `role="main"`, else the body. Navigation, headers, footers, asides, forms,
scripts and elements hidden from readers are removed. Headings become section titles. The
reference list is kept out of the answerable text. Metadata comes from the `citation_*`
meta tags that journal sites publish for Google Scholar, then Dublin Core and Open Graph,
then the page's own `<h1>` and `<title>`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.ingest.loaders.base import (
    REFERENCE_HEADING,
    ParsedFile,
    decode_text,
    make_document,
    normalize_space,
    publication_year,
)

REMOVED_TAGS = [
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
    "iframe", "svg", "button", "select", "input", "textarea", "dialog", "menu", "link", "meta",
]  # fmt: skip
REMOVED_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
# Class or id words of page furniture (as readability-style extractors recognise it).
FURNITURE = re.compile(
    r"(^|[-_ ])(nav|navbar|menu|breadcrumbs?|sidebar|footer|cookie|consent|banner|advert|ads|share|social|"
    r"related|recommended|newsletter|skip-link|toolbar)($|[-_ ])",
    re.I,
)
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCKS = HEADINGS | {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre",
    "table", "thead", "tbody", "tr", "figure", "figcaption", "caption", "br", "hr", "body", "details",
    "summary",
}  # fmt: skip
CELLS = {"td", "th"}


# Chromium's HTML parser nests no deeper. The tree code below recurses, and bs4's searches
# take time proportional to the depth for every element: 100,000 nested divs took hours.
MAX_DEPTH = 512


class HtmlLoader:
    name = "html"
    suffixes = (".html", ".htm", ".xhtml")

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile:
        from bs4 import BeautifulSoup

        origin = str(path)
        soup = BeautifulSoup(decode_text(data, origin), "html.parser")
        if _depth(soup) > MAX_DEPTH:
            raise DocumentError(
                f"{origin} nests its elements more than {MAX_DEPTH} deep, deeper than browsers build a page",
                "save the page from a browser again",
            )
        meta = _meta(soup)
        h1 = soup.find("h1")
        page_heading = normalize_space(h1.get_text(" ")) if h1 is not None else None
        root = _main_content(soup)
        _remove_furniture(root)
        blocks = _Blocks()
        blocks.walk(root)
        title: str | None = meta.get("title") or page_heading or _page_title(soup)
        text, sections, references = _assemble(blocks.items, title)
        if not text.strip():
            raise DocumentError(f"{origin} has no article text (only navigation or scripts?)")
        record: dict[str, Any] = {**meta, "title": title, "text": text}
        if references:
            record["references"] = references
        return ParsedFile([make_document(record, default_id, origin, sections=sections)])


def _depth(soup: Any) -> int:
    """How deep elements nest (counted without recursion)."""
    deepest, stack = 0, [(soup, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend(
            (child, depth + 1) for child in getattr(node, "contents", ()) if hasattr(child, "contents")
        )
    return deepest


def _meta(soup: Any) -> dict[str, Any]:
    """Bibliographic fields from citation_*, Dublin Core and Open Graph meta tags."""
    values: dict[str, list[str]] = {}
    for tag in soup.find_all("meta"):
        name = (tag.get("name") or tag.get("property") or "").strip().lower()
        content = normalize_space(str(tag.get("content") or ""))
        if name and content:
            values.setdefault(name, []).append(content)

    def first(*names: str) -> str | None:
        return next((values[n][0] for n in names if n in values), None)

    authors = values.get("citation_author") or values.get("dc.creator") or values.get("author")
    date = first("citation_publication_date", "citation_date", "citation_year", "dc.date")
    doi = first("citation_doi", "dc.identifier")
    doi = doi.removeprefix("doi:").removeprefix("https://doi.org/") if doi else None
    pmid = first("citation_pmid")
    record: dict[str, Any] = {
        "title": first("citation_title", "dc.title", "og:title"),
        # "Kim, Min-jun" names hold commas of their own: then the list is separated by semicolons.
        "authors": ("; " if any("," in a for a in authors) else ", ").join(authors) if authors else None,
        "journal": first("citation_journal_title", "citation_conference_title", "og:site_name"),
        "year": publication_year(date) if date else None,
        "source": first("citation_fulltext_html_url", "citation_abstract_html_url", "og:url")
        or (f"https://doi.org/{doi}" if doi and doi.startswith("10.") else None),
    }
    if doi and doi.startswith("10."):
        record["doi"] = doi
    if pmid and pmid.isdigit():
        record["pmid"] = pmid
    return {key: value for key, value in record.items() if value}


def _main_content(soup: Any) -> Any:
    articles = soup.find_all("article")
    if articles:
        return max(articles, key=lambda a: len(a.get_text(" ", strip=True)))
    return soup.find("main") or soup.find(attrs={"role": "main"}) or soup.body or soup


def _remove_furniture(root: Any) -> None:
    for tag in root.find_all(REMOVED_TAGS):
        tag.decompose()
    for tag in root.find_all(True):
        if tag.decomposed:
            continue
        attrs = tag.attrs or {}
        words = " ".join([*(attrs.get("class") or []), str(attrs.get("id") or "")])
        hidden = (
            "hidden" in attrs
            or attrs.get("aria-hidden") == "true"
            or "display:none" in str(attrs.get("style", "")).replace(" ", "")
        )
        if hidden or attrs.get("role") in REMOVED_ROLES or (words.strip() and FURNITURE.search(words)):
            tag.decompose()


class _Blocks:
    """The content as a flat list of ("heading", level, text) and ("text", 0, text) items."""

    def __init__(self) -> None:
        self.items: list[tuple[str, int, str]] = []
        self._inline: list[str] = []

    def walk(self, element: Any) -> None:
        from bs4.element import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

        for child in element.children:
            if isinstance(child, Comment | Declaration | Doctype | ProcessingInstruction):
                continue
            if isinstance(child, NavigableString):
                self._inline.append(str(child))
            elif isinstance(child, Tag):
                if child.name in HEADINGS:
                    self._flush()
                    heading = normalize_space(child.get_text(" "))
                    if heading:
                        self.items.append(("heading", int(child.name[1]), heading))
                elif child.name in BLOCKS:
                    self._flush()
                    self.walk(child)
                    self._flush()
                else:
                    if child.name in CELLS:
                        self._inline.append(" ")
                    self.walk(child)

    def _flush(self) -> None:
        text = normalize_space("".join(self._inline))
        self._inline = []
        if text:
            self.items.append(("text", 0, text))


def _page_title(soup: Any) -> str | None:
    return normalize_space(soup.title.get_text()) if soup.title else None


def _assemble(
    items: list[tuple[str, int, str]], title: str | None
) -> tuple[str, list[tuple[int, str]], list[str]]:
    """Text with headings as their own lines, the sections' offsets, and the reference entries."""
    parts: list[str] = []
    sections: list[tuple[int, str]] = []
    references: list[str] = []
    offset = 0
    reference_level: int | None = None
    for kind, level, text in items:
        if kind == "heading":
            if reference_level is not None and level <= reference_level:
                reference_level = None
            if REFERENCE_HEADING.match(text):
                reference_level = level
                continue
            if title is not None and level == 1 and text == title:
                continue  # the title is the document's title, not its text
        if reference_level is not None:
            references.append(text)
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        if kind == "heading":
            sections.append((offset, text))
        parts.append(text)
        offset += len(text)
    return "".join(parts), sections, references
