"""A writer for the crash test: `python tests/support/crash_worker.py CORPUS INDEX N`.

Adds N documents to the index one commit at a time, with updates of earlier documents and a
few deletions mixed in, through the same calls the HTTP API makes (Pipeline.add_documents and
Pipeline.delete_document). Before each change it prints `BEGIN ...`, and once the call has
returned (the change is committed and durable) `ACK ...`, flushed at once, so the process that
kills this one knows exactly which changes were acknowledged.

    READY
    BEGIN put doc-0003 v1
    ACK put doc-0003 v1 <sha256 of the text> gen=5
    BEGIN delete doc-0001
    ACK delete doc-0001 gen=6
    DONE

Documents are deterministic functions of their number and version (`document_text`), so the
test can rebuild what every acknowledged version must look like. Not collected by pytest.
"""

from __future__ import annotations

import hashlib
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rag.ingest.uploads import stage_record
from rag.pipeline import Pipeline
from rag.settings import ChunkingSettings, Settings
from rag.testing import FakeEmbedder

# Small chunks (about 70 words of text each) so a document of 4-17 sentences has 1-3 chunks.
CHUNKING = ChunkingSettings(chunk_tokens=80, overlap_tokens=8, max_title_tokens=16)
VOCABULARY = """sorafenib regorafenib lenvatinib cabozantinib nivolumab pembrolizumab atezolizumab
    bevacizumab hepatocellular carcinoma survival progression response toxicity fatigue diarrhoea
    hypertension cirrhosis biopsy cohort placebo randomised median interval hazard ratio months
    patients dose escalation trial phase endpoint remission relapse fibrosis ultrasound marker
    plasma serum enzyme hepatic renal imaging lesion nodule infusion tablet regimen outcome""".split()
Kind = Literal["put", "delete"]


@dataclass(frozen=True)
class Op:
    kind: Kind
    number: int
    version: int = 0

    @property
    def doc_id(self) -> str:
        return doc_id(self.number)


def doc_id(number: int) -> str:
    return f"doc-{number:04d}"


def letters(value: int) -> str:
    """A number spelled in letters (a word the stemmer and tokenizer leave whole)."""
    out = ""
    while True:
        value, digit = divmod(value, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[digit] + out
        if value == 0:
            return out


def marker(number: int, version: int) -> str:
    """A word that occurs in every sentence of this version of this document, and nowhere else."""
    return f"zq{letters(number)}x{letters(version)}k"


def document_title(number: int, version: int) -> str:
    return f"Trial {letters(number)} report revision {version}"


def document_text(number: int, version: int) -> str:
    rng = random.Random(number * 1000 + version)
    word = marker(number, version)
    sentences = []
    for i in range(rng.randint(3, 10)):
        body = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(7, 12)))
        sentences.append(
            f"Finding {i + 1} of {word} was {body} at {rng.randint(1, 99)}.{rng.randint(0, 9)} months."
        )
    return " ".join(sentences)


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(documents: int) -> list[Op]:
    """`documents` additions, with an update of an earlier one after every few and some deletions."""
    ops: list[Op] = []
    live: dict[int, int] = {}  # number -> version
    added = 0
    step = 0
    while added < documents:
        numbers = sorted(live)
        if step % 5 == 3 and numbers:
            number = numbers[(step * 7) % len(numbers)]
            live[number] += 1
            ops.append(Op("put", number, live[number]))
        elif step % 6 == 5 and len(numbers) > 2:
            number = numbers[(step * 5) % len(numbers)]
            del live[number]
            ops.append(Op("delete", number))
        else:
            live[added] = 1
            ops.append(Op("put", added, 1))
            added += 1
        step += 1
    return ops


def settings(corpus: Path, index: Path) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=index, chunking=CHUNKING)


def main(argv: list[str]) -> int:
    corpus, index, documents = Path(argv[1]), Path(argv[2]), int(argv[3])
    config = settings(corpus, index)
    pipeline = Pipeline(config, FakeEmbedder(), None)
    print("READY", flush=True)
    sys.stdin.readline()  # the parent says when to start (EOF: at once)
    for op in plan(documents):
        if op.kind == "put":
            print(f"BEGIN put {op.doc_id} v{op.version}", flush=True)
            text = document_text(op.number, op.version)
            record = {"doc_id": op.doc_id, "title": document_title(op.number, op.version), "text": text}
            report = pipeline.add_documents([stage_record(record, config.upload_dir, corpus)])
            print(f"ACK put {op.doc_id} v{op.version} {text_sha(text)} gen={report.generation}", flush=True)
        else:
            print(f"BEGIN delete {op.doc_id}", flush=True)
            report = pipeline.delete_document(op.doc_id)
            print(f"ACK delete {op.doc_id} gen={report.generation}", flush=True)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
