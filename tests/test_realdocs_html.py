"""The HTML loader on real journal pages nobody on the team wrote (../shared/benchmarks/realdocs),
and on two small pages built like the ones that broke its older version (issue 17).

Expected values were read off each page and the folder's README, not off the loader's output."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from rag.documents import Document
from rag.ingest.loaders.html import HtmlLoader

REALDOCS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "realdocs"

# file: (title begins, first author, year, DOI, abstract words, a reference entry's words)
EXPECTED = {
    "kourakis2019_elife_ciona_visual.html": (
        "Parallel visual circuitry in a basal chordate", "Matthew J Kourakis", 2019, "10.7554/eLife.44753",
        # The page's Abstract section is empty (abridged); its summary is in the description meta tag.
        "The ascidian Ciona integrates visual information from two photoreceptor types",
        "Fold-change detection in biological systems",
    ),
    "li2019_plosone_rev_chickens.html": (
        "Assessment on reticuloendotheliosis virus infection in specific-pathogen-free chickens",
        "Yang Li", 2019, "10.1371/journal.pone.0213978",
        "Reticuloendotheliosis virus (REV) is the most frequent exogenous virus that contaminates",
        "Occurrence of reticuloendotheliosis in Chinese partridge",
    ),
    "piwowar2018_peerj_state_of_oa.html": (
        "The state of OA: a large-scale analysis of the prevalence and impact of Open Access articles",
        "Heather Piwowar", 2018, "10.7717/peerj.4375",
        "Despite growing interest in Open Access (OA) to scholarly literature, there is an unmet need",
        "Do open-access articles have a greater research impact?",
    ),
}  # fmt: skip
# Buttons, loaders, link rows and site chrome of journal pages (these three and issue 17's).
FURNITURE = (
    "Please wait", "references are loading", "Purchase from", "Download PDF", "Download asset", "Open asset",
    "Cite this article", "Request a detailed protocol", "see all", "cookie", "Jump to",
    "This video cannot be played", "Download as MPEG-4", "Page views", "PowerPoint slide", "larger image",
    "Figures and data", "Media Coverage", "Further reading",
)  # fmt: skip
PEERJ_ROWS = (
    "| oaDOI reports Open | oaDOI reports Closed | Manual count Total (ground truth)",
    "Open | 144 | 43 | 187",
    "Total | 149 | 351 | 500",
    "Crossref-DOIs | 100,000 | All journal articles with Crossref DOIs, all years. | "
    "Estimate percentage of the literature that is OA. | 66,560,153",
    "Bronze OA | 16.2% | 16.0–16.5 | 12.9% | 12.6–13.2 | 15.3% | 15.0–15.6",
    "Closed | 72.0% | 71.8–72.4 | 63.9% | 63.8–64.0 | 53.0% | 52.7–53.3",
)


def parse(data: bytes, name: str = "page.html") -> Document:
    (doc,) = HtmlLoader().parse(data, Path(name), "id").documents
    return doc


@cache
def load(name: str) -> Document:
    if not REALDOCS.is_dir():
        pytest.skip("../shared/benchmarks/realdocs is not here")
    return parse((REALDOCS / name).read_bytes(), name)


def questions(name: str) -> list[dict[str, object]]:
    if not REALDOCS.is_dir():
        pytest.skip("../shared/benchmarks/realdocs is not here")
    lines = (REALDOCS / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    return [q for q in map(json.loads, filter(None, lines)) if q["file"] == name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metadata_comes_from_the_meta_tags(name: str) -> None:
    title, first_author, year, doi, _, _ = EXPECTED[name]
    doc = load(name)
    assert doc.title.startswith(title), doc.title
    assert doc.authors is not None and doc.authors.split(", ")[0] == first_author, doc.authors
    assert doc.year == year
    assert doc.extra.get("doi") == doi
    assert "article_problem" not in doc.extra


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_text_is_the_article_from_its_abstract_without_furniture_or_references(name: str) -> None:
    *_, abstract, reference = EXPECTED[name]
    doc = load(name)
    assert doc.sections[0][1] == "Abstract"  # after front matter (PeerJ: editor, keywords, licence)
    assert abstract in doc.text[doc.sections[0][0] :]
    assert [f for f in FURNITURE if f.lower() in doc.text.lower()] == []
    assert reference not in doc.text
    assert "References" not in [section for _, section in doc.sections]
    assert len(doc.text) > 10_000


def test_reference_lists_are_kept_apart() -> None:
    for name in ("kourakis2019_elife_ciona_visual.html", "li2019_plosone_rev_chickens.html"):
        references = load(name).extra.get("references", [])
        assert len(references) >= 5 and any(EXPECTED[name][5] in entry for entry in references), name


def test_peerj_tables_keep_their_rows() -> None:
    """Each row on a line of its own, cells separated by " | ", never run into the next paragraph."""
    lines = load("piwowar2018_peerj_state_of_oa.html").text.split("\n")
    for row in PEERJ_ROWS:
        assert row in lines, row
    after_last_row = lines.index("Total | 149 | 351 | 500") + 1
    assert lines[after_last_row] == ""  # the table ends its block
    assert sum(line.startswith(("Open | ", "Crossref-DOIs | ", "Bronze OA | ")) for line in lines) == 3


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_checked_answer_is_in_the_text(name: str) -> None:
    text = load(name).text.lower()
    checked = questions(name)
    assert checked
    for question in checked:
        answers = question["answers"]
        assert isinstance(answers, list)
        assert any(str(answer).lower() in text for answer in answers), question["question"]


# --- Pages built like the ones that broke the older loader ---------------------------------------

BODY = "".join(
    f"<h2>{name}</h2><p>In the {name.lower()} part, the 120 patients were followed for twelve months, "
    f"and the outcomes of each group were recorded by two assessors who did not know the group.</p>"
    for name in ("Introduction", "Methods", "Results", "Discussion")
)
ABSTRACT = "We asked whether a sidebar wrapper hides the article. It did in 3 of 3 pages we saved."


def test_a_body_inside_a_sidebar_wrapper_is_kept_without_the_shop_and_loader_lines() -> None:
    """Springer: the article sits in a `div` whose class holds "sidebar"; class-name rules removed it."""
    page = f"""<!DOCTYPE html><html><head><title>The sidebar study | Journal of Things</title>
<meta name="citation_title" content="The sidebar study">
<meta name="citation_author" content="Ada Lovelace">
<meta name="citation_publication_date" content="2020/05/01">
<meta name="citation_doi" content="10.5555/things.2020.12">
</head><body>
<header class="c-header"><a href="/">Journal of Things</a> <a href="/login">Log in</a></header>
<nav><ul><li><a href="/search">Search</a></li><li><a href="/menu">Menu</a></li></ul></nav>
<div class="c-article-sidebar-body u-container"><article>
<div class="c-article-header"><h1>The sidebar study</h1><p>Purchase from $39.95</p></div>
<div class="c-article-body">
<section data-title="Abstract"><h2>Abstract</h2><p>{ABSTRACT}</p></section>
<div class="main-content">{BODY}</div>
<section data-title="References"><h2>References</h2><p>Please wait... references are loading.</p>
<ol><li>Smith J. A study of sidebars. J Things. 2019;3:1-9.</li></ol></section>
</div></article></div>
<footer>Copyright 2020 Journal of Things</footer></body></html>"""
    doc = parse(page.encode())
    assert doc.title == "The sidebar study" and doc.authors == "Ada Lovelace" and doc.year == 2020
    assert [name for _, name in doc.sections] == [
        "Abstract",
        "Introduction",
        "Methods",
        "Results",
        "Discussion",
    ]
    assert ABSTRACT in doc.text and "recorded by two assessors" in doc.text
    for furniture in ("Purchase", "Please wait", "loading", "Log in", "Search", "Copyright", "Smith J"):
        assert furniture not in doc.text, furniture
    assert doc.extra["references"] == ["Smith J. A study of sidebars. J Things. 2019;3:1-9."]


def test_an_abstract_inside_the_article_header_is_kept() -> None:
    """PeerJ: the abstract is in `<article><header>`; a loader that drops headers lost it."""
    page = f"""<html><head><title>Header study</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><header><h1>Header study</h1><div class="authors">A. Author, B. Author</div>
<section class="abstract"><h2>Abstract</h2><p>{ABSTRACT}</p></section></header>
<main>{BODY}</main></article><footer>About the site</footer></body></html>"""
    doc = parse(page.encode())
    assert doc.sections[0] == (0, "Abstract") and doc.text.startswith(f"Abstract\n\n{ABSTRACT}")
    assert "Home" not in doc.text and "About the site" not in doc.text


def test_an_abstract_only_in_the_meta_tags_comes_first() -> None:
    description = "A summary of the article that the page keeps only in its meta tags, " * 2
    page = f"""<html><head><meta name="citation_title" content="Meta study">
<meta name="citation_doi" content="10.5555/meta.1"><meta name="description" content="{description}">
</head><body><article><h1>Meta study</h1><h2>Abstract</h2>{BODY}</article></body></html>"""
    doc = parse(page.encode())
    assert doc.text.startswith(f"Abstract\n\n{description.strip()}\n\nIntroduction")
    assert [name for _, name in doc.sections][:2] == ["Abstract", "Introduction"]


def test_a_page_of_links_or_a_masthead_is_refused_as_holding_no_article_text() -> None:
    links = "".join(f'<li><a href="/{n}">Section {n} of the site</a></li>' for n in range(12))
    masthead = "<p>Volume 18, pages 231–234 (2012)</p><p>Cite this article</p><p>Download PDF</p>"
    for body in (f"<ul>{links}</ul>", masthead):
        parsed = HtmlLoader().parse(f"<html><body>{body}</body></html>".encode(), Path("page.html"), "id")
        assert parsed.documents == []
        (reason,) = parsed.refused
        assert "no article text" in reason
