"""Saved web pages (`.html`, `.htm`, `.xhtml`): the article, without the page around it.

trafilatura finds the article's text (html_content.py); headings become section titles; the
reference list is kept out of the answerable text, and so are page furniture lines and
sections (metrics, download links, "Request a detailed protocol"). Metadata comes from the
`citation_*` meta tags that journal sites publish for Google Scholar, then Dublin Core and
Open Graph, then the page's own `<h1>` and `<title>`. When the text holds no abstract, the one
in the meta tags (`citation_abstract`, `dc.description`, `description`) is put first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.ingest.loaders.base import (
    REFERENCE_HEADING,
    ParsedFile,
    article_problem,
    decode_text,
    make_document,
    normalize_space,
    publication_year,
)
from rag.ingest.loaders.html_content import Item, fallback_items, tidy, trafilatura_items

# Chromium's HTML parser nests no deeper. The fallback walk recurses, and bs4's searches take
# time proportional to the depth for every element: 100,000 nested divs took hours.
MAX_DEPTH = 512
# trafilatura's own limit (MAX_FILE_SIZE). Extraction time grows with the page: 10 MB of
# small elements took about a minute; a saved article page is well under 5 MB.
MAX_PAGE_BYTES = 20_000_000
ABSTRACT_HEADING = re.compile(r"^\s*(?:\d+\.?\s*)?(abstract|summary)\s*:?\s*$", re.IGNORECASE)
MIN_META_ABSTRACT_WORDS = 15  # a shorter description is a site's slogan, not an article's summary
MATCHED_PREFIX_CHARS = 100  # meta descriptions are often cut short ("..."): compare their start


class HtmlLoader:
    name = "html"
    suffixes = (".html", ".htm", ".xhtml")

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile:
        origin = str(path)
        if len(data) > MAX_PAGE_BYTES:
            raise DocumentError(
                f"{origin} is {len(data):,} bytes, larger than a saved article page "
                f"(at most {MAX_PAGE_BYTES:,})",
                "save the article's page alone, without the site's other pages",
            )
        page = decode_text(data, origin)
        tree = _parse_tree(page, origin)
        values = _meta_values(tree)
        meta = _meta(values)
        title: str | None = meta.get("title") or _first_text(tree, "h1") or _first_text(tree, "title")
        items = tidy(trafilatura_items(tree) or fallback_items(page, origin, MAX_DEPTH))
        if "doi" in meta or "citation_title" in values or "dc.title" in values:  # an article's page
            items = _with_meta_abstract(items, _meta_abstract(values))
        text, sections, references = _assemble(items, title)
        if not text.strip():
            raise DocumentError(f"{origin} has no article text (only navigation or scripts?)")
        record: dict[str, Any] = {**meta, "title": title, "text": text}
        if references:
            record["references"] = references
        problem = article_problem(text)  # a masthead, a table of contents, a page of links
        if problem is not None:
            return ParsedFile(refused=[f"{origin}: {problem}"])
        return ParsedFile([make_document(record, default_id, origin, sections=sections)])


def _parse_tree(page: str, origin: str) -> Any:
    """The page as an lxml tree, refused when it nests deeper than MAX_DEPTH."""
    from lxml import etree, html

    # huge_tree: libxml2 otherwise stops at depth 256 without a word, and the check below
    # could not tell a hostile page from a fine one.
    parser = html.HTMLParser(
        encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True, collect_ids=False
    )
    try:
        tree = html.document_fromstring(page.encode("utf-8"), parser=parser)
    except etree.ParserError as exc:  # "Document is empty"
        raise DocumentError(f"{origin} has no article text (the page is empty)") from exc
    depth = deepest = 0
    for event, _ in etree.iterwalk(tree, events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise DocumentError(
            f"{origin} nests its elements more than {MAX_DEPTH} deep, deeper than browsers build a page",
            "save the page from a browser again",
        )
    return tree


def _first_text(tree: Any, tag: str) -> str | None:
    element = next(tree.iter(tag), None)
    return normalize_space(element.text_content()) or None if element is not None else None


def _meta_values(tree: Any) -> dict[str, list[str]]:
    """The page's meta tags: lower-cased name (or property) -> contents, in page order."""
    values: dict[str, list[str]] = {}
    for tag in tree.iter("meta"):
        name = (tag.get("name") or tag.get("property") or "").strip().lower()
        content = normalize_space(str(tag.get("content") or ""))
        if name and content:
            values.setdefault(name, []).append(content)
    return values


def _meta(values: dict[str, list[str]]) -> dict[str, Any]:
    """Bibliographic fields from citation_*, Dublin Core and Open Graph meta tags."""

    def first(*names: str) -> str | None:
        return next((values[n][0] for n in names if n in values), None)

    authors = (
        values.get("citation_author")
        or values.get("dc.creator")
        or values.get("dc.contributor")
        or values.get("author")
    )
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


def _meta_abstract(values: dict[str, list[str]]) -> str | None:
    for name in ("citation_abstract", "dc.description", "description", "og:description"):
        if name in values:
            # citation_abstract may hold markup ("<p>Background ..."): its text is wanted.
            abstract = normalize_space(re.sub(r"<[^>]*>", " ", values[name][0]))
            abstract = re.sub(r"^abstract\b[:.]?\s*", "", abstract, flags=re.IGNORECASE)
            if len(abstract.split()) >= MIN_META_ABSTRACT_WORDS:
                return abstract
    return None


def _with_meta_abstract(items: list[Item], abstract: str | None) -> list[Item]:
    """`items` with the meta tags' abstract first (after a leading title), unless the text has one."""
    if abstract is None or any(kind == "heading" and ABSTRACT_HEADING.match(t) for kind, _, t in items):
        return items
    start = abstract[:MATCHED_PREFIX_CHARS].rstrip(".…").strip().lower()
    if any(start in text.lower() for kind, _, text in items if kind != "heading"):
        return items
    at = 1 if items and items[0][:2] == ("heading", 1) else 0
    return [*items[:at], ("heading", 2, "Abstract"), ("text", 0, abstract), *items[at:]]


def _assemble(items: list[Item], title: str | None) -> tuple[str, list[tuple[int, str]], list[str]]:
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
