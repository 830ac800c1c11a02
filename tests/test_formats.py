"""PDF, HTML and PubMed loaders on documents the tests write themselves (tests/document_fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import DocumentError
from rag.ingest.loaders import load_paths, parse_file
from rag.ingest.loaders.pdf_lines import heading_name
from rag.ingest.loaders.pdf_text import clean_pages
from tests.support.document_fixtures import (
    ARTICLE_HTML,
    CAPTION,
    MEDLINE,
    PDF_AUTHORS,
    PDF_DOI,
    PDF_TITLE,
    PUBMED_XML,
    write_article_pdf,
)


def parse(path: Path, data: bytes | None = None):  # type: ignore[no-untyped-def]
    return parse_file(path.read_bytes() if data is None else data, path, path.parent)


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_text_is_the_article_without_headers_page_numbers_or_references(tmp_path: Path) -> None:
    (doc,) = parse(write_article_pdf(tmp_path / "berg-2019.pdf")).documents
    assert doc.doc_id == "berg-2019"
    assert doc.title == PDF_TITLE  # the largest type on page 1 (the PDF info has no title)
    assert doc.authors == PDF_AUTHORS
    assert doc.year == 2019  # from the running header on page 1, not the file's creation date
    assert doc.extra["doi"] == PDF_DOI and doc.source == f"https://doi.org/{PDF_DOI}"
    assert doc.extra["pages"] == 2
    text = doc.text
    assert "Journal of Renal Oncology" not in text  # running header, on both pages
    assert not any(line.strip().isdigit() for line in text.splitlines())  # page numbers
    assert "University Hospital" not in text and PDF_AUTHORS not in text  # front matter
    # Line-end hyphens: a syllable break is joined, a compound keeps its hyphen.
    assert "patients with metastatic renal cell carcinoma whose disease" in text
    assert "the median progression-free survival was estimated" in text
    assert "meta-" not in text and "progressionfree" not in text
    # The reference list is kept out of the text, and kept.
    assert "References" not in text and "Escudier B" not in text and "Motzer RJ" not in text
    assert doc.extra["references"][0].startswith("1. Escudier B, Eisen T.")
    assert doc.extra["references"][1].endswith("renal-cell carcinoma. N Engl J Med 2007.")
    assert text.count(CAPTION) == 1  # printed on both pages, kept once
    # Wrapped lines are joined into paragraphs; headings stand alone.
    assert "Hand-foot skin reaction occurred in 31% of patients." in text
    assert [name for _, name in doc.sections] == ["Abstract", "Methods", "Results", "Discussion"]


def test_pdf_pages_map_every_offset_to_its_page(tmp_path: Path) -> None:
    (doc,) = parse(write_article_pdf(tmp_path / "a.pdf")).documents
    assert len(doc.page_starts) == 2 and doc.page_starts[0] == 0
    second = doc.page_starts[1]
    assert doc.text[second:].startswith("Results")
    assert doc.text.index("52 patients") < second < doc.text.index("17.3 months")
    assert doc.text.index(CAPTION) < second  # the caption's first printing is on page 1


def test_pdf_info_fields_are_used_when_present(tmp_path: Path) -> None:
    (doc,) = parse(write_article_pdf(tmp_path / "a.pdf", with_info=True)).documents
    assert doc.title == PDF_TITLE and doc.authors == PDF_AUTHORS


def test_encrypted_damaged_and_textless_pdfs_get_clear_messages(tmp_path: Path) -> None:
    locked = write_article_pdf(tmp_path / "locked.pdf", password="secret")
    with pytest.raises(DocumentError, match="encrypted and needs a password"):
        parse(locked)
    whole = write_article_pdf(tmp_path / "whole.pdf").read_bytes()
    with pytest.raises(DocumentError, match="damaged or not a valid PDF"):
        parse(tmp_path / "cut.pdf", whole[: len(whole) // 3])
    with pytest.raises(DocumentError, match="not a PDF file"):
        parse(tmp_path / "fake.pdf", b"<html>a web page saved as .pdf</html>")

    from fpdf import FPDF

    blank = FPDF()
    blank.add_page()
    blank.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(DocumentError, match="no text layer"):
        parse(tmp_path / "scan.pdf")


def test_a_pdf_without_article_text_is_reported_not_loaded(tmp_path: Path) -> None:
    """A cover page or a masthead is not an article: it must never be the source of an answer."""
    from fpdf import FPDF

    cover = FPDF()
    cover.add_page()
    cover.set_font("Helvetica", size=14)
    for y, line in enumerate(["Journal of Testing", "Volume 18, pages 231-234", "Download PDF", "Cite this"]):
        cover.set_xy(20, 20 + 10 * y)
        cover.cell(0, 8, line)
    cover.output(str(tmp_path / "cover.pdf"))
    write_article_pdf(tmp_path / "article.pdf")
    result = load_paths([tmp_path])
    assert [doc.doc_id for doc in result.documents] == ["article"]
    (report,) = [f for f in result.files if f.path.endswith("cover.pdf")]
    assert report.status == "skipped" and report.reason is not None
    assert "no article text" in report.reason


def test_page_cleaning_rules() -> None:
    pages = [
        f"Annals of Testing 2020;{n}:1-9\nPage {n} of 3\n" + body
        for n, body in enumerate(
            [
                "Introduction\nSorafenib inhibits RAF kinase in tu-\nmour cells of many kinds and was",
                "approved in 2005. Its anti-\nVEGF action matters.\nShort line.\n"
                "A new paragraph starts here.",
                "Discussion\nThe end of the discussion text.\nReferences\n[1] Smith A. A paper.\n"
                "Journal 2001.\n[2] Jones B. Another.",
            ],
            start=1,
        )
    ]
    cleaned = clean_pages(pages)
    assert "Annals" not in cleaned.text and "Page" not in cleaned.text
    assert "in tumour cells of many kinds and was approved in 2005." in cleaned.text  # across pages
    assert "anti-VEGF" in cleaned.text  # a hyphen before a capital is part of the word
    assert cleaned.references == ["[1] Smith A. A paper. Journal 2001.", "[2] Jones B. Another."]
    assert cleaned.text[cleaned.page_starts[1] :].startswith("approved in 2005")
    assert cleaned.text[cleaned.page_starts[2] :].startswith("Discussion")
    assert (
        heading_name("3. RESULTS") == "Results"
        and heading_name("2.1 Patient selection") == "Patient selection"
    )
    assert heading_name("The median survival was 10 months.") is None


def test_page_cleaning_finds_what_real_papers_hide() -> None:
    """An abstract without a heading, headers that alternate between odd and even pages, a
    supplement with its own reference list, and a numbered list whose heading was lost."""
    abstract = (
        "We studied forty patients with advanced disease. The response rate was 31 percent and the "
        "median survival was 10 months. Toxicity was mild and manageable in most of them. These "
        "results support a larger randomised trial of the combination in this population. Patients "
        "who stopped early were counted as failures."
    )
    prose = "The cohort was followed for two years. Every visit recorded the dose and the response."
    pages = [
        f"A trial of something\nAnn Lee, Bo Chen\n\n{abstract}\n\n"
        f"1. Introduction\n{prose}\nLee et al. page 1",
        f"Odd and even headers 2024\nMethods\n{prose}\nReferences\n1. Smith AB. A paper. J Test. 2001;1:1-9.",
        f"Lee et al. page 3\n2. Jones CD. Another. J Test. 2002;2:2-9.\nSupplementary material\n{prose}",
        "Odd and even headers 2024\nReferences\n1. Brown EF. Third. J Test. 2003;3:3-9.\nAcknowledgments",
        f"Lee et al. page 5\nWe thank the patients.\n{prose}\n1. Gray A. One. J X. 2001;1:1.\n"
        "2. Gray B. Two. J X. 2002;2:2.\n3. Gray C. Three. J X. 2003;3:3.\n4. Gray D. Four. J X. 2004;4:4.\n"
        "5. Gray E. Five. J X. 2005;5:5.",
        f"Odd and even headers 2024\nTables\n{prose}\nThe end of the appendix text.",
    ]
    cleaned = clean_pages(pages)
    text = " ".join(cleaned.text.split())
    assert abstract in text and cleaned.sections[0][1] == "Abstract"
    assert "Lee et al." not in text and "Odd and even headers" not in text
    assert "Smith AB" not in text and "Brown EF" not in text and "Gray C" not in text
    assert "Supplementary material" in text and "We thank the patients." in text
    assert len(cleaned.references) == 3 + 5


# --- HTML -----------------------------------------------------------------------------------------


def test_html_keeps_the_article_and_drops_the_page_around_it(tmp_path: Path) -> None:
    (doc,) = parse(tmp_path / "kim-2018.html", ARTICLE_HTML.encode()).documents
    assert doc.title == "Sorafenib in advanced hepatocellular carcinoma: a cohort study"
    assert doc.authors == "Kim, Min-jun; Lee, Ji-woo"
    assert doc.journal == "Liver Journal" and doc.year == 2018
    assert doc.extra["doi"] == "10.5555/lj.2018.7" and doc.extra["pmid"] == "29000001"
    for furniture in ("Sign in", "Current issue", "cookies", "Share on", "Related articles", "Copyright",
                      "newsletter", "font-family", "Llovet"):  # fmt: skip
        assert furniture not in doc.text, furniture
    assert "the disease control rate was 62% and the median time to progression was 5.5 months." in doc.text
    assert "Diarrhoea occurred in 28% of patients." in doc.text
    assert "Outcome | Value\nOverall survival | 10.7 months" in doc.text  # a table row per line
    assert [name for _, name in doc.sections] == ["Background", "Results"]
    assert doc.extra["references"] == [
        "Llovet JM, et al. Sorafenib in advanced hepatocellular carcinoma. N Engl J Med 2008."
    ]
    offset, _ = doc.sections[1]
    assert doc.text[offset:].startswith("Results")


def test_html_without_metadata_takes_title_from_h1_and_refuses_an_empty_page(tmp_path: Path) -> None:
    BODY = (  # noqa: N806
        "Sorafenib was given to forty patients with advanced liver cancer in this small study. "
        "The median survival was ten months and most side effects were mild."
    )
    page = (
        b"<html><head><title>Site | Page</title></head><body><nav>Home</nav>"
        b"<h1>Real title</h1><p>" + BODY.encode() + b"</p></body></html>"
    )
    (doc,) = parse(tmp_path / "p.htm", page).documents
    assert doc.title == "Real title" and doc.text == BODY and "Home" not in doc.text
    with pytest.raises(DocumentError, match="no article text"):
        parse(
            tmp_path / "empty.html", b"<html><body><nav>Only a menu</nav><script>x()</script></body></html>"
        )


# --- PubMed ---------------------------------------------------------------------------------------


def test_pubmed_xml_gives_one_document_per_article(tmp_path: Path) -> None:
    parsed = parse(tmp_path / "export.xml", PUBMED_XML.encode())
    (doc,) = parsed.documents
    assert parsed.refused == ["PMID 20000002 has no abstract; only its title would be searchable"]
    assert doc.doc_id == "pmid-19451442" and doc.source == "https://pubmed.ncbi.nlm.nih.gov/19451442/"
    assert (
        doc.title
        == "Sorafenib in advanced clear-cell renal cell carcinoma: final efficacy and safety results"
    )
    assert doc.authors == "Escudier B, Eisen T" and doc.year == 2009
    assert doc.journal.startswith("Journal of clinical oncology")
    assert doc.extra["pmid"] == "19451442" and doc.extra["doi"] == "10.1200/JCO.2008.19.5511"
    assert doc.extra["mesh"] == ["Carcinoma, Renal Cell"]
    paragraphs = doc.text.split("\n\n")
    assert [p.split(":")[0] for p in paragraphs] == [
        "PURPOSE",
        "PATIENTS AND METHODS",
        "RESULTS",
        "CONCLUSION",
    ]
    assert paragraphs[2] == (
        "RESULTS: Median overall survival was 17.8 months with sorafenib versus 15.2 months with placebo "
        "(HR 0.88)."
    )


def test_xml_that_is_not_pubmed_or_declares_entities_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not a PubMed export"):
        parse(tmp_path / "a.xml", b"<rss><channel/></rss>")
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><PubmedArticleSet>&a;</PubmedArticleSet>'
    with pytest.raises(DocumentError, match="refused for safety"):
        parse(tmp_path / "b.xml", bomb)
    with pytest.raises(DocumentError, match="not well-formed"):
        parse(tmp_path / "c.xml", b"<PubmedArticleSet><PubmedArticle>")


@pytest.mark.parametrize("name", ["records.nbib", "pubmed-export.txt"])
def test_medline_records(tmp_path: Path, name: str) -> None:
    first, second = parse(tmp_path / name, MEDLINE.encode()).documents
    assert first.doc_id == "pmid-21000003"
    assert (
        first.title
        == "Sorafenib for relapsed FLT3-ITD positive acute myeloid leukemia: a compassionate use study"
    )
    assert first.authors == "Metzelder S, Neubauer A" and first.journal == "Blood" and first.year == 2011
    assert first.extra["doi"] == "10.1182/blood-2008-11-190314"
    assert first.text.split("\n\n")[2] == (
        "RESULTS: All 6 patients responded, and 2 remained in complete molecular remission after 200 days."
    )
    assert second.doc_id == "pmid-21000004" and second.text.startswith("Sorafenib was given")
    assert second.year == 2012 and second.authors == "Doe J"


def test_a_plain_txt_file_is_still_plain_text(tmp_path: Path) -> None:
    (doc,) = parse(
        tmp_path / "note.txt", b"PMID is mentioned here but this is a note.\nSecond line."
    ).documents
    assert doc.doc_id == "note" and doc.title.startswith("PMID is mentioned")


# --- one corpus of every format --------------------------------------------------------------------


def test_a_mixed_corpus_loads_with_a_report_per_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_article_pdf(corpus / "berg.pdf")
    write_article_pdf(corpus / "locked.pdf", password="secret")
    (corpus / "kim.html").write_text(ARTICLE_HTML)
    (corpus / "export.xml").write_text(PUBMED_XML)
    (corpus / "records.nbib").write_text(MEDLINE)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")  # not a supported type: not even listed
    result = load_paths([corpus])
    by_file = {(Path(f.path).name, f.status): f for f in result.files}
    assert by_file["berg.pdf", "loaded"].format == "pdf"
    assert by_file["kim.html", "loaded"].documents == 1
    assert by_file["export.xml", "loaded"].documents == 1
    assert "no abstract" in (by_file["export.xml", "skipped"].reason or "")
    assert by_file["records.nbib", "loaded"].documents == 2
    assert "needs a password" in (by_file["locked.pdf", "failed"].reason or "")
    assert "damaged" in (by_file["broken.pdf", "failed"].reason or "")
    assert not any(Path(f.path).name == "notes.docx" for f in result.files)
    assert sorted(d.doc_id for d in result.documents) == [
        "berg", "kim", "pmid-19451442", "pmid-21000003", "pmid-21000004"
    ]  # fmt: skip
