"""Citation export (rag/cite): author names, keys, fields, and hostile metadata in every format."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from rag.cite import FORMATS, Name, export, reference_of, split_authors
from rag.cite.bibtex import latex
from rag.cite.reference import full_range, references_of
from rag.documents import Document
from tests.support.citations import parse_bibtex, parse_ris


def doc(doc_id: str = "d1", title: str = "A trial of sorafenib", **fields: Any) -> Document:
    return Document(doc_id=doc_id, title=title, text="Body.", **fields)


@pytest.mark.parametrize(
    ("authors", "names", "et_al"),
    [
        ("Antoniou EA, Koutsounas I", [("Antoniou", "E. A."), ("Koutsounas", "I.")], False),
        (
            "Atkin C, Earwaker P, Pallan A, et al.",
            [("Atkin", "C."), ("Earwaker", "P."), ("Pallan", "A.")],
            True,
        ),
        ("Lamarca A, Abdel-Rahman O et al", [("Lamarca", "A."), ("Abdel-Rahman", "O.")], True),
        ("Ann Lee, Bo Chen and Cy Wu", [("Lee", "Ann"), ("Chen", "Bo"), ("Wu", "Cy")], False),
        ("Kim, Min-jun; Lee, Ann", [("Kim", "Min-jun"), ("Lee", "Ann")], False),
        ("Smith, J. A., Doe, B.", [("Smith", "J. A."), ("Doe", "B.")], False),
        ("Smith, John", [("Smith", "John")], False),
        ("J.A. Smith", [("Smith", "J. A.")], False),
        ("Vincent van Gogh", [("van Gogh", "Vincent")], False),
        ("Müller-Lüdenscheidt J", [("Müller-Lüdenscheidt", "J.")], False),
        ("Plato", [("Plato", None)], False),
        ("", [], False),
        (None, [], False),
    ],
)
def test_authors_stored_as_one_string_are_split_into_names(
    authors: str | None, names: list[tuple[str, str | None]], et_al: bool
) -> None:
    split, cut = split_authors(authors)
    assert [(n.family, n.given) for n in split] == names
    assert cut is et_al


def test_suffixes_and_groups() -> None:
    names, _ = split_authors("Smith JA Jr, The RESORCE Investigators")
    assert names == (
        Name(family="Smith", given="J. A.", suffix="Jr"),
        Name(literal="The RESORCE Investigators"),
    )


def test_fields_come_from_the_metadata_and_the_medline_citation() -> None:
    ref = reference_of(
        doc(
            title="Remission of Psoriasis Treated with Sorafenib.",
            authors="Antoniou EA, Koutsounas I",
            journal="In Vivo",
            year=2016,
            source="https://pubmed.ncbi.nlm.nih.gov/27466040/",
            extra={"citation": "In Vivo. 2016; 09-10; 30(5):677-80", "doi": "doi:10.21873/invivo.10945"},
        )
    )
    assert ref.title == "Remission of Psoriasis Treated with Sorafenib"  # PubMed's final period dropped
    assert (ref.volume, ref.issue, ref.pages) == ("30", "5", "677-680")
    assert (ref.doi, ref.pmid, ref.url, ref.note) == (
        "10.21873/invivo.10945",
        "27466040",
        "https://pubmed.ncbi.nlm.nih.gov/27466040/",
        None,
    )
    assert ref.kind == "article" and ref.key == "antoniou2016remission"


def test_a_source_that_is_no_address_is_a_note_and_a_doi_link_gives_the_doi() -> None:
    described = reference_of(doc(source="CancerIndex.org, Sorafenib (Nexavar)"))
    assert (described.url, described.note, described.kind) == (
        None,
        "CancerIndex.org, Sorafenib (Nexavar)",
        "document",
    )
    linked = reference_of(doc(source="https://doi.org/10.1002/ajh.21416", extra={"pmid": 19258594}))
    assert (linked.doi, linked.pmid) == ("10.1002/ajh.21416", "19258594")
    hostile = reference_of(doc(source="javascript:alert(1)"))
    assert hostile.url is None and hostile.note == "javascript:alert(1)"


@pytest.mark.parametrize(
    ("pages", "full"),
    [("677-80", "677-680"), ("1783-93", "1783-1793"), ("56-66", "56-66"), ("e19517", "e19517")],
)
def test_medline_page_ranges_are_written_out(pages: str, full: str) -> None:
    assert full_range(pages) == full


def test_keys_are_unique_ascii_and_start_with_a_letter() -> None:
    docs = [
        doc("a", "The effect of sorafenib", authors="Müller J", year=2016),
        doc("b", "Effect of sorafenib again", authors="Muller K", year=2016),
        doc("c", "Effect of sorafenib, a third", authors="Müller J", year=2016),
        doc("d", "研究", authors="王 J"),
        doc("e", "68Ga PET", year=2016),
    ]
    keys = [ref.key for ref in references_of(docs)]
    assert keys[:3] == ["muller2016effect", "muller2016effect-2", "muller2016effect-3"]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*", key) for key in keys), keys
    assert keys[4] == "ref201668ga"
    # The same keys in every format.
    assert [e.key for e in parse_bibtex(export(docs, "bibtex"))] == keys
    assert [r["id"] for r in parse_ris(export(docs, "ris"))] == keys
    assert [item["id"] for item in json.loads(export(docs, "csl-json"))] == keys


HOSTILE_TITLE = (
    "Ünïcödé -- ``x'' {braces} } \" quotes \\ back % & $ # _ ~ ^ α ≥ 研究 <x>\n@misc{evil,\n title={x}}"
)
HOSTILE = doc(
    "hostile",
    HOSTILE_TITLE,
    authors="O'Brien {X} JA, Zoë Ågren and others",
    journal='J {Odd} & "Co"',
    year=2020,
    source="not a link } {\nER  - ",
    extra={"doi": "10.1000/a_b{c}", "keywords": ["x}", "y\nER  - \nTY  - JOUR"], "pmid": "1\n2"},
)
FLAT_TITLE = " ".join(HOSTILE_TITLE.split())


def test_hostile_metadata_reads_back_unchanged_from_bibtex() -> None:
    (entry,) = parse_bibtex(export([HOSTILE], "bibtex"))
    assert entry.key == "obrienx2020unicode" and entry.entry_type == "article"
    assert entry.fields["title"] == FLAT_TITLE
    assert entry.fields["journal"] == 'J {Odd} & "Co"'
    assert entry.fields["note"] == "not a link } { ER -"
    assert entry.fields["keywords"] == "x}, y ER - TY - JOUR"
    assert entry.fields["doi"] == "10.1000/a_b%7Bc%7D"  # verbatim: percent-encoded as in a URL
    assert "pmid" not in entry.fields  # "1\n2" is no PMID
    names = [(a.first, a.last) for a in entry.authors]
    assert names == [("J. A.", "O'Brien {X}"), ("Zoë", "Ågren"), ("", "others")]


def test_two_hostile_documents_stay_two_entries_in_every_format() -> None:
    both = [HOSTILE, doc("other", "}}}{{{ @article{x,")]
    assert len(parse_bibtex(export(both, "bibtex"))) == 2
    records = parse_ris(export(both, "ris"))
    assert [r["title"] for r in records] == [FLAT_TITLE, "}}}{{{ @article{x,"]
    assert records[0]["notes"] == ["not a link } { ER -"]
    assert records[0]["keywords"] == ["x}", "y ER - TY - JOUR"]
    assert records[0]["secondary_title"] == 'J {Odd} & "Co"'
    items = json.loads(export(both, "csl-json"))
    assert [item["title"] for item in items] == [FLAT_TITLE, "}}}{{{ @article{x,"]


def test_ris_is_one_tag_per_line_from_ty_to_er() -> None:
    text = export([HOSTILE, doc()], "ris")
    lines = text.split("\r\n")
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*", line) or line == "" for line in lines), lines
    assert [line[:2] for line in lines if line.startswith(("TY", "ER"))] == ["TY", "ER", "TY", "ER"]
    assert "\n" not in text.replace("\r\n", "")


def test_csl_json_items_have_the_required_fields() -> None:
    (item,) = json.loads(export([HOSTILE], "csl-json"))
    assert item["id"] == "obrienx2020unicode" and item["type"] == "article-journal"
    assert item["title"] == FLAT_TITLE
    assert item["author"] == [
        {"family": "O'Brien {X}", "given": "J. A."},
        {"family": "Ågren", "given": "Zoë"},
    ]
    assert item["issued"] == {"date-parts": [[2020]]}
    assert item["container-title"] == 'J {Odd} & "Co"' and item["DOI"] == "10.1000/a_b{c}"


def test_latex_escapes_every_special_character_and_keeps_braces_balanced() -> None:
    encoded = latex("50% & $5 #1 a_b ~ ^ \\ } {") or ""
    assert encoded == (
        r"50{\%} {\&} {\$}5 {\#}1 a{\_}b {\textasciitilde} {\textasciicircum} {\textbackslash} "
        r"{\textbraceright} {\textbraceleft}"
    )
    assert latex("{paired}") == r"\{paired\}"
    assert latex("a--b ``q'' ?`") == "a-{}-b `{}`q'{}' ?{}`"  # not the dash, quotes and ¿ of TeX
    assert latex("é") == r"{\'e}"


def test_every_format_has_a_media_type_and_a_file_suffix() -> None:
    assert {name: (f.media_type, f.suffix) for name, f in FORMATS.items()} == {
        "bibtex": ("application/x-bibtex", ".bib"),
        "ris": ("application/x-research-info-systems", ".ris"),
        "csl-json": ("application/vnd.citationstyles.csl+json", ".json"),
    }
