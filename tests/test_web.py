"""The web page in a real browser (Debian's Chromium, driven by Playwright) against a real server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CORPUS
from tests.document_fixtures import PDF_TITLE, write_article_pdf
from tests.servers import running_server
from tests.test_api import QUESTION

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
# As the workplace's browser probe starts it: no network of its own, a fresh profile per run.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
TWO_PARTS = (
    "How many patients were enrolled in the SWOG myeloma trial, and what dose of sorafenib did they get?"
)
UNANSWERABLE = "What was the response rate of pembrolizumab in melanoma?"


def browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("RAG_REQUIRE_BROWSER") == "1":  # CI installs it: missing there is a failure
        pytest.fail(
            f"{CHROMIUM} is missing; .ci/run installs the Debian packages chromium and chromium-driver"
        )
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium chromium-driver)")


def web_server(work: Path, corpus_index: Path, **env: str) -> Iterator[str]:
    """A real server on a copy of the corpus index, uploads kept apart from the corpus."""
    browser_or_skip()
    shutil.copytree(corpus_index, work / "index")
    env = {
        "RAG_INDEX_DIR": str(work / "index"),
        "RAG_CORPUS_DIR": str(CORPUS),
        "RAG_UPLOADS_DIR": str(work / "uploads"),
        **env,
    }
    with running_server(env, work / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def server(corpus_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from web_server(tmp_path_factory.mktemp("web"), corpus_index)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 860},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{server}/")
    page.wait_for_selector("#examples li")
    yield page
    page.close()
    if getattr(page, "expects_http_error", False):  # the browser logs every non-2xx response
        problems = [p for p in problems if not p.startswith("Failed to load resource")]
    assert problems == [], problems


def ask(page: Any, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")  # Enter submits
    page.wait_for_function("window.ragTimings.total_ms !== null && window.ragTimings.total_ms !== undefined")


def test_an_answer_links_each_citation_to_its_quoted_sentence(page: Any, server: str) -> None:
    expected = httpx.post(f"{server}/ask", json={"question": QUESTION}, timeout=30).json()
    ask(page, QUESTION)
    assert page.inner_text("#answer") == expected["answer"]
    markers = page.locator("#answer a.marker")
    distinct = {markers.nth(i).get_attribute("data-marker") for i in range(markers.count())}
    assert len(distinct) == len(expected["citations"]) >= 1
    assert page.locator("#source-list li").count() == len(expected["citations"])
    markers.first.click()
    assert page.is_visible("#panel")
    citation = expected["citations"][0]
    assert page.inner_text("#panel-passage mark") == citation["quote"]
    assert citation["title"] in page.inner_text("#panel-title")
    assert str(citation["year"]) in page.inner_text("#panel-meta")
    assert "Answered in" in page.inner_text("#status")
    # The whole document, with the passage and its quote marked.
    page.click("#show-document")
    page.wait_for_selector("#document-dialog[open]")
    assert page.inner_text("#document-text mark:not(.passage-mark)") == citation["quote"]
    assert citation["quote"] in page.inner_text("#document-text mark.passage-mark")
    page.click("#document-close")


def test_hover_and_keyboard_focus_show_the_quote_and_escape_returns_focus(page: Any) -> None:
    ask(page, QUESTION)
    marker = page.locator("#answer a.marker").first
    tip = marker.locator(".tip")
    assert not tip.is_visible()
    marker.hover()
    assert tip.is_visible() and "The median PFS was 4.4 months" in tip.inner_text()
    page.mouse.move(0, 0)
    page.focus("#question")
    page.keyboard.press("Tab")  # the question box, then the mode, the button, the examples ...
    for _ in range(12):
        if page.evaluate("document.activeElement.classList.contains('marker')"):
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('marker')")
    assert tip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "panel"
    page.keyboard.press("Escape")
    assert page.is_hidden("#panel")
    assert page.evaluate("document.activeElement.classList.contains('marker')")


def test_an_unanswerable_question_shows_the_not_found_state(page: Any) -> None:
    ask(page, UNANSWERABLE)
    assert page.is_visible("#abstained")
    assert "Not found in the corpus" in page.inner_text("#abstained")
    assert "pembrolizumab" in page.inner_text("#abstained-reason")
    assert page.locator("#answer a.marker").count() == 0


def test_the_first_sentence_streams_in_before_the_whole_answer(page: Any) -> None:
    ask(page, TWO_PARTS)
    timings = page.evaluate("window.ragTimings")
    answer = page.inner_text("#answer")
    first = timings["first_text"]
    assert timings["first_text_ms"] <= timings["total_ms"]
    # The first event held the first sentence alone, shown before the final event arrived.
    assert answer.startswith(first.split(" [")[0]) and len(first) < len(answer)


def test_a_server_error_is_shown_on_the_page(page: Any) -> None:
    # No generative model is configured: the server refuses with 400, and the page says why.
    page.expects_http_error = True
    page.evaluate("document.querySelector('#mode option[value=generative]').disabled = false")
    page.select_option("#mode", "generative")
    page.fill("#question", QUESTION)
    page.press("#question", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error").startswith("400:")
    assert "RAG_GENERATION__MODEL_PATH" in page.inner_text("#error")


def test_the_answer_arrives_without_moving_the_page(page: Any) -> None:
    """The answer area's place is kept while the answer streams in; only what follows the
    answer (its sources) may extend it downwards."""
    box = {name: page.locator(name).bounding_box() for name in ("#answer-area", "#status", "#answer")}
    ask(page, QUESTION)
    after = {name: page.locator(name).bounding_box() for name in box}
    assert [after[name]["y"] for name in box] == [box[name]["y"] for name in box]
    assert after["#answer-area"]["height"] >= box["#answer-area"]["height"]


def test_a_phone_width_window_has_no_sideways_scrolling(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    ask(page, QUESTION)
    page.locator("#answer a.marker").first.click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    panel, answer = page.locator("#panel").bounding_box(), page.locator("#answer-area").bounding_box()
    assert panel["y"] > answer["y"]  # stacked below the answer, not squeezed beside it


def test_documents_can_be_filtered_and_an_upload_becomes_answerable(page: Any, tmp_path: Path) -> None:
    page.click("#tab-documents")
    page.wait_for_selector("#document-list li")
    assert page.inner_text("#document-count") == "34 documents"
    page.fill("#filter", "thyroid")
    shown = page.locator("#document-list li:visible")
    assert 0 < shown.count() < 34 and page.inner_text("#document-count").endswith("of 34 documents")
    note = tmp_path / "ward-note.md"
    note.write_text(
        "# Ward note on cabozantinib\n\nThe median overall survival with cabozantinib was 10.2 months.\n"
    )
    page.set_input_files("#upload-file", str(note))
    page.click("#upload-form button[type=submit]")
    page.wait_for_function("document.querySelector('#upload-status').textContent.startsWith('Added')")
    assert "can be asked about now" in page.inner_text("#upload-status")
    page.fill("#filter", "cabozantinib")
    assert page.locator("#document-list li:visible").count() == 1
    page.click("#tab-ask")
    ask(page, "What was the median overall survival with cabozantinib?")
    assert "10.2 months" in page.inner_text("#answer")
    assert "Ward note on cabozantinib" in page.inner_text("#source-list")


@pytest.fixture(scope="module")
def keyed_server(corpus_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with an API key: reads are open, uploads need the key."""
    yield from web_server(tmp_path_factory.mktemp("web-key"), corpus_index, RAG_API_KEY="s3cret")


def test_with_an_api_key_the_page_asks_for_it_before_an_upload(
    browser: Any, keyed_server: str, tmp_path: Path
) -> None:
    page = browser.new_page()
    page.goto(f"{keyed_server}/")
    page.click("#tab-documents")
    page.wait_for_selector("#document-list li")
    note = tmp_path / "key-note.md"
    note.write_text("# Key note\n\nThe pharmacy dispensed sorafenib 200 mg tablets on Mondays.\n")
    page.set_input_files("#upload-file", str(note))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#key-dialog[open]")  # the server answered 401: the page asks for the key
    page.fill("#api-key", "s3cret")
    page.click("#key-ok")
    page.wait_for_function("document.querySelector('#upload-status').textContent.startsWith('Added')")
    assert page.evaluate("sessionStorage.getItem('rag-api-key')") == "s3cret"
    page.close()


def test_an_uploaded_pdf_is_cited_with_its_section_and_page(page: Any, server: str, tmp_path: Path) -> None:
    page.click("#tab-documents")
    page.set_input_files("#upload-file", str(write_article_pdf(tmp_path / "berg-2019.pdf")))
    page.click("#upload-form button[type=submit]")
    page.wait_for_function("document.querySelector('#upload-status').textContent.startsWith('Added')")
    page.click("#tab-ask")
    question = "How often did hand-foot skin reaction occur with sorafenib after sunitinib failure?"
    expected = httpx.post(f"{server}/ask", json={"question": question}, timeout=30).json()
    (cited,) = [c for c in expected["citations"] if c["title"] == PDF_TITLE]
    assert cited["page_start"] == cited["page_end"] == 2 and cited["section"] == "Results"
    ask(page, question)
    source = page.locator(f"#source-{cited['marker']}")
    assert source.locator(".where").inner_text() == "Results, p. 2"
    page.locator(f"#answer a.marker[data-marker='{cited['marker']}']").first.click()
    assert page.inner_text("#panel-meta .where") == "Results, p. 2"
    assert page.inner_text("#panel-passage mark") == cited["quote"]
