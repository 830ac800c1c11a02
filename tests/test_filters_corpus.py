"""Metadata filters on the shipped corpus with the real model: every citation and search result
satisfies the filter (checked against the stored documents), a filter that excludes the answer's
paper declines or answers from an allowed one, the same on an IVF index probing one list, and
MCP's `ask` cites what /ask cites with the same filters."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from mcp import Client

from api.mcp_server import build_server
from api.metrics import ServiceMetrics
from api.state import ServiceState
from rag.documents import Document
from rag.embed import Embedder
from rag.index import vectors as vectors_module
from rag.pipeline import Pipeline
from rag.search.filters import Filters
from rag.settings import Settings, VectorSettings
from tests.conftest import CORPUS, GOLD, QUESTION

pytestmark = pytest.mark.integration
ANSWER_PAPER = "sorafenib-mrcc-refractory-bevacizumab-sunitinib"  # QUESTION's answer: 2010, Cancer
FILTERS: list[dict[str, Any]] = [
    {"year_from": 2017},
    {"year_to": 2010},
    {"year_from": 2016, "year_to": 2016, "journals": ["anticancer res"]},
    {"journals": ["BIOMED PHARMACOTHER", "Lancet"]},
    {"authors": ["Bruix", "lee jm"]},
    {"sections": ["Results"]},
    {"file_types": ["md"], "year_from": 2017, "sections": ["conclusions", "CONCLUSION"]},
    {"doc_ids": ["kuzuya-2016-fever-within-2-weeks", ANSWER_PAPER], "year_from": 2016},
]


def questions(count: int = 6) -> list[str]:
    """QUESTION and the first answerable gold questions."""
    with GOLD.open(encoding="utf-8") as handle:
        gold = [json.loads(line) for line in handle if line.strip()]
    return [QUESTION, *[g["question"] for g in gold if g["doc_ids"]][: count - 1]]


def gold_question(doc_id: str) -> str:
    with GOLD.open(encoding="utf-8") as handle:
        return next(g["question"] for g in map(json.loads, handle) if g["doc_ids"] == [doc_id])


def satisfies(document: Document, filters: dict[str, Any]) -> bool:
    """The filter's rules, written out plainly against a stored document (not the library's code)."""
    year = document.year
    if "year_from" in filters and (year is None or year < filters["year_from"]):
        return False
    if "year_to" in filters and (year is None or year > filters["year_to"]):
        return False
    if "journals" in filters and (document.journal or "").lower() not in {
        j.lower() for j in filters["journals"]
    }:
        return False
    authors = [" ".join(a.lower().split()) for a in re.split(r",|;", document.authors or "")]
    if "authors" in filters and not any(
        author == wanted.lower() or author.split()[:1] == [wanted.lower()]
        for author in authors
        if author
        for wanted in filters["authors"]
    ):
        return False
    if "file_types" in filters and not (document.path or "").lower().endswith(
        tuple(f".{t}" for t in filters["file_types"])
    ):
        return False
    return "doc_ids" not in filters or document.doc_id in filters["doc_ids"]


def in_sections(section: str | None, filters: dict[str, Any]) -> bool:
    return "sections" not in filters or (section or "").lower() in {s.lower() for s in filters["sections"]}


@pytest.mark.parametrize("filters", FILTERS, ids=",".join)
def test_every_citation_and_search_result_satisfies_the_filter(
    client: TestClient, pipeline: Pipeline, filters: dict[str, Any]
) -> None:
    answered = 0
    for question in questions():
        answer = client.post("/ask", json={"question": question, "filters": filters}).json()
        for citation in answer["citations"]:
            assert satisfies(pipeline.document(citation["doc_id"]), filters), (question, citation["doc_id"])
            assert in_sections(citation["section"], filters), (question, citation["section"])
        answered += not answer["abstained"]
        results = client.post("/search", json={"query": question, "top_k": 10, "filters": filters}).json()
        assert results["results"], question  # every filter here matches some document
        for result in results["results"]:
            assert satisfies(pipeline.document(result["doc_id"]), filters), (question, result["doc_id"])
    assert answered >= 1  # filtered answers are still given, not only declined


def test_the_sections_filter_holds_for_every_retrieved_passage(pipeline: Pipeline) -> None:
    for question in questions():
        for passage in pipeline.search(question, 10, filters=Filters(sections=("RESULTS",))):
            assert "results" in {(name or "").lower() for _, name in passage.sections}


@pytest.mark.parametrize(
    "excluding",
    [
        {"year_from": 2016},
        {"journals": ["Lancet", "Blood"]},
        {"doc_ids": ["kuzuya-2016-fever-within-2-weeks"]},
    ],
    ids=",".join,
)
def test_a_filter_excluding_the_answers_paper_declines_or_answers_from_an_allowed_one(
    client: TestClient, pipeline: Pipeline, excluding: dict[str, Any]
) -> None:
    unfiltered = client.post("/ask", json={"question": QUESTION}).json()
    assert {c["doc_id"] for c in unfiltered["citations"]} == {ANSWER_PAPER}
    answer = client.post("/ask", json={"question": QUESTION, "filters": excluding}).json()
    cited = {c["doc_id"] for c in answer["citations"]}
    assert ANSWER_PAPER not in cited and "4.4 months" not in answer["answer"]
    assert answer["abstained"] or cited
    assert all(satisfies(pipeline.document(doc_id), excluding) for doc_id in cited)


def test_the_top_level_doc_ids_and_the_filters_doc_ids_intersect(client: TestClient) -> None:
    body = {"question": QUESTION, "doc_ids": [ANSWER_PAPER, "kuzuya-2016-fever-within-2-weeks"]}
    both = client.post("/ask", json={**body, "filters": {"doc_ids": [ANSWER_PAPER]}}).json()
    assert {c["doc_id"] for c in both["citations"]} == {ANSWER_PAPER} and "4.4 months" in both["answer"]
    apart = client.post("/ask", json={**body, "filters": {"year_from": 2016}}).json()
    assert ANSWER_PAPER not in {c["doc_id"] for c in apart["citations"]}


def test_a_follow_up_and_a_streamed_answer_keep_to_the_filter(client: TestClient, pipeline: Pipeline) -> None:
    excluding = {"year_from": 2016}
    earlier = client.post("/ask", json={"question": QUESTION}).json()
    turn = {"question": QUESTION, "answer": earlier["answer"], "doc_ids": [ANSWER_PAPER]}
    body: dict[str, Any] = {"question": "How many patients were enrolled?", "history": [turn]}
    unfiltered = client.post("/ask", json=body).json()
    assert {c["doc_id"] for c in unfiltered["citations"]} == {ANSWER_PAPER}  # read against the turn
    follow_up = client.post("/ask", json={**body, "filters": excluding}).json()
    assert ANSWER_PAPER not in {c["doc_id"] for c in follow_up["citations"]}
    assert all(satisfies(pipeline.document(c["doc_id"]), excluding) for c in follow_up["citations"])

    stream = client.post("/ask/stream", json={"question": QUESTION, "filters": excluding}).text
    events = {
        block.split("\n")[0].removeprefix("event: "): json.loads(block.split("\n")[1].removeprefix("data: "))
        for block in stream.strip().split("\n\n")
        if block.startswith(("event: citations", "event: final"))
    }
    assert events["citations"] and all(
        satisfies(pipeline.document(p["doc_id"]), excluding) for p in events["citations"]
    )
    assert events["final"] == client.post(
        "/ask", json={"question": QUESTION, "filters": excluding}
    ).json() | {"timings_ms": events["final"]["timings_ms"]}


@pytest.fixture(scope="module")
def ivf_pipeline(
    corpus_index: Path, real_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """The corpus index restructured as IVF searching one list of two (nothing is embedded again;
    the corpus's chunks train two lists at most)."""
    index_dir = tmp_path_factory.mktemp("ivf") / "index"
    shutil.copytree(corpus_index, index_dir)
    one_list = VectorSettings(type="ivf", nlist=2, nprobe=1)
    loaded = Pipeline(Settings(corpus_dir=CORPUS, index_dir=index_dir, vectors=one_list), real_embedder, None)
    loaded.ingest()
    described = loaded.index.vectors.describe()
    assert described["structure"] == "ivf" and described["nprobe"] == 1 and described["nlist"] == 2
    yield loaded
    loaded.close()


@pytest.mark.parametrize("through_lists", [False, True], ids=["exact-scoring", "id-selector"])
@pytest.mark.parametrize("filters", [FILTERS[1], FILTERS[3], FILTERS[4]], ids=",".join)
def test_on_an_ivf_index_a_selective_filter_finds_what_flat_search_finds(
    ivf_pipeline: Pipeline,
    pipeline: Pipeline,
    filters: dict[str, Any],
    through_lists: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if through_lists:  # past the exact-scoring limit: the lists are searched with an id selector
        monkeypatch.setattr(vectors_module, "EXACT_FILTER_LIMIT", 0)
    library = Filters(**{k: tuple(v) if isinstance(v, list) else v for k, v in filters.items()})
    for question in questions():
        found = ivf_pipeline.search(question, 5, filters=library, mode="dense")
        assert [p.row_id for p in found] == [
            p.row_id for p in pipeline.search(question, 5, filters=library, mode="dense")
        ]
        allowed = pipeline.searcher.allowed(pipeline.index, library)
        assert allowed is not None and len(found) == min(5, len(allowed))
        answer = ivf_pipeline.ask(question, filters=library)
        assert all(satisfies(ivf_pipeline.document(c.passage.doc_id), filters) for c in answer.citations)
        assert answer.answer == pipeline.ask(question, filters=library).answer


def test_mcp_ask_and_search_with_filters_cite_what_the_http_api_does(
    client: TestClient, pipeline: Pipeline
) -> None:
    filters = {
        "year_from": 2016,
        "journals": ["Anticancer Res", "BMC Gastroenterol"],
        "sections": ["results"],
    }
    question = gold_question("hatooka-2016-comparison-outcome-hepatic-arterial")  # Anticancer Res, 2016
    over_http = client.post("/ask", json={"question": question, "filters": filters}).json()
    searched_http = client.post("/search", json={"query": question, "top_k": 4, "filters": filters}).json()
    assert over_http["citations"] and not over_http["abstained"]
    server = build_server(lambda: pipeline, ServiceMetrics(ServiceState(pipeline=pipeline, phase="ready")))
    results: dict[str, Any] = {}

    async def main() -> None:
        async with Client(server) as session:
            asked = await session.call_tool("ask", {"question": question, "filters": filters})
            searched = await session.call_tool("search", {"query": question, "top_k": 4, "filters": filters})
            unknown = await session.call_tool("ask", {"question": question, "filters": {"journal": "Lancet"}})
            results.update(ask=asked.structured_content, search=searched.structured_content, unknown=unknown)

    anyio.run(main)
    assert results["ask"]["citations"] == over_http["citations"]
    assert results["ask"]["answer"] == over_http["answer"]
    assert results["search"] == searched_http
    assert results["unknown"].is_error and "journal" in str(results["unknown"].content)
