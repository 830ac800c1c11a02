"""GET /documents/{doc_id}/cite and GET /cite: the shipped corpus exported through HTTP and read
back with bibtexparser, rispy and json; errors; the API key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.limits import MAX_CITE_DOCUMENTS
from tests.support.app_clients import AUTH, KEY, make_client
from tests.support.citations import parse_bibtex, parse_ris

MEDLINE_AUTHOR = re.compile(r"(?P<family>\S.*) (?P<initials>[A-Z]{1,3})")


@pytest.fixture(scope="module")
def stored(client: TestClient) -> list[dict[str, Any]]:
    """Every document of the shipped corpus, as GET /documents/{doc_id} gives it."""
    listed = client.get("/documents", params={"limit": 1000}).json()["documents"]
    return [client.get(f"/documents/{d['doc_id']}").json() for d in listed]


def expected_title(document: dict[str, Any]) -> str:
    title = " ".join(document["title"].split())
    return title.removesuffix(".")  # a closing period is the style's to add


def expected_authors(document: dict[str, Any]) -> tuple[list[tuple[str, str]], bool]:
    """(family name, initials) of each author as the corpus stores them ("Antoniou EA, Koutsounas
    I, et al."), and whether the list ends in "et al."."""
    if not document["authors"]:
        return [], False
    parts = document["authors"].split(", ")
    et_al = parts[-1] == "et al."
    names = [MEDLINE_AUTHOR.fullmatch(part) for part in parts[: -1 if et_al else None]]
    assert all(names), document["authors"]  # the corpus's own format: the test reads nothing else
    return [(m["family"], m["initials"]) for m in names if m], et_al


def letters(initials: str) -> str:
    return initials.replace(".", "").replace(" ", "")


@pytest.mark.integration
def test_the_corpus_as_bibtex_reads_back_with_its_metadata(
    client: TestClient, stored: list[dict[str, Any]]
) -> None:
    response = client.get("/cite", params={"doc_ids": [d["doc_id"] for d in stored], "format": "bibtex"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-bibtex; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="references.bib"'
    entries = parse_bibtex(response.text)
    assert len(entries) == len(stored) == 34
    assert len({e.key for e in entries}) == len(entries)
    for entry, document in zip(entries, stored, strict=True):
        assert re.fullmatch(r"[a-z][a-z0-9-]*", entry.key)
        assert entry.entry_type == ("article" if document["journal"] else "misc")
        assert entry.fields["title"] == expected_title(document)
        assert entry.fields.get("journal") == document["journal"]
        assert entry.fields.get("year") == (str(document["year"]) if document["year"] else None)
        names, et_al = expected_authors(document)
        got = [(a.last, letters(a.first)) for a in entry.authors]
        assert got == names + ([("others", "")] if et_al else []), document["doc_id"]
    first = next(e for e, d in zip(entries, stored, strict=True) if d["doc_id"].startswith("antoniou-2016"))
    # From its `citation` field "In Vivo. 2016; 09-10; 30(5):677-80".
    assert (first.fields["volume"], first.fields["number"], first.fields["pages"]) == ("30", "5", "677–680")


@pytest.mark.integration
def test_the_corpus_as_ris_reads_back_with_its_metadata(
    client: TestClient, stored: list[dict[str, Any]]
) -> None:
    response = client.get("/cite", params={"doc_ids": [d["doc_id"] for d in stored], "format": "ris"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-research-info-systems; charset=utf-8"
    records = parse_ris(response.text)
    assert len(records) == len(stored)
    for record, document in zip(records, stored, strict=True):
        assert record["type_of_reference"] == ("JOUR" if document["journal"] else "GEN")
        assert record["title"] == expected_title(document)
        assert record.get("secondary_title") == document["journal"]
        assert record.get("year") == (str(document["year"]) if document["year"] else None)
        names, _ = expected_authors(document)
        got = [tuple(author.split(", ")) for author in record.get("authors", [])]
        assert [(family, letters(given)) for family, given in got] == names


@pytest.mark.integration
def test_the_corpus_as_csl_json_has_the_required_fields(
    client: TestClient, stored: list[dict[str, Any]]
) -> None:
    response = client.get("/cite", params={"doc_ids": [d["doc_id"] for d in stored], "format": "csl-json"})
    assert response.headers["content-type"] == "application/vnd.citationstyles.csl+json; charset=utf-8"
    items = json.loads(response.text)
    assert len(items) == len(stored)
    for item, document in zip(items, stored, strict=True):
        assert {"id", "type", "title"} <= set(item)
        assert item["title"] == expected_title(document)
        assert item.get("container-title") == document["journal"]
        if document["year"]:
            assert item["issued"] == {"date-parts": [[document["year"]]]}
        names, _ = expected_authors(document)
        assert [(a["family"], letters(a["given"])) for a in item.get("author", [])] == names


@pytest.mark.integration
def test_one_document_in_each_format(client: TestClient, stored: list[dict[str, Any]]) -> None:
    document = stored[0]
    readers: dict[str, tuple[str, Any]] = {
        "bibtex": (".bib", parse_bibtex),
        "ris": (".ris", parse_ris),
        "csl-json": (".json", json.loads),
    }
    for name, (suffix, read) in readers.items():
        response = client.get(f"/documents/{document['doc_id']}/cite", params={"format": name})
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        assert disposition == f'attachment; filename="{document["doc_id"]}{suffix}"'
        assert len(read(response.text)) == 1
    # BibTeX is the default.
    assert client.get(f"/documents/{document['doc_id']}/cite").text.startswith("@article{antoniou2016")


@pytest.mark.integration
def test_unknown_documents_and_formats_are_named(client: TestClient, stored: list[dict[str, Any]]) -> None:
    known = stored[0]["doc_id"]
    missing = client.get("/documents/no-such-paper/cite")
    assert missing.status_code == 404 and "no-such-paper" in missing.json()["detail"]
    several = client.get("/cite", params={"doc_ids": [known, "gone-1", "gone-2"]})
    assert several.status_code == 404
    assert "gone-1" in several.json()["detail"] and "gone-2" in several.json()["detail"]
    for path, params in ((f"/documents/{known}/cite", {}), ("/cite", {"doc_ids": [known]})):
        wrong = client.get(path, params={**params, "format": "endnote-xml"})
        assert wrong.status_code == 422
        assert "'endnote-xml'" in wrong.json()["detail"] and "bibtex" in wrong.json()["detail"]
        assert wrong.json()["errors"][0]["field"] == "query.format"
    too_many = client.get("/cite", params={"doc_ids": [known] * (MAX_CITE_DOCUMENTS + 1)})
    assert too_many.status_code == 422 and f"at most {MAX_CITE_DOCUMENTS}" in too_many.json()["detail"]
    assert client.get("/cite").status_code == 422
    # The same id twice is one reference.
    assert len(parse_bibtex(client.get("/cite", params={"doc_ids": [known, known]}).text)) == 1


def test_with_auth_reads_a_citation_needs_the_key(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path, api_key=KEY, auth_reads=True)
    with client:
        assert client.get("/documents/sorafenib/cite").status_code == 401
        assert client.get("/cite", params={"doc_ids": ["sorafenib"]}).status_code == 401
        answered = client.get("/cite", params={"doc_ids": ["sorafenib"], "format": "ris"}, headers=AUTH)
        assert answered.status_code == 200
        assert parse_ris(answered.text)[0]["title"] == "Sorafenib in kidney cancer"


def test_citations_are_reads_without_auth_reads(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path, api_key=KEY)
    with client:
        response = client.get("/documents/sorafenib/cite", headers={"Origin": "https://elsewhere.example"})
        assert response.status_code == 200
        assert parse_bibtex(response.text)[0].fields["title"] == "Sorafenib in kidney cancer"
