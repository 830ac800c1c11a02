"""The PDF loader on real papers nobody on the team wrote (../shared/benchmarks/realdocs).

Expected values were read off each paper's first page (and the folder's README), not off the
loader's output."""

from __future__ import annotations

import json
import re
import shutil
from functools import cache
from pathlib import Path

import pytest

from rag.documents import Document
from rag.embed import Embedder
from rag.ingest.loaders import parse_file
from rag.pipeline import Pipeline
from rag.settings import Settings

REALDOCS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "realdocs"
pytestmark = pytest.mark.skipif(not REALDOCS.is_dir(), reason="../shared/benchmarks/realdocs is not here")

# file: (title begins, first author, year, DOI or None when the paper prints none, abstract words)
EXPECTED = {
    "thomason2018_plosone_wheat_heatstress.pdf": (
        "Comparative physiological and metabolomics analysis of wheat", "Kayla Thomason", 2018,
        "10.1371/journal.pone.0197919", "Genetic improvement for stress tolerance requires",
    ),
    "lucaccioni2015_bmb_turner_twocol.pdf": (
        "Turner syndrome–issues to consider for transition to adulthood", "Laura Lucaccioni", 2015,
        "10.1093/bmb/ldu038", "Turner syndrome (TS) is associated with a spectrum of health",
    ),
    "shen2013_rna_motif_twocol.pdf": (
        "RNA structural motif recognition based on least-squares distance", "Ying Shen", 2013,
        "10.1261/rna.037648.112", "RNA structural motifs are recurrent structural elements",
    ),
    "cachumba2016_bjm_asparaginase_twocol.pdf": (
        "Current applications and different approaches for microbial", "Jorge Javier Muso Cachumba", 2016,
        "10.1016/j.bjm.2016.10.004", "is an enzyme that catalysis mainly the asparagine hydrolysis",
    ),
    "solis2012_boe_tympanic_membrane.pdf": (
        "Tympanic membrane contour measurement with two source positions", "Silvino M. Solís", 2012,
        None, "The data acquisition from the shape of an object",
    ),
    "lu2024_natcommun_asgard_twocol.pdf": (
        "Evolution of optimal growth temperature in Asgard archaea", "Zhongyi Lu", 2024,
        "10.1038/s41467-024-44806-1", "The archaeal ancestor of eukaryotes apparently belonged",
    ),
    "shahu2024_nar_dps_twocol.pdf": (
        "Bridging DNA contacts allow Dps from E. coli to condense DNA", "Sneha Shahu", 2024,
        "10.1093/nar/gkae223", "The DNA-binding protein from starved cells (Dps) plays",
    ),
    "vedovato2024_diabetologia_kcnj11_twocol.pdf": (
        "A loss-of-function mutation in KCNJ11 causing sulfonylurea-sensitive diabetes", "Natascia Vedovato",
        2024, "10.1007/s00125-024-06103-w", "The ATP-sensitive potassium (KATP) channel couples",
    ),
    "garge2024_g3_yeast_proteomics_twocol.pdf": (
        "Systematic profiling of ale yeast protein dynamics", "Riddhiman K. Garge", 2024,
        "10.1093/g3journal/jkad293", "Studying the genetic and molecular characteristics of brewing yeast",
    ),
    "khodaverdian2024_biorxiv_rev1_preprint.pdf": (
        "REV1 Coordinates a Multi-Faceted Tolerance Response to DNA Alkylation Damage",
        "Varandt Khodaverdian", 2024, "10.1101/2024.02.13.580051",
        "When replication forks encounter damaged DNA",
    ),
}  # fmt: skip
# Running headers, footers and margin stamps of these papers (README of realdocs).
FURNITURE = (
    "Downloaded from", "Nucleic Acids Research, 2024, Vol", "PLOS ONE |", "www.rnajournal.org",
    "Diabetologia (2024) 67:940", "bioRxiv preprint", "Nature Communications |", "BIOMEDICAL OPTICS EXPRESS",
    "L. Lucaccioni et al., 2015", "Transition in Turner syndrome, 2015", "| R. K. Garge et al.",
    "r a z i l i a n", "brazilian journal of microbiology", "$15.00 USD", "license to display the preprint",
)  # fmt: skip
# A reference entry: "2013;81:102618" (Vancouver) or "72(1), 156–160 (1982)" (Optica).
REFERENCE = re.compile(
    r"\b(?:19|20)\d\d;\s*\d+(?:\(\d+\))?:\s*\d+"
    r"|\b\d{1,4}\(\d+\),\s*\d+[–-]\d+\s*\((?:19|20)\d\d\)"
)
TABLE_ROWS = {
    "thomason2018_plosone_wheat_heatstress.pdf": "Genotype | 13.7 | 6.3 | 3.7",
    "cachumba2016_bjm_asparaginase_twocol.pdf": "Bacillus licheniformis RAM-8 | SmF | 697.1 U mg−1",
    "shen2013_rna_motif_twocol.pdf": "Tetraloop | 0.905 | 0.971 | 0.750 | 0.879 | 0.431",
    "vedovato2024_diabetologia_kcnj11_twocol.pdf": "Glibenclamide | G0639 | NA | Sigma-Aldrich, UK",
    "lucaccioni2015_bmb_turner_twocol.pdf": "(2012) | Absolute contraindication | Any significant cardiac",
}


@cache
def load(name: str) -> Document:
    path = REALDOCS / name
    (doc,) = parse_file(path.read_bytes(), path, REALDOCS).documents
    return doc


def glued_runs(text: str) -> list[str]:
    """Runs of 16+ letters that split into 3+ words the document uses elsewhere
    ("preventionofDVTafter"), and that the document never writes again as they are."""
    counts: dict[str, int] = {}
    for word in re.findall(r"[A-Za-z]+", text):
        counts[word.lower()] = counts.get(word.lower(), 0) + 1
    vocabulary = {word for word in counts if len(word) >= 2}
    found = []
    for match in re.finditer(r"(?<![\w/.:@-])[A-Za-z]{16,}(?![\w/.@-])", text):
        run = match.group(0).lower()
        if counts[run] >= 2:
            continue
        unreachable = len(run) + 1
        fewest = [0] + [unreachable] * len(run)  # fewest document words that spell run[:end]
        for end in range(1, len(run) + 1):
            for start in range(max(0, end - 20), end - 1):
                if fewest[start] < unreachable and run[start:end] in vocabulary and run[start:end] != run:
                    fewest[end] = min(fewest[end], fewest[start] + 1)
        if 3 <= fewest[-1] < unreachable:
            found.append(match.group(0))
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metadata_comes_from_the_first_page(name: str) -> None:
    title, first_author, year, doi, _ = EXPECTED[name]
    doc = load(name)
    assert doc.title.startswith(title), doc.title
    assert doc.authors is not None and doc.authors.split(", ")[0] == first_author, doc.authors
    assert doc.year == year
    assert doc.extra.get("doi") == doi


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_text_is_the_article_without_page_furniture_or_references(name: str) -> None:
    doc = load(name)
    text = " ".join(doc.text.split())
    assert EXPECTED[name][4] in text  # the abstract, headed or not
    assert glued_runs(doc.text) == []
    assert [f for f in FURNITURE if f.lower() in text.lower()] == []
    assert REFERENCE.findall(doc.text) == []
    assert len(doc.extra.get("references", [])) >= 5  # cut from the text, kept as a list
    assert not re.search(r"/C[0-9A-F]{2}\b", doc.text)  # glyph names instead of symbols


@pytest.mark.parametrize("name", sorted(TABLE_ROWS))
def test_tables_keep_their_rows(name: str) -> None:
    """A row's cells stay on one line, in order, separated by " | "."""
    assert any(TABLE_ROWS[name] in line for line in load(name).text.splitlines())


def test_every_checked_answer_is_on_its_page() -> None:
    """qa.jsonl: each PDF answer appears in the text of the page the question names."""
    missing = []
    for line in (REALDOCS / "qa.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if not row["file"].endswith(".pdf"):
            continue
        doc = load(row["file"])
        starts = (*doc.page_starts, len(doc.text))
        page_text = " ".join(doc.text[starts[row["page"] - 1] : starts[row["page"]]].split()).lower()
        if not any(" ".join(answer.split()).lower() in page_text for answer in row["answers"]):
            missing.append((row["file"], row["question"]))
    assert missing == []


@pytest.mark.integration
def test_questions_on_one_long_paper_are_answered_from_it(tmp_path: Path, real_embedder: Embedder) -> None:
    """Two real PDFs indexed with the real model. A value deep in one paper (its passage scores
    below the paper's others: RAG_ANSWER__SINGLE_DOCUMENT_DEPTH) and a table row whose cells are
    capitalized names and a catalogue code (a row, not a heading) are both quoted."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("lu2024_natcommun_asgard_twocol.pdf", "vedovato2024_diabetologia_kcnj11_twocol.pdf"):
        shutil.copyfile(REALDOCS / name, corpus / name)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    deep = "At what temperature did the reconstructed ancestral AncEF-1A show optimal GDP binding?"
    pipeline = Pipeline(settings, real_embedder, None)
    try:
        pipeline.ingest()
        assert "52.9" in pipeline.ask(deep).answer
        row = pipeline.ask("According to Table 1, what is the catalogue number of the glibenclamide used?")
        assert "G0639" in row.answer and all(
            c.passage.text[c.quote_start : c.quote_end] == c.quote for c in row.citations
        )
    finally:
        pipeline.close()
    shallow = settings.model_copy(
        update={"answer": settings.answer.model_copy(update={"single_document_depth": 1})}
    )
    pipeline = Pipeline(shallow, real_embedder, None)
    try:
        assert "52.9" not in pipeline.ask(deep).answer  # the passage is not reached without it
    finally:
        pipeline.close()
