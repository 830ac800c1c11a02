"""The web page's filters and facet counts in a real browser (Debian's Chromium, Playwright)
against a real server on the corpus index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import QUESTION
from tests.test_web import ask, chromium_context, web_server

pytestmark = pytest.mark.integration
ANSWER_PAPER_META = "Cancer · 2010"  # QUESTION's answer comes from this paper


@pytest.fixture(scope="module")
def server(corpus_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from web_server(tmp_path_factory.mktemp("web-filters"), corpus_index)


@pytest.fixture(scope="module")
def page(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    problems: list[str] = []
    for context in chromium_context(tmp_path_factory.mktemp("chromium-profile")):
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{server}/")
        page.wait_for_selector("#journal option[value='Lancet']", state="attached")
        yield page
    assert problems == [], problems


def test_the_filters_are_sent_with_the_question(page: Any, server: str) -> None:
    page.click("#filters summary")
    page.fill("#year-from", "2016")
    assert page.inner_text("#filter-summary") == "(from 2016)"
    ask(page, QUESTION)
    expected = httpx.post(
        f"{server}/ask", json={"question": QUESTION, "filters": {"year_from": 2016}}, timeout=60
    ).json()
    shown = page.inner_text("#abstained-reason") if expected["abstained"] else page.inner_text("#answer")
    assert shown == expected["answer"] and "4.4 months" not in shown
    assert ANSWER_PAPER_META not in page.inner_text("#answer-area")

    page.click("#clear-filters")
    options = page.eval_on_selector_all("#journal option", "options => options.map(o => o.textContent)")
    assert options[0] == "Any journal" and "Anticancer Res (4)" in options
    page.select_option("#journal", "Cancer")
    page.fill("#year-to", "2010")
    assert page.inner_text("#filter-summary") == "(to 2010 · Cancer)"
    ask(page, QUESTION)  # the answer's own paper is let through: it is cited again
    assert "4.4 months" in page.inner_text("#answer")
    metas = page.locator("#source-list .meta").all_inner_texts()
    assert metas and all(ANSWER_PAPER_META in meta for meta in metas)

    page.fill("#year-from", "2030")
    page.fill("#year-to", "")
    ask(page, QUESTION)
    assert page.is_visible("#abstained")
    assert page.inner_text("#abstained-reason").startswith("No document matches the filters")
    page.click("#clear-filters")
    assert page.inner_text("#filter-summary") == "(all documents)"


def test_the_documents_view_shows_facet_counts(page: Any, server: str) -> None:
    facets = httpx.get(f"{server}/facets").json()
    page.click("#tab-documents")
    page.wait_for_selector("#facet-journals li")
    page.wait_for_selector("#document-list li")
    years = page.locator("#facet-years li").all_inner_texts()
    assert [" ".join(y.split()) for y in years] == [
        f"{y['value'] if y['value'] is not None else 'no year'} {y['count']}" for y in facets["years"]
    ]
    assert page.locator("#facet-journals li").count() == len(facets["journals"])
    assert " ".join(page.inner_text("#facet-file-types li").split()) == f"md {facets['documents']}"
    page.click("#facet-journals li[data-value='Anticancer Res'] button")
    assert page.input_value("#filter") == "Anticancer Res"
    assert page.inner_text("#document-count") == "4 of 34 documents"
    page.fill("#filter", "")
    page.click("#tab-ask")
