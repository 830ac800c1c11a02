"""Metadata filters: the matching rules (pure functions), the allowed rows and their cache, IVF
with a selective filter, and the API's validation (the fake embedder: fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag.documents import FILE_TYPES, DocumentFacts, file_type
from rag.index import vectors as vectors_module
from rag.index.ids import members, sorted_ids
from rag.index.vectors import FaissVectorIndex, NumpyVectorIndex, allowed_selector, filtered_probes
from rag.ingest.loaders import SUFFIXES
from rag.pipeline import Pipeline
from rag.search.filters import (
    Filters,
    facet_counts,
    file_type_key,
    journal_key,
    names_author,
    section_key,
)
from rag.settings import VectorSettings
from tests.support.app_clients import make_client

BRUIX = "Bruix J, Qin S, Merle P, et al."


def facts(**fields: object) -> DocumentFacts:
    values: dict[str, object] = {
        "doc_row": 1,
        "doc_id": "d",
        "year": 2016,
        "journal": "Anticancer Res",
        "authors": BRUIX,
        "path": "corpus/d.md",
    }
    return DocumentFacts(**{**values, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "authors", "named"),
    [
        ("Bruix", BRUIX, True),
        ("bruix j", BRUIX, True),
        ("J Bruix", BRUIX, True),
        ("Jordi Bruix", BRUIX, True),  # a given name stands for its initial
        ("Merle", BRUIX, True),
        ("Brui", BRUIX, False),  # whole words only
        ("J", BRUIX, False),  # an initial alone names no one
        ("Qin Bruix", BRUIX, False),  # two authors are not one
        ("Bruix Q", BRUIX, False),
        ("Antoniou EA", "Antoniou EA, Koutsounas I", True),
        ("E. A. Antoniou", "Antoniou EA, Koutsounas I", True),
        ("Lee", "Kim, Min-jun; Lee, Ann", True),
        ("Ann Lee", "Kim, Min-jun; Lee, Ann", True),
        ("min-jun kim", "Kim, Min-jun; Lee, Ann", True),
        ("Smith", "Ann Smithson", False),
        ("RESORCE", "The RESORCE Investigators", True),
        ("Bruix", None, False),
    ],
)
def test_an_author_is_named_by_whole_words_of_one_name(value: str, authors: str | None, named: bool) -> None:
    assert names_author(value, authors) is named


def test_compared_forms_of_journals_sections_and_file_types() -> None:
    assert journal_key("J. Surg.  Oncol.") == journal_key("j surg oncol") == "j surg oncol"
    assert section_key("3. Results:") == section_key("RESULTS") == "results"
    assert section_key("II. Methods") == "methods"
    assert (
        file_type_key(".PDF") == "pdf"
        and file_type_key("htm") == "html"
        and file_type_key("markdown") == "md"
    )


def test_file_types_come_from_the_source_file_and_every_loader_suffix_has_one() -> None:
    assert file_type("corpus/trials/berg 2019.PDF") == "pdf"
    assert file_type("corpus/export.jsonl:12") == "jsonl"
    assert file_type("corpus/pubmed.xml:3") == "xml"
    assert file_type("page.xhtml") == "html"
    assert file_type(None) is None and file_type("README") is None
    assert {file_type(f"x{suffix}") for suffix in SUFFIXES} <= set(FILE_TYPES)


def test_a_document_matches_when_every_field_does() -> None:
    assert Filters().matches(facts()) and not Filters().restricts
    assert Filters(year_from=2016, year_to=2016).matches(facts())
    assert not Filters(year_from=2017).matches(facts())
    assert not Filters(year_to=2015).matches(facts())
    assert not Filters(year_from=1900).matches(facts(year=None))  # no year: outside every range
    assert Filters(journals=("anticancer res.", "Lancet")).matches(facts())
    assert not Filters(journals=("Lancet",)).matches(facts())
    assert not Filters(journals=("Lancet",)).matches(facts(journal=None))
    assert Filters(authors=("Nobody", "qin")).matches(facts())
    assert Filters(file_types=("MD",)).matches(facts()) and not Filters(file_types=("pdf",)).matches(facts())
    assert not Filters(year_from=2016, journals=("Lancet",)).matches(facts())
    assert Filters(doc_ids=("d", "e")).matches(facts()) and not Filters(doc_ids=()).matches(facts())


def test_equal_filters_are_equal_and_doc_ids_intersect() -> None:
    assert Filters(journals=("Lancet", "lancet.", "LANCET")) == Filters(journals=("lancet",))
    assert hash(Filters(authors=("Bruix  J",))) == hash(Filters(authors=("bruix j",)))
    assert Filters(doc_ids=("a", "b")).scoped_to(["b", "c"]).doc_ids == ("b",)
    assert Filters().scoped_to(["b", "a"]).doc_ids == ("a", "b")
    assert Filters(doc_ids=("a",)).scoped_to(["c"]).doc_ids == ()  # nothing in common: nothing
    assert Filters(year_from=2016).scoped_to(None) == Filters(year_from=2016)
    assert Filters(sections=("Results",)).allows_section("RESULTS:")
    assert not Filters(sections=("Results",)).allows_section(None)
    assert Filters().allows_section(None)


def test_facets_count_documents_and_merge_spellings_of_a_journal() -> None:
    found = facet_counts(
        [
            facts(journal="Lancet", year=2017),
            facts(journal="The Lancet", year=2017, path="a.pdf"),
            facts(journal="lancet", path="b.pdf"),
            facts(journal=None, year=None, path=None),
        ]
    )
    assert found.years == ((2017, 2), (2016, 1), (None, 1))
    assert found.journals == (("Lancet", 2), ("The Lancet", 1), (None, 1))
    assert found.file_types == (("pdf", 2), ("md", 1), (None, 1))


def test_membership_in_a_sorted_id_set() -> None:
    allowed = sorted_ids({9, 3, 5})
    assert allowed.tolist() == [3, 5, 9]
    assert members(np.array([1, 3, 4, 9, 10]), allowed).tolist() == [False, True, False, True, False]
    assert members(np.array([1]), sorted_ids([])).tolist() == [False]


@pytest.mark.parametrize("spread", [1, 10**9], ids=["bitmap", "hash-set"])
def test_the_faiss_selector_lets_through_exactly_the_allowed_ids(spread: int) -> None:
    ids = np.array([0, 3, 8, 9, 15, 16, 17, 63, 64, 200 * spread], dtype=np.int64)
    selector, bitmap = allowed_selector(ids)
    assert (bitmap is None) is (spread > 1)
    probe = sorted({*range(300), 200 * spread - 1, 200 * spread, 200 * spread + 1, 10**12})
    assert [i for i in probe if selector.is_member(i)] == ids.tolist()


def test_a_selective_filter_probes_more_ivf_lists() -> None:
    assert filtered_probes(8, 100, 10_000, 10_000) == 8  # unfiltered: as configured
    assert filtered_probes(8, 100, 10_000, 5_000) == 16  # half the rows: twice the lists
    assert filtered_probes(8, 100, 10_000, 50) == 100  # very few: every list


def test_a_selective_filter_on_ivf_finds_what_exact_search_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """One list probed of 8: without more probes a filter on one cluster's far side would miss."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(8, 16)).astype(np.float32)
    data = np.repeat(centres, 100, axis=0) + 0.05 * rng.normal(size=(800, 16)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    ids = np.arange(800, dtype=np.int64)
    ivf = FaissVectorIndex.empty(16)
    ivf.add(ids, data)
    ivf = ivf.fitted(VectorSettings(type="ivf", nlist=8, nprobe=1))
    assert ivf.describe()["structure"] == "ivf" and ivf.describe()["nprobe"] == 1
    reference = NumpyVectorIndex(16)
    reference.add(ids, data)
    monkeypatch.setattr(vectors_module, "EXACT_FILTER_LIMIT", 0)  # through the lists, not exact scoring
    allowed = set(range(700, 800, 2))  # 50 rows, all of the last cluster
    query = centres[0] / np.linalg.norm(centres[0])  # nearest the first cluster: its list is probed
    assert [i for i, _ in ivf.search(query, 5)] == [i for i, _ in reference.search(query, 5)]
    assert [i for i, _ in ivf.search(query, 5, allowed)] == [
        i for i, _ in reference.search(query, 5, allowed)
    ]
    assert len(ivf.search(query, 5, allowed)) == 5


# --- the allowed rows of a real (fake-embedder) index -------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> tuple[TestClient, Pipeline]:
    return make_client(tmp_path)


def test_the_allowed_rows_are_cached_per_generation(client: tuple[TestClient, Pipeline]) -> None:
    test_client, pipeline = client
    filters = Filters(year_from=2017)
    assert pipeline.searcher.allowed(pipeline.index, filters) is not None
    assert len(pipeline.searcher.allowed(pipeline.index, filters)) == 0  # the one document has no year
    first = pipeline.searcher.allowed(pipeline.index, Filters(file_types=("md",)))
    again = pipeline.searcher.allowed(pipeline.index, Filters(file_types=(".MD",)))
    assert first is again  # an equal filter: the cached rows
    paper = {
        "title": "Regorafenib after sorafenib",
        "text": "Regorafenib improved survival. " * 5,
        "year": 2017,
    }
    assert test_client.post("/documents", json=paper).status_code == 200
    rows = pipeline.searcher.allowed(pipeline.index, filters)  # a new generation: read again
    assert rows is not None and len(rows) >= 1
    assert {p.doc_id for p in pipeline.search("regorafenib survival", 5, filters=filters)} == {
        d.doc_id for d in pipeline.documents(10)[0] if d.year == 2017
    }


def test_unknown_fields_and_reversed_years_are_422_naming_them(client: tuple[TestClient, Pipeline]) -> None:
    test_client, _ = client
    message = {"messages": [{"role": "user", "content": "sorafenib dose?"}]}
    for path, body in (
        ("/ask", {"question": "sorafenib dose?"}),
        ("/ask/stream", {"question": "sorafenib dose?"}),
        ("/search", {"query": "sorafenib dose"}),
        ("/v1/chat/completions", message),
    ):
        response = test_client.post(path, json={**body, "filters": {"year": 2016, "journal": "x"}})
        assert response.status_code == 422, path
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"filters.year", "filters.journal"}, path
        assert "filters.year" in response.json()["detail"]
        reversed_years = test_client.post(
            path, json={**body, "filters": {"year_from": 2018, "year_to": 2016}}
        )
        assert reversed_years.status_code == 422
        assert "year_from (2018) is after year_to (2016)" in reversed_years.json()["detail"]
    too_many = test_client.post("/search", json={"query": "x", "filters": {"journals": ["j"] * 101}})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "filters.journals"
    docx = test_client.post("/search", json={"query": "x", "filters": {"file_types": ["docx"]}})
    assert docx.status_code == 422 and "unknown file type 'docx'" in docx.json()["detail"]


def test_unknown_doc_ids_in_filters_are_404_and_an_empty_match_declines(
    client: tuple[TestClient, Pipeline],
) -> None:
    test_client, pipeline = client
    (known,) = [d.doc_id for d in pipeline.documents(10)[0]]
    for path, body in (("/ask", {"question": "sorafenib dose?"}), ("/search", {"query": "sorafenib"})):
        response = test_client.post(path, json={**body, "filters": {"doc_ids": [known, "nope"]}})
        assert response.status_code == 404 and "nope" in response.json()["detail"]
        both = test_client.post(path, json={**body, "doc_ids": ["other"], "filters": {"doc_ids": [known]}})
        assert both.status_code == 404 and "other" in both.json()["detail"]
    stream = test_client.post("/ask/stream", json={"question": "dose?", "filters": {"doc_ids": ["nope"]}})
    assert stream.status_code == 404

    nothing = {"year_from": 2020}  # the one document has no year
    assert test_client.post("/search", json={"query": "sorafenib", "filters": nothing}).json() == {
        "results": [],
        "resolved_query": None,
    }
    answer = test_client.post("/ask", json={"question": "What dose of sorafenib?", "filters": nothing}).json()
    assert answer["abstained"] is True and answer["citations"] == []
    assert answer["reason"] == "no document matches the filters"
    assert answer["answer"].startswith("No document matches the filters (year 2020")
    events = test_client.post("/ask/stream", json={"question": "What dose?", "filters": nothing}).text
    assert "event: citations\ndata: []" in events and '"abstained": true' in events
    chat = test_client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "What dose of sorafenib?"}], "filters": nothing},
    ).json()
    assert chat["choices"][0]["message"]["abstained"] is True
    unfiltered = test_client.post("/ask", json={"question": "What dose of sorafenib was given?"}).json()
    assert unfiltered["abstained"] is False  # the filter, not the question, made it decline


def test_facets_count_the_documents(client: tuple[TestClient, Pipeline]) -> None:
    test_client, _ = client
    paper = {
        "title": "Regorafenib",
        "text": "Regorafenib improved survival. " * 5,
        "year": 2017,
        "journal": "Lancet",
    }
    assert test_client.post("/documents", json=paper).status_code == 200
    facets = test_client.get("/facets").json()
    assert facets["documents"] == 2
    assert facets["years"] == [{"value": 2017, "count": 1}, {"value": None, "count": 1}]
    assert facets["journals"] == [{"value": "Lancet", "count": 1}, {"value": None, "count": 1}]
    assert facets["file_types"] == [{"value": "md", "count": 2}]  # a JSON document is stored as Markdown
