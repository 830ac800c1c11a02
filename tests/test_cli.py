"""The `rag` command as a user runs it: a subprocess, its output and its exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from api.schemas import AskResponse
from tests.conftest import ROOT
from tests.support.cli import rag

pytestmark = pytest.mark.integration


def test_ask_json_matches_the_api_shape(corpus_index: Path) -> None:
    result = rag(
        "ask",
        "What was the hazard ratio for overall survival with regorafenib?",
        "--json",
        index=corpus_index,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) == set(AskResponse.model_fields)  # exactly what POST /ask returns
    assert body["resolved_question"] is None
    assert "0·63" in body["answer"]


def test_ask_prints_answer_and_sources(corpus_index: Path) -> None:
    result = rag("ask", "How many patients were enrolled in the SWOG myeloma trial?", index=corpus_index)
    assert result.returncode == 0, result.stderr
    assert "Twenty-three" in result.stdout
    assert "[1] A phase II trial of sorafenib" in result.stdout


def test_search_and_stats(corpus_index: Path) -> None:
    result = rag("search", "fever within two weeks", "--top-k", "2", index=corpus_index)
    assert result.returncode == 0 and result.stdout.startswith("1. ")
    assert json.loads(rag("stats", index=corpus_index).stdout)["documents"] == 34


def test_errors_are_one_line_and_non_zero(tmp_path: Path, corpus_index: Path) -> None:
    missing = rag("ask", "anything", index=tmp_path / "no-index")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no index in") and "rag ingest" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_k = rag("ask", "anything", "--top-k", "0", index=corpus_index)
    assert bad_k.returncode == 2 and "--top-k" in bad_k.stderr
    for blank in ("", "   "):  # over HTTP a blank question is a 422: here a usage error
        empty = rag("ask", blank, index=corpus_index)
        assert empty.returncode == 2 and empty.stdout == ""
        assert empty.stderr == "error: argument question: the question is empty (see `rag ask --help`)\n"
    usage = rag("ask", index=corpus_index)
    assert usage.returncode == 2
    nowhere = rag("ingest", str(tmp_path / "nowhere"), index=tmp_path / "idx")
    assert nowhere.returncode == 1 and "does not exist" in nowhere.stderr


def test_ingest_twice_embeds_nothing_the_second_time(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.md").write_text("---\ntitle: One\n---\nSorafenib was given at 400 mg twice daily.\n")
    (corpus / "broken.md").write_text("---\ntitle: [oops\n---\ntext\n")
    (corpus / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    first = rag("ingest", index=tmp_path / "index", corpus=corpus)
    assert first.returncode == 0, first.stderr
    assert "added 1" in first.stdout and "files: 1 loaded, 0 skipped, 2 failed" in first.stdout
    assert "failed  " in first.stderr and "broken.md: " in first.stderr and "invalid YAML" in first.stderr
    assert "deep.jsonl:1: JSON nested too deeply to be read" in first.stderr
    assert "Traceback" not in first.stderr
    assert "loaded  " in first.stderr and "one.md (text, 1 document)" in first.stderr
    second = rag("ingest", index=tmp_path / "index", corpus=corpus)
    assert second.returncode == 0
    assert "index is up to date" in second.stdout


def test_bench_names_an_unknown_suite(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "warp-speed", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "unknown benchmark warp-speed" in result.stderr and "latency" in result.stderr
    assert not (tmp_path / "latest.json").exists()


def test_ingesting_a_path_adds_it_and_removes_nothing_else(tmp_path: Path) -> None:
    corpus, elsewhere, empty, index = (tmp_path / name for name in ("corpus", "elsewhere", "empty", "index"))
    for folder in (corpus, elsewhere, empty):
        folder.mkdir()
    (corpus / "one.md").write_text("# One\n\nSorafenib was given at 400 mg twice daily.\n")
    (corpus / "two.md").write_text("# Two\n\nRegorafenib improved overall survival.\n")
    (elsewhere / "three.md").write_text("# Three\n\nFever predicted a response to immunotherapy.\n")

    def ingest(*args: str) -> subprocess.CompletedProcess[str]:
        result = rag("ingest", *args, index=index, corpus=corpus)
        assert result.returncode == 0, result.stderr
        return result

    assert "2 documents" in ingest().stdout
    added = ingest(str(elsewhere / "three.md"))
    assert "added 1, updated 0, removed 0" in added.stdout and "3 documents" in added.stdout
    assert "3 documents" in ingest(str(empty)).stdout  # an empty folder removes nothing
    (corpus / "two.md").unlink()
    whole = ingest()  # the corpus: documents whose files are gone from it are removed, and named
    assert "removed 1" in whole.stdout and "removed (gone from their files): two\n" in whole.stdout
    assert "2 documents" in whole.stdout  # three.md, read from elsewhere, stays
    (elsewhere / "three.md").unlink()
    assert "2 documents" in ingest(str(elsewhere)).stdout  # not without --prune
    pruned = ingest(str(elsewhere), "--prune")
    assert "removed (gone from their files): three\n" in pruned.stdout and "1 documents" in pruned.stdout


def test_ask_and_search_take_the_api_filters(corpus_index: Path) -> None:
    fever_paper = "kuzuya-2016-fever-within-2-weeks"  # Oncology, 2016: the only paper of both

    def search(*options: str) -> list[str]:
        found = rag(
            "search",
            "fever within two weeks of sorafenib",
            "--top-k",
            "20",
            *options,
            "--json",
            index=corpus_index,
        )
        assert found.returncode == 0, found.stderr
        return [r["doc_id"] for r in json.loads(found.stdout)["results"]]

    assert fever_paper in search()
    assert set(search("--doc-id", fever_paper)) == {fever_paper}
    later = search("--year", "2017-")
    assert later and fever_paper not in later
    assert set(search("--year", "2016", "--journal", "ONCOLOGY")) == {fever_paper}
    asked = rag(
        "ask",
        "Did early fever predict the outcome of sorafenib?",
        "--year",
        "2017-",
        "--json",
        index=corpus_index,
    )
    assert asked.returncode == 0, asked.stderr
    citations = json.loads(asked.stdout)["citations"]
    assert all(c["year"] is not None and c["year"] >= 2017 for c in citations)
    none = rag("ask", "What dose of sorafenib was given?", "--year", "1900", "--json", index=corpus_index)
    assert none.returncode == 0 and json.loads(none.stdout)["abstained"] is True


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--year", "2020-2015", "ends before it starts"),
        ("--year", "soon", "is not a year"),
        ("--year", "0999", "between 1000 and 2999"),
        ("--file-type", "docx", "unknown file type 'docx'"),
        ("--journal", " ", "the journal is empty"),
    ],
)
def test_a_bad_filter_is_a_one_line_usage_error(
    corpus_index: Path, option: str, value: str, says: str
) -> None:
    result = rag("search", "sorafenib", option, value, index=corpus_index)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: argument") and says in result.stderr
    assert len(result.stderr.splitlines()) == 1
