"""The same article arriving twice is stored once: same PMID, same DOI, or near-identical text."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.documents import Document
from rag.index.chunkstore import ChunkStore
from rag.ingest.dedupe import DuplicateFinder, copies_of_stored, fingerprint, lookup_keys, unique_documents
from rag.ingest.loaders import load_paths
from tests.conftest import CORPUS
from tests.support.app_clients import make_client
from tests.support.document_fixtures import MEDLINE, PDF_DOI, PUBMED_XML, write_article_pdf

ABSTRACT = (
    "Sorafenib was given to 120 patients with advanced hepatocellular carcinoma. The disease control rate "
    "was 62% and the median time to progression was 5.5 months. Diarrhoea occurred in 28% of patients "
    "and fatigue in 22%. Sorafenib was active and tolerable in this cohort of patients treated in routine "
    "practice, and the results agree with those of the randomised trials. Patients were enrolled at "
    "eleven centres between 2010 and 2014 and followed for a median of 19 months. Hand-foot skin reaction "
    "led to dose reduction in 18 patients, and treatment was stopped for toxicity in nine. Overall "
    "survival was 10.7 months; patients with Child-Pugh B liver function lived shorter than those with "
    "Child-Pugh A. Alpha-fetoprotein response at eight weeks predicted longer survival."
)


def doc(doc_id: str, text: str = ABSTRACT, **extra: str) -> Document:
    return Document(doc_id=doc_id, title=doc_id, text=text, extra=dict(extra))


def test_same_pmid_or_doi_is_one_article_and_the_longer_text_is_kept() -> None:
    short = doc("pmid-1", "An abstract about sorafenib and nothing else in particular here.", pmid="1")
    full = doc("paper", ABSTRACT, pmid="0001")  # the same PMID written with leading zeros
    kept, dropped = unique_documents([short, full])
    assert [d.doc_id for d in kept] == ["paper"]
    assert [(d.doc_id, other, why) for d, other, why in dropped] == [("pmid-1", "paper", "same PMID 1")]
    by_doi = unique_documents([doc("a", "x y z", doi="10.1/ABC"), doc("b", "p q r", doi="10.1/abc")])
    assert len(by_doi[0]) == 1 and by_doi[1][0][2] == "same DOI 10.1/abc"


def test_near_identical_text_is_one_article_and_different_texts_are_not() -> None:
    # Another export of the same abstract: one figure corrected, different wrapping and dashes.
    edited = ABSTRACT.replace("fatigue in 22%", "fatigue in 21%").replace(". ", ".\n").replace("-", "‐")
    kept, dropped = unique_documents([doc("a"), doc("b", edited)])
    assert [d.doc_id for d in kept] == ["a"] and "near-identical text" in dropped[0][2]
    other = ABSTRACT.replace("hepatocellular carcinoma", "renal cell carcinoma").replace("62%", "40%")
    other = " ".join(reversed(other.split(". ")))
    assert len(unique_documents([doc("a"), doc("c", other)])[0]) == 2


def test_the_seed_corpus_has_no_duplicates() -> None:
    result = load_paths([CORPUS])
    assert len(result.documents) == len(list(CORPUS.glob("*.md")))
    assert result.skipped == []


def test_a_finder_seeded_with_stored_fingerprints_ignores_the_document_itself() -> None:
    finder = DuplicateFinder([fingerprint(doc("a", pmid="7"))])
    assert finder.match(fingerprint(doc("a", pmid="7"))) is None  # the same document, updated
    assert finder.match(fingerprint(doc("b", "unrelated words " * 5, pmid="7"))) == ("a", "same PMID 7")


def test_the_store_finds_candidate_copies_by_key_without_reading_every_fingerprint(tmp_path: Path) -> None:
    store = ChunkStore.open(tmp_path / "store.sqlite", 4, generation=1, create=True)
    others = [
        doc(f"other-{i}", f"An unrelated abstract number {i} about {topic} and its outcomes.")
        for i, topic in enumerate(["imatinib", "lenvatinib", "cabozantinib", "regorafenib"])
    ]
    for stored in [doc("paper", pmid="42"), *others]:
        store.add_document(stored, [], np.zeros((0, 4), np.float32), [], fingerprint=fingerprint(stored))
    edited = ABSTRACT.replace("fatigue in 22%", "fatigue in 21%").replace(". ", ".\n")
    near, same_pmid = (
        doc("upload", edited),
        doc("record", "A different text entirely, five words or more.", pmid="42"),
    )
    for candidate in (near, same_pmid):
        found = store.fingerprints_with_keys(lookup_keys([candidate]))
        assert [p.doc_id for p in found] == ["paper"]
        assert copies_of_stored([candidate], found)[0][1] == "paper"
    assert (
        store.fingerprints_with_keys(lookup_keys([doc("new", "Nothing like any stored text at all here.")]))
        == []
    )
    store.close()


def test_corpus_with_copies_in_three_formats_stores_each_article_once(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "export.xml").write_text(PUBMED_XML)
    # The MEDLINE export of the same article (PMID 19451442) as the XML, and a PubMed record
    # that carries the PDF's DOI.
    (corpus / "again.nbib").write_text(
        "PMID- 19451442\nTI  - Sorafenib in advanced clear-cell renal cell carcinoma.\n"
        "AB  - Median overall survival was 17.8 months with sorafenib.\n"
    )
    (corpus / "records.nbib").write_text(MEDLINE.replace("10.1182/blood-2008-11-190314", PDF_DOI))
    write_article_pdf(corpus / "berg.pdf")
    result = load_paths([corpus])
    ids = sorted(d.doc_id for d in result.documents)
    assert ids == ["berg", "pmid-19451442", "pmid-21000004"]
    reasons = {reason for _, reason in result.skipped}
    assert f"pmid-21000003 is a duplicate of berg (same DOI {PDF_DOI.lower()})" in reasons
    # Two PubMed exports of one article give it the same id: the fuller record (the XML) is kept.
    duplicate = [f for f in result.files if f.status == "skipped" and "same id" in (f.reason or "")]
    assert len(duplicate) == 1 and Path(duplicate[0].path).name == "again.nbib"
    assert (
        "17.8 months with sorafenib versus 15.2"
        in next(d for d in result.documents if d.doc_id == "pmid-19451442").text
    )
    assert not any(f.status == "loaded" and Path(f.path).name == "again.nbib" for f in result.files)


def test_uploading_an_article_already_stored_under_another_id_is_a_conflict(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    with client:
        first = client.post("/documents", files={"file": ("export.xml", PUBMED_XML.encode())})
        assert first.status_code == 200 and first.json()["added"] == ["pmid-19451442"]
        copy = (
            "PMID- 19451442\nTI  - The same trial.\nAB  - Another copy of the abstract text.\n"
            "LID - 10.1200/JCO.2008.19.5511 [doi]\n"
        ).replace("19451442", "19451443")  # a wrong PMID in the copy: its DOI still gives it away
        again = client.post("/documents", files={"file": ("copy.nbib", copy.encode())})
        assert again.status_code == 409, again.text
        assert (
            "same article as the stored document 'pmid-19451442' (same DOI 10.1200/jco.2008.19.5511)"
            in again.json()["detail"]
        )
        assert [d["doc_id"] for d in client.get("/documents").json()["documents"]].count("pmid-19451442") == 1
        # The same file uploaded again is an update, not a duplicate.
        assert (
            client.post("/documents", files={"file": ("export.xml", PUBMED_XML.encode())}).status_code == 200
        )


def test_a_partial_ingest_skips_an_article_the_index_already_holds(tmp_path: Path) -> None:
    client, pipeline = make_client(tmp_path)
    with client:
        assert (
            client.post("/documents", files={"file": ("export.xml", PUBMED_XML.encode())}).status_code == 200
        )
    extra = tmp_path / "more"
    extra.mkdir()
    # A MEDLINE copy under another PMID (a typo) but with the same DOI, and a new article.
    (extra / "copy.nbib").write_text(
        "PMID- 19451443\nTI  - The same trial.\nAB  - Another copy of the abstract text.\n"
        "LID - 10.1200/JCO.2008.19.5511 [doi]\n\n" + MEDLINE.split("\n\n")[1]
    )
    result = pipeline.ingest([extra], prune=False)
    assert result.report.added == ["pmid-21000004"]
    (skipped,) = [f for f in result.files if f.status == "skipped"]
    assert Path(skipped.path).name == "copy.nbib"
    assert skipped.reason == (
        "pmid-19451443 is the same article as the indexed pmid-19451442 (same DOI 10.1200/jco.2008.19.5511)"
    )
