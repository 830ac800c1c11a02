"""The web page in a real browser (Debian's Chromium, driven by Playwright) against a real server."""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CORPUS, QUESTION
from tests.support.citations import parse_bibtex, parse_ris
from tests.support.document_fixtures import PDF_TITLE, write_article_pdf
from tests.support.servers import running_server

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


def chromium_context(profile: Path) -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright, with its profile in `profile`."""
    browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 860},
        )
        yield context
        context.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from chromium_context(tmp_path_factory.mktemp("chromium-profile"))


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


def test_export_sources_downloads_the_cited_documents_references(page: Any, server: str) -> None:
    expected = httpx.post(f"{server}/ask", json={"question": TWO_PARTS}, timeout=30).json()
    cited = list(dict.fromkeys(c["doc_id"] for c in expected["citations"]))
    titles = {
        d["doc_id"]: d["title"] for d in httpx.get(f"{server}/documents?limit=1000").json()["documents"]
    }
    ask(page, TWO_PARTS)
    assert page.is_visible("#export-bibtex")
    with page.expect_download() as bibtex_download:
        page.click("#export-bibtex")
    bibtex = bibtex_download.value
    assert bibtex.suggested_filename == "references.bib"
    entries = parse_bibtex(Path(bibtex.path()).read_text(encoding="utf-8"))
    assert [e.fields["title"] for e in entries] == [titles[d].removesuffix(".") for d in cited]
    with page.expect_download() as ris_download:
        page.click("#export-ris")
    assert ris_download.value.suggested_filename == "references.ris"
    records = parse_ris(Path(ris_download.value.path()).read_text(encoding="utf-8"))
    assert [r["title"] for r in records] == [titles[d].removesuffix(".") for d in cited]
    noun = "reference" if len(cited) == 1 else "references"
    assert page.inner_text("#export-status") == f"Exported {len(cited)} {noun} as RIS (references.ris)."


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
    shown = page.locator("#document-list li:visible")
    # The list is fetched again once the upload is added; under load that lands a moment later.
    shown.filter(has_text="Ward note on cabozantinib").wait_for(timeout=30_000)
    assert shown.count() == 1
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


@contextlib.contextmanager
def watched_page(browser: Any, url: str) -> Iterator[Any]:
    """A page of `url` that must log no script or console errors (as the `page` fixture)."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(url)
    yield page
    page.close()
    assert problems == [], problems


@contextlib.contextmanager
def other_origin(html: str) -> Iterator[str]:
    """Another web site on another loopback port: it serves `html` at every path."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}"
    finally:
        site.shutdown()
        site.server_close()
        thread.join(timeout=10)


ATTACK_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Free recipes</title></head>
<body>
<form id="attack" method="post" enctype="multipart/form-data" action="SERVICE/documents">
  <input type="file" name="file" id="attack-file">
</form>
<script>
const note = (fact) => `# Planted note\\n\\nThe ${fact} was approved for every indication in 2031.\\n`;
// A no-cors fetch: the browser sends it to any address and only hides the response.
async function fetchAttack() {
  const form = new FormData();
  form.append("file", new File([note("glorbazumab")], "planted.md", { type: "text/markdown" }));
  const response = await fetch("SERVICE/documents", { method: "POST", mode: "no-cors", body: form });
  return response.type;
}
// A plain HTML form post with a file set from script: it navigates to the service's answer.
function formAttack() {
  const files = new DataTransfer();
  files.items.add(new File([note("snurfimab")], "planted2.md", { type: "text/markdown" }));
  document.getElementById("attack-file").files = files.files;
  document.getElementById("attack").submit();
}
</script>
</body></html>
"""


def index_contents(server: str) -> tuple[int, list[str]]:
    """The document count of /stats and the ids of /documents, read without an Origin header."""
    documents = httpx.get(f"{server}/stats", timeout=30).json()["documents"]
    listed = httpx.get(f"{server}/documents", params={"limit": 1000}, timeout=30).json()["documents"]
    return documents, sorted(doc["doc_id"] for doc in listed)


def test_a_page_of_another_origin_cannot_add_documents(browser: Any, page: Any, server: str) -> None:
    before = index_contents(server)
    assert before[0] == len(before[1])
    with other_origin(ATTACK_PAGE.replace("SERVICE", server)) as attacker:
        assert attacker != server
        evil = browser.new_page()  # it logs the refusals as console errors: not the `page` fixture
        try:
            evil.goto(f"{attacker}/")
            with evil.expect_response(lambda r: r.url == f"{server}/documents") as fetched:
                assert evil.evaluate("fetchAttack()") == "opaque"  # sent; the page may not read the answer
            assert fetched.value.status == 403  # no API key is configured: refused as cross-site
            with evil.expect_navigation(url=f"{server}/documents") as navigation:
                evil.evaluate("formAttack()")
            refused = navigation.value
            assert refused.request.method == "POST" and refused.request.all_headers()["origin"] == attacker
            assert refused.status == 403
            assert "cross-site request refused" in refused.text()
        finally:
            evil.close()
    after = index_contents(server)
    assert after == before
    assert not [doc_id for doc_id in after[1] if "planted" in doc_id]
    # The service's own page still adds documents.
    sent = page.evaluate(
        """async () => {
            const form = new FormData();
            const text = "# Own note\\n\\nThe plimorafenib dose was 75 mg twice daily.\\n";
            form.append("file", new File([text], "own-note.md", { type: "text/markdown" }));
            const response = await fetch("/documents", { method: "POST", body: form });
            return { status: response.status, body: await response.json() };
        }"""
    )
    assert sent["status"] == 200, sent
    (added,) = sent["body"]["added"]
    assert index_contents(server) == (before[0] + 1, sorted([*before[1], added]))
    assert httpx.delete(f"{server}/documents/{added}", timeout=60).status_code == 200
    assert index_contents(server) == before


def test_the_api_docs_render_with_the_network_blocked(browser: Any, server: str) -> None:
    elsewhere: list[str] = []

    def only_the_service(route: Any) -> None:
        if route.request.url.startswith(f"{server}/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    docs = browser.new_page()
    try:
        docs.route("**/*", only_the_service)
        docs.goto(f"{server}/docs")
        docs.wait_for_selector(".opblock", timeout=60_000)  # Swagger UI: one block per operation
        assert docs.locator(".opblock").count() >= 10
        assert "/ask" in docs.locator(".opblock-summary-path").all_inner_texts()
        docs.wait_for_load_state("networkidle")
    finally:
        docs.close()
    assert elsewhere == []
    # ReDoc is not served: its script fetches a logo from Redocly's CDN.
    assert httpx.get(f"{server}/redoc", timeout=30).status_code == 404


@pytest.fixture(scope="module")
def jobs_server(corpus_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that answers every write 202 at once, with a job to poll."""
    yield from web_server(tmp_path_factory.mktemp("web-jobs"), corpus_index, RAG_WRITE_WAIT_S="0")


def test_an_upload_answered_with_a_job_is_followed_until_it_is_done(
    browser: Any, jobs_server: str, tmp_path: Path
) -> None:
    note = tmp_path / "job-note.md"
    note.write_text("# Job note on vexatrelin\n\nThe vexatrelin infusion lasted 45 minutes.\n")
    with watched_page(browser, f"{jobs_server}/") as page:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.click("#tab-documents")
        page.wait_for_selector("#document-list li")
        page.set_input_files("#upload-file", str(note))
        with page.expect_response(lambda r: r.url == f"{jobs_server}/documents") as posted:
            page.click("#upload-form button[type=submit]")
        assert posted.value.status == 202
        job = posted.value.json()
        assert job["status_url"] == f"/jobs/{job['job_id']}" and job["files"] == ["job-note.md"]
        running = page.wait_for_function(  # the bar and the job's state, shown while it runs
            "!document.querySelector('#upload-progress').hidden"
            " && document.querySelector('#upload-status').textContent"
        ).json_value()
        assert "job-note.md" in running and not running.startswith("Added"), running
        page.wait_for_function(
            "document.querySelector('#upload-status').textContent.startsWith('Added')", timeout=60_000
        )
        assert f"{jobs_server}/jobs/{job['job_id']}" in requested
        status = page.inner_text("#upload-status")
        assert status.endswith(": it can be asked about now.")
        assert page.is_hidden("#upload-progress")
        page.fill("#filter", "vexatrelin")
        shown = page.locator("#document-list li:visible")
        # The list is fetched again once the job is done; under load that lands a moment later.
        shown.filter(has_text="Job note on vexatrelin").wait_for(timeout=30_000)
        assert shown.count() == 1 and "Job note on vexatrelin" in shown.inner_text()
        (added,) = status.removeprefix("Added ").removesuffix(": it can be asked about now.").split(", ")
        assert added in shown.inner_text()


@pytest.fixture(scope="module")
def sources_server(corpus_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from web_server(tmp_path_factory.mktemp("web-sources"), corpus_index)


# doc_id, title, text, source, a question it answers.
SOURCED = [
    (
        "zorvatinib-note",
        "Zorvatinib in refractory gastric cancer",
        "In the open-label KESTREL-4 study, 58 patients with refractory gastric cancer took zorvatinib "
        "140 mg once daily. The objective response rate with zorvatinib was 31%.",
        "javascript:alert(3)",
        "What was the objective response rate with zorvatinib?",
    ),
    (
        "quelimab-note",
        "Quelimab in pleural mesothelioma",
        "Quelimab was given at 8 mg/kg every three weeks to 112 patients with pleural mesothelioma. "
        "The median overall survival with quelimab was 21.3 months.",
        "CancerIndex.org, Sorafenib (Nexavar): notes",
        "What was the median overall survival with quelimab?",
    ),
    (
        "frondasertib-note",
        "Frondasertib in desmoid tumours",
        "Frondasertib 60 mg twice daily was studied in 24 adults with desmoid tumours. "
        "After six months, frondasertib shrank the tumour volume by 42%.",
        "https://example.org/paper",
        "By how much did frondasertib shrink the tumour volume?",
    ),
]


def test_only_web_addresses_become_links_in_the_source_panel(browser: Any, sources_server: str) -> None:
    for doc_id, title, text, source, question in SOURCED:
        document = {"doc_id": doc_id, "title": title, "text": text, "source": source}
        written = httpx.post(f"{sources_server}/documents", json=document, timeout=60)
        assert written.status_code == 200 and written.json()["added"] == [doc_id], written.text
        expected = httpx.post(f"{sources_server}/ask", json={"question": question}, timeout=60).json()
        assert not expected["abstained"], expected
        assert expected["citations"][0]["marker"] == 1 and expected["citations"][0]["doc_id"] == doc_id
    with watched_page(browser, f"{sources_server}/") as page:
        dialogs: list[str] = []

        def dismiss(dialog: Any) -> None:  # an alert would mean the source ran as script
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", dismiss)
        page.wait_for_selector("#examples li")
        for _doc_id, title, _text, source, question in SOURCED:
            ask(page, question)
            page.locator("#answer a.marker[data-marker='1']").first.click()
            assert title in page.inner_text("#panel-title")
            link = page.locator("#panel-link")
            if source.startswith("https://"):
                assert link.locator("a").count() == 1
                assert link.locator("a").get_attribute("href") == source
                assert link.inner_text() == source
            else:
                assert link.locator("a").count() == 0
                assert link.inner_text() == source
            page.click("#panel-link")  # clicking the text runs nothing
        assert dialogs == []


@pytest.mark.parametrize("question", [QUESTION, TWO_PARTS], ids=["one-citation", "two-citations"])
def test_the_tip_of_the_open_citation_does_not_cover_the_panel(page: Any, question: str) -> None:
    ask(page, question)
    markers = page.locator("#answer a.marker")
    opened = markers.first
    opened.hover()
    assert opened.locator(".tip").is_visible()  # before the click, the tip shows on hover
    opened.click()
    assert page.is_visible("#panel")
    opened.hover()
    assert not opened.locator(".tip").is_visible()
    number = opened.get_attribute("data-marker")
    others = page.locator(f"#answer a.marker:not([data-marker='{number}'])")
    if question == TWO_PARTS:  # its answer cites two passages
        assert others.count() >= 1
    if others.count():
        others.first.hover()
        assert others.first.locator(".tip").is_visible()
        assert not opened.locator(".tip").is_visible()


def test_not_found_in_the_corpus_states_its_reason_once(page: Any, server: str) -> None:
    expected = httpx.post(f"{server}/ask", json={"question": UNANSWERABLE}, timeout=60).json()
    assert expected["abstained"]
    reason = expected["answer"][expected["answer"].index("The documents do not mention") :]
    ask(page, UNANSWERABLE)
    shown = page.inner_text("#abstained-reason")
    assert shown == expected["answer"]
    assert shown.count(reason) == 1
    assert shown.count("The documents do not mention") == 1


def test_a_follow_up_is_read_against_the_conversation_until_a_new_one(page: Any) -> None:
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/ask/stream") else None)
    ask(page, QUESTION)
    assert page.is_hidden("#conversation") and page.is_hidden("#read-as")
    ask(page, "And how many patients were enrolled?")
    (turn,) = bodies[-1]["history"]
    assert turn["question"] == QUESTION and turn["answer"].startswith("The median PFS was 4.4 months")
    assert turn["doc_ids"] == ["sorafenib-mrcc-refractory-bevacizumab-sunitinib"]
    assert "Forty-eight" in page.inner_text("#answer")
    assert "1 earlier question" in page.inner_text("#conversation")
    assert "sorafenib" in page.inner_text("#read-as") and "enrolled" in page.inner_text("#read-as")
    page.click("#new-conversation")
    assert page.is_hidden("#conversation")
    ask(page, "And how many patients were enrolled?")
    assert bodies[-1]["history"] == [] and page.is_hidden("#read-as")
