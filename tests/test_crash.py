"""Crash safety: a writer killed with SIGKILL at a random moment never damages the index.

Each trial starts `tests/support/crash_worker.py`, which adds documents (and updates and deletes some)
one commit at a time and prints `ACK ...` after each commit returns. The test kills it at a
random (seeded) moment, then checks what a new process finds. The worker imports first and
starts writing when told to; the kill comes after a delay drawn uniformly from zero to the
time one uninterrupted run of its writes takes (measured first), so kills land throughout the
run: before the first commit, inside commits, between them. Then:

* the index opens (or, if nothing was acknowledged, there may be no index at all);
* vectors, chunk rows and BM25 entries agree, row for row (the run's commits add lexical
  segments and tombstones and merge them, so kills land in merges too);
* every acknowledged change is there: documents at their acknowledged version, searchable;
  acknowledged deletions gone. Only the change in flight at the kill may be either way;
* no document is half present: its chunks are exactly what the chunker makes of its text,
  each with its vector in FAISS and its entry in BM25;
* the next writer removes the half-written generation and leaves at most two;
* re-reading the corpus (`ingest`, uploads included) keeps every acknowledged change.

RAG_CRASH_TRIALS sets the number of trials (default 20); run with `-s` for a summary line.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rag.errors import IndexNotFoundError
from rag.index.lexical import BM25S_LUCENE
from rag.index.manifest import MANIFEST_FILE, Manifest
from rag.index.store import Index, Pointer, generation_name, generation_numbers, verify_files, verify_index
from rag.ingest.uploads import stage_record
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.testing import FakeEmbedder
from tests.conftest import ROOT
from tests.support.crash_worker import document_text, document_title, marker, settings, text_sha

WORKER = Path(__file__).parent / "support" / "crash_worker.py"
DOCUMENTS = 12  # additions per run; with updates and deletions about 17 commits
TRIALS = int(os.environ.get("RAG_CRASH_TRIALS", "20"))
SECONDS_PER_TRIAL = 6.0  # generous: a trial takes under 1 s on an idle 2-core machine
ACK = re.compile(r"ACK (put|delete) (doc-(\d{4}))(?: v(\d+) ([0-9a-f]{16}))? gen=(\d+|None)$")
BEGIN = re.compile(r"BEGIN (put|delete) (doc-(\d{4}))(?: v(\d+))?$")
TITLE = re.compile(r"Trial [a-z]+ report revision (\d+)$")

State = int | None
"""What the index must hold for a document: its version, or None for absent."""


@dataclass
class Ledger:
    """What the killed worker acknowledged, and the change it was making when it died."""

    states: dict[str, State] = field(default_factory=dict)
    superseded: list[tuple[int, int]] = field(default_factory=list)  # (number, version) replaced
    in_flight: tuple[str, State] | None = None
    acks: int = 0
    last_generation: int | None = None
    done: bool = False

    @classmethod
    def parse(cls, lines: list[str]) -> Ledger:
        ledger = cls()
        for line in lines:
            if line == "DONE":
                ledger.done = True
            elif begin := BEGIN.fullmatch(line):
                kind, doc_id, _, version = begin.groups()
                ledger.in_flight = (doc_id, int(version) if kind == "put" else None)
            elif ack := ACK.fullmatch(line):
                kind, doc_id, number, version, sha, generation = ack.groups()
                assert ledger.in_flight is not None and ledger.in_flight[0] == doc_id, line
                previous = ledger.states.get(doc_id)
                if previous is not None:
                    ledger.superseded.append((int(number), previous))
                if kind == "put":
                    assert sha == text_sha(document_text(int(number), int(version))), line
                    ledger.states[doc_id] = int(version)
                else:
                    ledger.states[doc_id] = None
                ledger.in_flight = None
                ledger.acks += 1
                ledger.last_generation = int(generation) if generation != "None" else None
            else:
                assert line == "READY", f"unexpected worker output: {line!r}"
        return ledger

    def allowed(self, doc_id: str) -> set[State]:
        """The states a crash may leave a document in: the acknowledged one, or, for the
        document being changed at the kill, the state after that change."""
        states = {self.states.get(doc_id)}
        if self.in_flight is not None and self.in_flight[0] == doc_id:
            states.add(self.in_flight[1])
        return states


@dataclass
class Summary:
    trials: int = 0
    killed: int = 0
    mid_operation: int = 0
    half_written_generations: int = 0
    committed_not_acked: int = 0
    no_index: int = 0
    acked: int = 0
    stray_files: list[str] = field(default_factory=list)


def start_worker(directory: Path) -> subprocess.Popen[str]:
    directory.mkdir(parents=True)
    (directory / "corpus").mkdir()
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(directory / "corpus"), str(directory / "index"), str(DOCUMENTS)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "READY":
        _, err = process.communicate(timeout=30)
        pytest.fail(f"the worker did not start: {line!r}\n{err}")


def go(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("GO\n")
    process.stdin.flush()


def finish(process: subprocess.Popen[str]) -> tuple[list[str], str]:
    out, err = process.communicate(timeout=60)
    return ["READY", *out.splitlines()], err


def stored_version(pipeline: Pipeline, doc_id: str) -> State:
    document = pipeline.index.chunks.document(doc_id)
    if document is None:
        return None
    title = TITLE.fullmatch(document.title)
    assert title is not None, f"{doc_id} has a title no worker wrote: {document.title!r}"
    version = int(title.group(1))
    number = int(doc_id.removeprefix("doc-"))
    assert document.text == document_text(number, version), f"{doc_id} v{version} has other text"
    return version


def check_document(pipeline: Pipeline, doc_id: str, version: int) -> list[int]:
    """The document is whole: the chunker's chunks, each in FAISS and BM25; returns its rows."""
    index = pipeline.index
    number = int(doc_id.removeprefix("doc-"))
    document = index.chunks.document(doc_id)
    assert document is not None
    expected = pipeline.chunker.chunk(document)
    rows = index.chunks.chunk_rows(doc_id)
    assert [ordinal for _, ordinal in rows] == list(range(len(expected))), doc_id
    passages = index.chunks.passages([row for row, _ in rows])
    assert [passages[row].text for row, _ in rows] == [c.text for c in expected], doc_id
    row_ids = {row for row, _ in rows}

    word = marker(number, version)
    bm25 = index.lexical.search(index.analyzer.terms(word), 100, parameters=BM25S_LUCENE)
    assert {row for row, _ in bm25} == row_ids, f"BM25 entries of {doc_id}"
    filtered = pipeline.search(word, top_k=20, doc_ids=[doc_id])
    assert {p.row_id for p in filtered} == row_ids, f"search within {doc_id}"
    assert pipeline.search(word, top_k=3)[0].doc_id == doc_id, f"search for {doc_id}"
    return sorted(row_ids)


def check_vectors(pipeline: Pipeline, rows: list[int]) -> None:
    """FAISS holds exactly these rows, each with the vector the chunk store holds for it."""
    index = pipeline.index
    ids, vectors = index.chunks.chunk_vectors()
    assert sorted(ids.tolist()) == rows
    if not rows:
        assert index.vectors.size == 0
        return
    everything = index.vectors.search(vectors[0], index.vectors.size)
    assert sorted(row for row, _ in everything) == rows
    for row, vector in zip(ids.tolist(), vectors, strict=True):
        ((found, score),) = index.vectors.search(vector, 1, allowed={row})
        assert found == row and score == pytest.approx(1.0, abs=1e-4), f"vector of chunk row {row}"


def check_index(config: Settings, ledger: Ledger) -> None:
    """Everything acknowledged is there, whole; nothing is half there."""
    pipeline = Pipeline(config, FakeEmbedder(), None)
    try:
        index = pipeline.index
        documents, chunks, _ = index.chunks.counts()
        assert index.vectors.size == chunks == index.lexical.size
        stored = {d.doc_id for d in index.chunks.list_documents()}
        assert len(stored) == documents
        known = set(ledger.states) | ({ledger.in_flight[0]} if ledger.in_flight else set())
        assert stored <= known, f"documents nobody wrote: {stored - known}"
        rows: list[int] = []
        for doc_id in sorted(known):
            version = stored_version(pipeline, doc_id)
            assert version in ledger.allowed(doc_id), (
                f"{doc_id}: stored {version}, acknowledged {ledger.states.get(doc_id)}, "
                f"in flight {ledger.in_flight}"
            )
            if version is not None:
                rows += check_document(pipeline, doc_id, version)
        assert len(rows) == chunks
        check_vectors(pipeline, sorted(rows))
        for number, version in ledger.superseded:
            terms = index.analyzer.terms(marker(number, version))
            replaced = index.lexical.search(terms, 10, parameters=BM25S_LUCENE)
            assert replaced == [], "a replaced version is searchable"
    finally:
        pipeline.close()


def write_once_more(config: Settings, ledger: Ledger) -> None:
    """The next writer removes the killed one's half-written generation and keeps at most two;
    then `rag ingest` of the corpus (uploads included) agrees with what was acknowledged."""
    root = config.index_dir
    before = Pointer.read(root).generation if Index.exists(root) else 0
    leftovers = [g for g in generation_numbers(root) if g > before]
    pipeline = Pipeline(config, FakeEmbedder(), None)
    try:
        record = {"doc_id": "doc-9999", "title": document_title(9999, 1), "text": document_text(9999, 1)}
        report = pipeline.add_documents([stage_record(record, config.upload_dir, config.corpus_dir)])
        assert report.added == ["doc-9999"]
        current = Pointer.read(root).generation
        generations = generation_numbers(root)
        assert current == report.generation and current in generations
        assert set(generations) <= {current, current - 1}, (generations, leftovers)
        # Every remaining generation is complete: a leftover is gone, or its number was reused.
        for number in generations:
            directory = root / generation_name(number)
            verify_files(directory, Manifest.read(directory / MANIFEST_FILE))
        # The store holds nothing of the killed write: its rows were undone (counts match the
        # manifest), and every text and vector passes its CRC.
        assert verify_index(root).problems == ()
        check_document(pipeline, "doc-9999", 1)
        # Temporary files a killed writer left (`.CURRENT.tmp-…`, `.<upload>.tmp-…`) are gone.
        for directory in (root, config.upload_dir):
            assert not list(directory.glob(".*.tmp-*")), sorted(p.name for p in directory.iterdir())
    finally:
        pipeline.close()
    ledger.states["doc-9999"] = 1
    check_index(config, ledger)

    # The upload files are the source of truth: re-reading them keeps every acknowledged change
    # (only the change in flight at the kill may go either way).
    pipeline = Pipeline(config, FakeEmbedder(), None)
    try:
        result = pipeline.ingest()
        assert result.skipped == []
    finally:
        pipeline.close()
    check_index(config, ledger)


def run_trial(
    seed: int, process: subprocess.Popen[str], directory: Path, duration: float, summary: Summary
) -> None:
    config = settings(directory / "corpus", directory / "index")
    delay = random.Random(seed).uniform(0.0, duration)
    go(process)
    time.sleep(delay)  # the random moment of the crash
    process.send_signal(signal.SIGKILL)
    lines, err = finish(process)
    assert "Traceback" not in err, err
    ledger = Ledger.parse(lines)
    assert process.returncode == -signal.SIGKILL or (process.returncode == 0 and ledger.done), (
        process.returncode,
        err,
    )
    summary.trials += 1
    summary.killed += process.returncode == -signal.SIGKILL
    summary.mid_operation += ledger.in_flight is not None
    summary.acked += ledger.acks
    root = config.index_dir
    current = Pointer.read(root).generation if Index.exists(root) else 0
    summary.half_written_generations += any(g > current for g in generation_numbers(root))
    summary.committed_not_acked += ledger.in_flight is not None and current > (ledger.last_generation or 0)
    if root.is_dir():
        summary.stray_files += [p.name for p in root.iterdir() if p.name.startswith(".")]

    if not Index.exists(root):
        assert ledger.acks == 0, "acknowledged changes but no index"
        summary.no_index += 1
        with pytest.raises(IndexNotFoundError):
            _ = Pipeline(config, FakeEmbedder(), None).index
    else:
        check_index(config, ledger)
    write_once_more(config, ledger)


def calibrate(directory: Path) -> float:
    """Run the worker to the end once (it must pass every check) and time its writing."""
    process = start_worker(directory)
    wait_ready(process)
    started = time.monotonic()
    go(process)
    lines, err = finish(process)
    duration = time.monotonic() - started
    ledger = Ledger.parse(lines)
    assert process.returncode == 0 and ledger.done, err
    assert ledger.in_flight is None and ledger.acks >= DOCUMENTS
    assert sum(1 for state in ledger.states.values() if state is None) >= 2  # deletions happened
    index_dir = directory / "index"
    check_index(settings(directory / "corpus", index_dir), ledger)
    # The run's commits merge segments (ten small ones at a time, or one past 20% dead),
    # so kills land inside merges as well as plain writes and deletes.
    listing = index_dir / Pointer.read(index_dir).directory / "segments" / "segments.json"
    names = [entry["name"] for entry in json.loads(listing.read_text(encoding="utf-8"))["segments"]]
    assert any(name.count("-") == 2 for name in names), f"no merged segment after the run: {names}"
    return duration


def test_a_killed_writer_never_loses_acknowledged_changes_or_damages_the_index(tmp_path: Path) -> None:
    started = time.monotonic()
    duration = calibrate(tmp_path / "calibration")
    summary = Summary()
    # The next worker starts (imports, opens nothing yet) while the last trial is checked.
    pending = start_worker(tmp_path / "trial-0")
    try:
        for seed in range(TRIALS):
            wait_ready(pending)
            process = pending
            if seed + 1 < TRIALS:
                pending = start_worker(tmp_path / f"trial-{seed + 1}")
            run_trial(seed, process, tmp_path / f"trial-{seed}", duration, summary)
    finally:
        if pending.poll() is None:  # a test that failed leaves the next worker waiting
            pending.kill()
            pending.communicate(timeout=30)
    elapsed = time.monotonic() - started
    print(
        f"\ncrash test: {summary.trials} trials in {elapsed:.1f}s (one uninterrupted run {duration:.2f}s); "
        f"{summary.killed} killed, {summary.mid_operation} during a change, "
        f"{summary.half_written_generations} left a half-written generation, "
        f"{summary.committed_not_acked} committed but not yet acknowledged, {summary.no_index} before "
        f"any index existed; {summary.acked} changes acknowledged; "
        f"temporary files left by a kill (removed by the next writer): {len(summary.stray_files)}"
    )
    assert summary.trials == TRIALS
    if TRIALS >= 10:  # the kills must land inside writes, not only between them
        assert summary.half_written_generations > 0 and summary.mid_operation > 0
    assert elapsed < 30 + SECONDS_PER_TRIAL * TRIALS
