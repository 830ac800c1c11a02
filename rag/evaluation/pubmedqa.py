"""PubMedQA-L records (ori_pqal.json and its official test split) and how a record becomes a
document: used by the `pubmedqa` evaluation suite and the PubMedQA benchmark.

How a record becomes a document:
- doc_id `pmid-<PubMed id>`: it satisfies the loaders' DOC_ID pattern and reads as what it is;
- text: the CONTEXTS under their LABELS as section labels ("BACKGROUND: ...\\n\\nMETHODS: ..."),
  the form the sentence splitter recognises, so the service's section-aware answer scoring
  sees real sections. The conclusion (LONG_ANSWER) is not part of the text: the dataset holds
  it out as the reference answer, and the reference figures were measured without it;
- title: PubMedQA has none, and the QUESTION must not stand in for one: it is the query, so it
  would make retrieval trivial. The loader would fall back to the text's first line (a whole
  labelled section); instead the title is the abstract's first sentence, a neutral stand-in
  that names the topic the way a title does for chunks far from the start, and adds nothing
  the text does not already hold;
- year: YEAR (absent in a few records); source: the PubMed URL, for citations only.
  MeSH terms are left out: the reference retrievers did not have them either.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ConfigurationError
from rag.text import split_sentences

TEST_IDS_FILE = "test_ground_truth.json"
CORPUS_FILE = "pubmedqa.jsonl"
MAX_TITLE_CHARS = 200


# --- data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One PubMedQA-L record, the fields this benchmark uses."""

    pmid: str
    question: str
    contexts: tuple[str, ...]
    labels: tuple[str, ...]
    long_answer: str
    year: int | None
    decision: str

    @property
    def doc_id(self) -> str:
        return f"pmid-{self.pmid}"

    @classmethod
    def from_json(cls, pmid: str, data: dict[str, Any]) -> Record:
        year = data.get("YEAR")
        return cls(
            pmid=str(pmid),
            question=str(data["QUESTION"]),
            contexts=tuple(str(c) for c in data["CONTEXTS"]),
            labels=tuple(str(label) for label in data["LABELS"]),
            long_answer=str(data.get("LONG_ANSWER") or ""),
            year=int(year) if year else None,
            decision=str(data.get("final_decision") or ""),
        )


@dataclass(frozen=True)
class Dataset:
    records: dict[str, Record]
    """By PubMed id, in file order."""
    test_ids: list[str]
    """The official test split, in file order."""
    path: Path


def load_dataset(path: Path) -> Dataset:
    """The records of ori_pqal.json and the test split ids of the file beside it."""
    test_path = path.parent / TEST_IDS_FILE
    for needed in (path, test_path):
        if not needed.is_file():
            raise ConfigurationError(
                f"PubMedQA data not found: {needed}",
                "pass --data with the path to ori_pqal.json (test_ground_truth.json must sit beside it)",
            )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        test_raw = json.loads(test_path.read_text(encoding="utf-8"))
        records = {str(pmid): Record.from_json(str(pmid), data) for pmid, data in raw.items()}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigurationError(f"{path} is not PubMedQA's ori_pqal.json: {exc!r}") from exc
    # The test split is scored only where its records are present (a subset file may omit some).
    test_ids = [str(pmid) for pmid in test_raw if str(pmid) in records]
    return Dataset(records, test_ids, path)


# --- records as documents ----------------------------------------------------------------


def document_text(record: Record) -> str:
    """The CONTEXTS as labelled sections, one paragraph each.

    A label that does not start with a letter (", FSAII" in one record) is not a heading: the
    source split a sentence at a colon ("(ambient air, FSAII: n=4, ...)"). It is glued back.
    """
    sections: list[str] = []
    for raw_label, raw_context in zip(record.labels, record.contexts, strict=True):
        label, context = raw_label.strip(), raw_context.strip()
        if sections and not label[:1].isalpha():
            sections[-1] += f"{label}: {context}"
        elif label:
            sections.append(f"{label}: {context}")
        else:
            sections.append(context)
    return "\n\n".join(sections)


def document_title(record: Record) -> str:
    """The abstract's first sentence (see the module docstring for why), cut at a word."""
    first = next((c.strip() for c in record.contexts if c.strip()), "")
    spans = split_sentences(first)
    sentence = first[spans[0].start : spans[0].end] if spans else first
    if len(sentence) <= MAX_TITLE_CHARS:
        return sentence
    return sentence[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def to_document(record: Record) -> dict[str, Any]:
    """A .jsonl corpus line for the record; never carries the question or the conclusion."""
    return {
        "doc_id": record.doc_id,
        "title": document_title(record),
        "text": document_text(record),
        "year": record.year,
        "source": f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/",
    }


def write_corpus(records: Sequence[Record], directory: Path) -> Path:
    """All records as one .jsonl file in `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CORPUS_FILE
    lines = [json.dumps(to_document(r), ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
