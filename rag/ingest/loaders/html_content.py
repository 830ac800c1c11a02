"""The article in a web page as a flat list of items: ("heading", level, text) and text blocks.

trafilatura (Apache-2.0) finds the main content; it is measured and maintained on thousands of
real pages, where class-name guessing failed on ours (a Springer body inside a "sidebar"
wrapper, a PeerJ abstract inside the article's `<header>`). Its XML becomes items: paragraphs
and list items one block each, a table one block with a row per line and cells separated by
" | ". A page where it finds nothing (a tiny or odd page) gets the older walk over the page
with BeautifulSoup (`fallback_items`). `tidy` then drops page furniture that both leave in.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rag.errors import DocumentError
from rag.ingest.loaders.base import normalize_space

Item = tuple[str, int, str]  # ("heading", 1..6, title) | ("text" | "table", 0, text)

# Navigation is pruned before trafilatura sees the page: on a tiny page it falls back to a
# baseline extraction that keeps whatever text there is, menus included.
PRUNED = ["//nav", "//*[@role='navigation' or @role='menu' or @role='menubar' or @role='search']"]

# Lines that sit in the article's flow but belong to the page (buttons, loaders, shop links).
FURNITURE_LINE = re.compile(
    r"""^(?:request\ a\ detailed\ protocol|see\ all|show\ (?:more|less|all)|read\ more|check\ for\ updates
    |view\ (?:pdf|article|full\ text|larger\ image|figure|table)
    |download\ (?:pdf|epub|citations?|article|full[-\ ]text|figures?|slides
        |(?:high|full)[-\ ]res(?:olution)?\ image)\b.*
    |(?:cite\ this\ article|how\ to\ cite\ this\ article)\b.*
    |please\ wait\b.*|.*\breferences\ are\ loading\b.*
    |(?:purchase|buy)\ (?:this|the|article|access|pdf|options|from|on|now|instant|a\ subscription)\b.*
    |(?:log|sign)\ in(?:\ to|\ via|\ through)?\b.{0,40}|get\ access\b.*|open\ in\ (?:a\ )?new\ (?:tab|window)
    |reprints\ and\ permissions|rights\ and\ permissions|(?:https?://|doi:\s*)\S+
    |.*\b(?:use|uses|accept|allow|enable)\b.*\bcookies\b.*
    |.*\bcookies?\ (?:policy|settings|preferences|consent)\b.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
MAX_FURNITURE_CHARS = 400  # a longer block is prose, whatever its first words
# Sections of the page, not of the article: dropped with their subsections.
FURNITURE_SECTION = re.compile(
    r"""^(?:(?:article\ )?metrics|downloads?(?:\ links|\ options)?|further\ reading|citing\ articles
    |share|share\ this\ article|(?:related|recommended|similar|most\ read)\ (?:articles|content|papers)
    |cited\ by\b.*|cite\ this\ article|rights\ and\ permissions|about\ this\ article|access\ options
    |subscribe\b.*)$""",
    re.IGNORECASE | re.VERBOSE,
)
HEADING_LEVEL = re.compile(r"^h([1-6])$")


def trafilatura_items(tree: Any) -> list[Item]:
    """The main content trafilatura finds in the parsed page (an lxml tree), or [] when none."""
    import trafilatura
    from lxml import etree

    # Its warnings tell of its own fallbacks and of an empty result ("discarding data"), which
    # the caller handles: on the command line they read as errors in the page.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    xml = trafilatura.extract(
        tree,
        output_format="xml",
        include_tables=True,
        include_comments=False,
        include_formatting=False,
        include_links=False,
        include_images=False,
        favor_recall=True,  # a paper's short paragraphs and lists are content, not boilerplate
        deduplicate=False,  # repeated sentences (methods, table cells) are the paper's own
        prune_xpath=PRUNED,
    )
    if not xml:
        return []
    # trafilatura's own output: no entities or DTD; a 10 MB page can hold a text node over 10 MB.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    main = etree.fromstring(xml.encode("utf-8"), parser).find("main")
    blocks = _XmlBlocks()
    if main is not None:
        blocks.walk(main)
    blocks.flush()
    return blocks.items


class _XmlBlocks:
    """trafilatura's XML (`head`, `p`, `list`/`item`, `table`/`row`/`cell`, `quote`, ...) as items.

    Recursion is bounded: trafilatura's tree is no deeper than the page (MAX_DEPTH, checked)."""

    BLOCKS = frozenset({"p", "quote", "code", "div", "main", "item"})

    def __init__(self) -> None:
        self.items: list[Item] = []
        self._inline: list[str] = []

    def walk(self, element: Any) -> None:
        self._inline.append(element.text or "")
        for child in element:
            if child.tag == "head":
                self.flush()
                level = HEADING_LEVEL.match(child.get("rend") or "")
                heading = normalize_space(" ".join(child.itertext()))
                if heading:
                    self.items.append(("heading", int(level.group(1)) if level else 2, heading))
            elif child.tag == "list":
                self.flush()
                self._list(child)
            elif child.tag == "table":
                self.flush()
                self._table(child)
            elif child.tag in self.BLOCKS:
                self.flush()
                self.walk(child)
                self.flush()
            elif child.tag == "lb":
                self._inline.append(" ")
            elif child.tag != "graphic":
                self.walk(child)  # inline: hi, ref, span
            self._inline.append(child.tail or "")

    def flush(self) -> None:
        text = normalize_space("".join(self._inline))
        self._inline = []
        if text:
            self.items.append(("text", 0, text))

    def _list(self, element: Any) -> None:
        # A definition list comes as items with rend "dt-1", "dd-1", ...: a term and its value
        # make one line ("Academic Editor: Robert McDonald"); a term without a value is a label.
        terms: dict[str, str] = {}
        for item in element:
            rend = item.get("rend") or ""
            if rend.startswith("dt-"):
                terms[rend[3:]] = normalize_space(" ".join(item.itertext()))
            elif rend.startswith("dd-") and terms.get(rend[3:]):
                value = normalize_space(" ".join(item.itertext()))
                self.items.append(("text", 0, f"{terms[rend[3:]]}: {value}" if value else terms[rend[3:]]))
            elif item.tag == "item":
                self.walk(item)
                self.flush()
            self._inline.append(item.tail or "")
            self.flush()

    def _table(self, element: Any) -> None:
        rows = []
        for row in element.iter("row"):
            cells = [normalize_space(" ".join(cell.itertext())) for cell in row.iterchildren("cell")]
            if any(cells):
                rows.append(" | ".join(cells).strip())
        if rows:
            self.items.append(("table", 0, "\n".join(rows)))


def tidy(items: list[Item]) -> list[Item]:
    """The items without furniture lines, furniture sections, and headings left with nothing under them."""
    kept: list[Item] = []
    furniture_level: int | None = None
    for kind, level, text in items:
        if kind == "heading":
            if furniture_level is not None and level > furniture_level:
                continue
            furniture_level = level if FURNITURE_SECTION.match(text) else None
            if furniture_level is None:
                kept.append((kind, level, text))
        elif furniture_level is None and not (
            kind == "text" and len(text) <= MAX_FURNITURE_CHARS and FURNITURE_LINE.match(text)
        ):
            kept.append((kind, level, text))
    return _without_empty_headings(kept)


def _without_empty_headings(items: list[Item]) -> list[Item]:
    """A heading is kept when text follows it before the next heading of its level or above
    (eLife's abridged pages hold an empty "Abstract"; PLOS an empty "Figures")."""
    kept: list[Item] = []
    has_text = [False] * 7  # has_text[level]: text seen after this point within a section of that level
    for kind, level, text in reversed(items):
        if kind != "heading":
            has_text = [True] * 7
            kept.append((kind, level, text))
            continue
        if has_text[level]:
            kept.append((kind, level, text))
        has_text[level:] = [False] * (7 - level)
    return kept[::-1]


# --- The fallback: the page walked with BeautifulSoup -----------------------------------------

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


def fallback_items(page: str, origin: str, max_depth: int) -> list[Item]:
    """The page's `<article>` (the longest), else `<main>`, else the body, without navigation,
    headers, footers, asides, forms, scripts, hidden elements and furniture classes."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    # html.parser nests unclosed tags that lxml closes, and the walk below recurses.
    if _depth(soup) > max_depth:
        raise DocumentError(
            f"{origin} nests its elements more than {max_depth} deep, deeper than browsers build a page",
            "save the page from a browser again",
        )
    root = _main_content(soup)
    _remove_furniture(root)
    blocks = _Blocks()
    blocks.walk(root)
    blocks.flush()
    return blocks.items


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
        self.items: list[Item] = []
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
                    self.flush()
                    heading = normalize_space(child.get_text(" "))
                    if heading:
                        self.items.append(("heading", int(child.name[1]), heading))
                elif child.name in BLOCKS:
                    self.flush()
                    self.walk(child)
                    self.flush()
                else:
                    if child.name in CELLS:
                        self._inline.append(" ")
                    self.walk(child)

    def flush(self) -> None:
        text = normalize_space("".join(self._inline))
        self._inline = []
        if text:
            self.items.append(("text", 0, text))
