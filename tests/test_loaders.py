from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import DocumentError
from rag.ingest.loaders import load_paths


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_markdown_front_matter_becomes_metadata(tmp_path: Path) -> None:
    write(
        tmp_path / "a.md",
        "---\ndoc_id: smith-2020\ntitle: A trial\nauthors: [Smith J, Doe A]\njournal: Lancet\nyear: '2020'\n"
        "source: https://example.org/a\npmid: 123\n---\n\nBody text here.\n",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert (doc.doc_id, doc.title, doc.authors, doc.journal, doc.year, doc.source) == (
        "smith-2020",
        "A trial",
        "Smith J, Doe A",
        "Lancet",
        2020,
        "https://example.org/a",
    )
    assert doc.text == "Body text here."
    assert doc.extra == {"pmid": 123}


def test_plain_text_and_markdown_without_metadata(tmp_path: Path) -> None:
    write(tmp_path / "notes" / "first-paper.txt", "Sorafenib in HCC\nIt worked.\n")
    write(tmp_path / "b.md", "# Heading title\n\nSome text.\n")
    docs = {d.doc_id: d for d in load_paths([tmp_path]).documents}
    assert docs["notes--first-paper"].title == "Sorafenib in HCC"
    assert docs["notes--first-paper"].text == "Sorafenib in HCC\nIt worked."
    assert docs["b"].title == "Heading title"


def test_file_names_that_slug_alike_give_distinct_ids(tmp_path: Path) -> None:
    """An id is the file's path as a slug; where the slug had to change the name, a hash of the
    name keeps it apart from the file whose name already was that slug."""
    notes = ["Sorafenib was given at 400 mg.", "Fever predicted response.", "The PFS was 5.5 months.",
             "Hand-foot skin reaction was common.", "Regorafenib followed sorafenib."]  # fmt: skip
    for name, note in zip(("a b.md", "a-b.md", "研究.md", "論文.md", "Ａ.md"), notes, strict=True):
        write(tmp_path / name, f"# {name}\n\n{note}\n")
    result = load_paths([tmp_path])
    ids = sorted(d.doc_id for d in result.documents)
    assert len(ids) == 5 and len(set(ids)) == 5, ids
    assert "a-b" in ids  # a name that is already a slug keeps it
    assert [f.status for f in result.files] == ["loaded"] * 5
    again = sorted(d.doc_id for d in load_paths([tmp_path]).documents)
    assert again == ids  # the same names give the same ids every time


def test_jsonl_records(tmp_path: Path) -> None:
    lines = [
        {"doc_id": "r1", "title": "One", "text": "First text.", "year": 2019},
        {"title": "Two", "text": "Second text."},
    ]
    write(tmp_path / "set.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    docs = load_paths([tmp_path]).documents
    assert [d.doc_id for d in docs] == ["r1", "set-2"]
    assert docs[0].year == 2019


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.md", "---\ntitle: [unclosed\n---\ntext", "invalid YAML"),
        ("list.md", "---\n- a\n- b\n---\ntext", "must be a mapping"),
        ("empty.md", "---\ntitle: Nothing\n---\n\n", "no text"),
        ("year.md", "---\nyear: soon\n---\ntext", "year must be a whole number"),
        ("id.md", "---\ndoc_id: 'has spaces'\n---\ntext", "invalid doc_id"),
        ("bad.jsonl", '{"text": "ok"}\n{nope\n', "invalid JSON"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    write(tmp_path / name, content)
    write(tmp_path / "good.md", "Good text.")
    result = load_paths([tmp_path])
    assert [d.doc_id for d in result.documents] == ["good"]
    assert len(result.skipped) == 1
    assert result.skipped[0][0].endswith(name)
    assert reason in result.skipped[0][1]


def test_duplicate_doc_ids_keep_the_first(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "---\ndoc_id: same\n---\nfirst")
    write(tmp_path / "b.md", "---\ndoc_id: same\n---\nsecond")
    result = load_paths([tmp_path])
    assert [d.text for d in result.documents] == ["first"]
    assert "already used" in result.skipped[0][1]


def test_hidden_files_and_other_types_are_ignored(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.md", "secret")
    write(tmp_path / "_draft.md", "draft")
    write(tmp_path / "image.png", b"\x89PNG")
    write(tmp_path / "kept.md", "kept")
    assert [d.doc_id for d in load_paths([tmp_path]).documents] == ["kept"]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="does not exist"):
        load_paths([tmp_path / "nope"])


def test_content_hash_changes_with_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "---\ntitle: One\n---\ntext")
    before = load_paths([tmp_path]).documents[0].content_hash
    write(path, "---\ntitle: Two\n---\ntext")
    assert load_paths([tmp_path]).documents[0].content_hash != before


def test_reference_list_of_a_text_paper_is_cut_and_kept(tmp_path: Path) -> None:
    body = (
        "# Influenza in 1918\n\nThe pandemic killed about 50 million people.\n\n"
        "## References\n\n"
        "1. Frost WH. Statistics of influenza morbidity. Public Health Rep. 1920;35:584-97.\n"
        "2. Taubenberger JK, Reid AH. Initial genetic characterization of the 1918 influenza\n"
        "virus. Science. 1997;275:1793-6.\n\n"
        "## Acknowledgments\n\nWe thank the archive.\n"
    )
    write(tmp_path / "paper.md", body)
    write(tmp_path / "notes.txt", "Reading list\nReferences\nWe still need to read these papers soon.\n")
    docs = {d.doc_id: d for d in load_paths([tmp_path]).documents}
    paper = docs["paper"]
    assert "Initial genetic characterization" not in paper.text
    assert paper.text.startswith("# Influenza in 1918") and paper.text.endswith("We thank the archive.")
    assert paper.extra["references"] == [
        "1. Frost WH. Statistics of influenza morbidity. Public Health Rep. 1920;35:584-97.",
        "2. Taubenberger JK, Reid AH. Initial genetic characterization of the 1918 influenza virus. "
        "Science. 1997;275:1793-6.",
    ]
    # A "References" line followed by prose that cites nothing is left alone.
    assert "We still need to read" in docs["notes"].text and "references" not in docs["notes"].extra
