"""Uploads at the size limit, against a real `rag serve` with two worker processes.

A 10.4 MB text once killed the worker that took it (one tokenizer call held the GIL past
uvicorn's health ping), left the file in corpus/uploads/ without its document, and a
half-written generation behind. Here: every upload is answered within seconds, ends indexed or
refused, no worker is replaced, and the upload directory holds exactly the committed files.
The limit is set to 1 MiB so that indexing fits the test suite (a server worker embeds on one
core); the README gives the figures at the default 10 MiB.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS
from tests.support.jobs import settled
from tests.support.servers import running_server

pytestmark = pytest.mark.integration
LIMIT = 1024 * 1024
ANSWER_WITHIN_S = 10
FACT = "The loading dose of zorvatinib was 75 mg in the LARGE-1 study."


def text_of_size(size: int, seed: int) -> bytes:
    """Paragraphs of real sentences from the corpus, shuffled, with FACT among them: `size` bytes."""
    sentences = [
        s.strip() + "."
        for path in sorted(CORPUS.glob("*.md"))
        for s in path.read_text(encoding="utf-8").split("---")[-1].split(". ")
        if 40 < len(s) < 300 and s.isascii()
    ]
    rng = random.Random(seed)
    parts = [f"# Collected trial notes {seed}\n\n{FACT}\n\n"]
    length = len(parts[0])
    while length < size:
        paragraph = " ".join(rng.sample(sentences, 5)) + "\n\n"
        parts.append(paragraph)
        length += len(paragraph)
    return "".join(parts).encode()[:size]


@pytest.fixture
def server(corpus_index: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    shutil.copytree(corpus_index, tmp_path / "index")
    uploads = tmp_path / "uploads"
    env = {
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_CORPUS_DIR": str(CORPUS),
        "RAG_UPLOADS_DIR": str(uploads),
        "RAG_MAX_UPLOAD_BYTES": str(LIMIT),
    }
    with running_server(env, tmp_path / "server.log", workers=2) as base:
        yield base, uploads


def worker_pids(base: str) -> set[int]:
    """The pids that answer /health (each request on a new connection: the kernel spreads them)."""
    pids: set[int] = set()
    deadline = time.monotonic() + 30
    while len(pids) < 2 and time.monotonic() < deadline:
        pids.add(httpx.get(f"{base}/health", timeout=10).json()["pid"])
    assert len(pids) == 2, pids
    return pids


class HealthWatch:
    """Asks /health twice a second in the background; every answer's pid and time is kept."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.answers: list[tuple[int | None, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            started = time.monotonic()
            try:
                pid = httpx.get(f"{self.base}/health", timeout=30).json()["pid"]
            except httpx.TransportError:
                pid = None
            self.answers.append((pid, time.monotonic() - started))


def test_uploads_at_the_limit_end_indexed_or_refused_and_no_worker_dies(server: tuple[str, Path]) -> None:
    base, uploads = server
    at_limit = text_of_size(LIMIT, seed=1)
    just_under = at_limit[:-1]  # the same article again, under another name
    assert len(at_limit) == LIMIT
    with httpx.Client(base_url=base, timeout=600) as client:
        pids = worker_pids(base)
        documents_before = client.get("/stats").json()["documents"]
        with HealthWatch(base) as health:
            started = time.monotonic()
            first = client.post("/documents", files={"file": ("collected-notes.txt", at_limit)})
            answered_s = time.monotonic() - started
            assert answered_s < ANSWER_WITHIN_S and first.status_code in (200, 202), first.text
            status, body = settled(client, first)
            indexed_s = time.monotonic() - started
            assert status == 200, body
            assert body["added"] == ["collected-notes"] and body["chunks_added"] > 500
            assert sorted(p.name for p in uploads.iterdir()) == ["collected-notes.txt"]

            started = time.monotonic()
            second = client.post("/documents", files={"file": ("same-notes.txt", just_under)})
            assert time.monotonic() - started < ANSWER_WITHIN_S and second.status_code in (202, 409)
            status, body = settled(client, second)
            assert status == 409 and "same article as the stored document" in body["detail"]
            assert sorted(p.name for p in uploads.iterdir()) == ["collected-notes.txt"]

        assert health.answers and all(pid in pids for pid, _ in health.answers), health.answers
        assert worker_pids(base) == pids  # no worker was replaced
        assert client.get("/stats").json()["documents"] == documents_before + 1
        answer = client.post("/ask", json={"question": "What was the loading dose of zorvatinib?"}).json()
        assert answer["citations"][0]["doc_id"] == "collected-notes" and "75 mg" in answer["answer"]
        slowest = max(seconds for _, seconds in health.answers)
        print(
            f"\n{LIMIT} bytes: answered in {answered_s:.1f} s, indexed in {indexed_s:.0f} s; "
            f"/health answered {len(health.answers)} times during it, slowest {slowest:.2f} s"
        )
    generations = sorted(p.name for p in (uploads.parent / "index").iterdir() if p.name.startswith("gen-"))
    assert len(generations) <= 2, generations  # no half-written generation left behind
