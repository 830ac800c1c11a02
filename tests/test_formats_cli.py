"""Bring-your-own-papers end to end: `rag ingest` over a folder of PDF, HTML and PubMed files
(and two bad PDFs), then `rag ask`, with the real model and a real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import rag
from tests.support.document_fixtures import ARTICLE_HTML, MEDLINE, PUBMED_XML, write_article_pdf

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("papers")
    corpus = root / "corpus"
    corpus.mkdir()
    write_article_pdf(corpus / "berg-2019.pdf")
    write_article_pdf(corpus / "locked.pdf", password="secret")
    (corpus / "truncated.pdf").write_bytes(write_article_pdf(root / "whole.pdf").read_bytes()[:900])
    (corpus / "kim-2018.html").write_text(ARTICLE_HTML)
    (corpus / "pubmed.xml").write_text(PUBMED_XML)
    (corpus / "medline.nbib").write_text(MEDLINE)
    return corpus, root / "index"


def test_ingest_reports_each_file_and_loads_the_good_ones(papers: tuple[Path, Path]) -> None:
    corpus, index = papers
    result = rag("ingest", index=index, corpus=corpus)
    assert result.returncode == 0, result.stderr
    assert "files: 4 loaded, 1 skipped, 2 failed" in result.stdout
    assert "5 documents" in result.stdout.splitlines()[-1]
    lines = result.stderr.splitlines()
    assert any(
        line.startswith("loaded  ") and line.endswith("berg-2019.pdf (pdf, 1 document)") for line in lines
    )
    assert any(line.endswith("medline.nbib (medline, 2 documents)") for line in lines)
    assert any(
        line.startswith("failed  ") and "locked.pdf is encrypted" in line and "qpdf" in line for line in lines
    )
    assert any(line.startswith("failed  ") and "truncated.pdf is damaged" in line for line in lines)
    assert not any("pypdf" in line for line in lines)  # the parser's own log lines stay out
    assert any(line.startswith("skipped ") and "no abstract" in line for line in lines)
    strict = rag("ingest", "--strict", "--quiet", index=index, corpus=corpus)
    assert strict.returncode == 1 and "loaded  " not in strict.stderr and "failed  " in strict.stderr


def test_a_question_answered_on_page_2_cites_page_2(papers: tuple[Path, Path]) -> None:
    corpus, index = papers
    asked = rag("ask", "What was the median overall survival with sorafenib after sunitinib?", "--json",
                index=index, corpus=corpus)  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    body = json.loads(asked.stdout)
    assert "17.3 months" in body["answer"], body
    (cited,) = [c for c in body["citations"] if "17.3 months" in c["quote"]]
    assert cited["doc_id"] == "berg-2019" and cited["page_start"] == cited["page_end"] == 2
    assert cited["section"] == "Results"
    assert cited["source"] == "https://doi.org/10.1234/jro.2019.0042"
    text = rag(
        "ask",
        "What was the median overall survival with sorafenib after sunitinib?",
        index=index,
        corpus=corpus,
    )
    assert "<berg-2019>  Results, p. 2" in text.stdout


def test_pubmed_citations_link_to_the_record_and_name_the_section(papers: tuple[Path, Path]) -> None:
    corpus, index = papers
    asked = rag("ask", "How many patients with FLT3-ITD leukemia responded to sorafenib?", "--json",
                index=index, corpus=corpus)  # fmt: skip
    body = json.loads(asked.stdout)
    cited = body["citations"][0]
    assert cited["doc_id"] == "pmid-21000003", body
    assert cited["source"] == "https://pubmed.ncbi.nlm.nih.gov/21000003/"
    assert cited["page_start"] is None and cited["section"] == "RESULTS"
    assert "All 6 patients responded" in cited["quote"]
