"""A real `rag serve` under mixed load: questions, searches and document writes at once."""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS
from tests.support.jobs import settled
from tests.support.servers import running_server

pytestmark = pytest.mark.integration

CLIENTS = 16
REQUESTS = 240
QUESTIONS = [
    "What was the median PFS of sorafenib after sunitinib failure?",
    "Which dose of sorafenib was used?",
    "What was the hazard ratio for overall survival with regorafenib?",
    "Does sorafenib cause hand-foot skin reaction?",
    "What is the capital of France?",
]


@dataclass
class LoadRecord:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    acknowledged: dict[str, str] = field(default_factory=dict)  # doc_id -> "present" / "deleted"
    health_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, status: int, doc_id: str | None = None, state: str = "present") -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            if doc_id is not None and status == 200:
                self.acknowledged[doc_id] = state


def one_request(base: str, number: int, record: LoadRecord) -> None:
    """A question, a search or a write (JSON, file upload, or add-then-delete; a write answered
    202 is followed to its end), then /health."""
    rng = random.Random(number)
    kind = rng.choices(["ask", "search", "write", "upload", "delete"], weights=[8, 4, 3, 1, 1])[0]
    with httpx.Client(base_url=base, timeout=120) as client:
        if kind == "ask":
            response = client.post("/ask", json={"question": rng.choice(QUESTIONS)})
            record.note(kind, response.status_code)
        elif kind == "search":
            response = client.post("/search", json={"query": rng.choice(QUESTIONS), "top_k": 8})
            record.note(kind, response.status_code)
        elif kind == "write":
            text = f"Load note {number}. Sorafenib at 400 mg twice daily gave a PFS of {number} weeks."
            body = {"doc_id": f"load-{number}", "title": f"Load note {number}", "text": text}
            status, _ = settled(client, client.post("/documents", json=body))
            record.note(kind, status, body["doc_id"])
        elif kind == "upload":
            content = f"# Uploaded note {number}\nAxitinib was compared with sorafenib in trial {number}."
            response = client.post("/documents", files={"file": (f"note-{number}.md", content.encode())})
            record.note(kind, settled(client, response)[0], f"uploads--note-{number}")
        else:
            doc_id = f"gone-{number}"
            added = client.post(
                "/documents", json={"doc_id": doc_id, "title": "Temp", "text": "Short-lived."}
            )
            record.note("write", settled(client, added)[0])
            record.note(kind, client.delete(f"/documents/{doc_id}").status_code, doc_id, "deleted")
        clock = time.perf_counter()
        assert client.get("/health").status_code == 200
        record.health_ms.append((time.perf_counter() - clock) * 1000)


@pytest.fixture
def server_url(corpus_index: Path, tmp_path: Path) -> Iterator[str]:
    """`rag serve` (a worker per core) on copies of the corpus and its index; fails the test if
    its log shows errors."""
    index_dir, corpus_dir = tmp_path / "index", tmp_path / "corpus"
    shutil.copytree(corpus_index, index_dir)
    shutil.copytree(CORPUS, corpus_dir)
    env = {"RAG_INDEX_DIR": str(index_dir), "RAG_CORPUS_DIR": str(corpus_dir)}
    with running_server(env, tmp_path / "server.log", workers=None) as base:
        yield base
    assert "Already borrowed" not in (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")


def test_mixed_concurrent_load_has_no_server_errors(server_url: str) -> None:
    record = LoadRecord()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(lambda n: one_request(server_url, n, record), range(REQUESTS)))
    elapsed = time.perf_counter() - started

    statuses = record.statuses
    assert sum(statuses.values()) >= 200
    assert all(status == 200 for (_, status) in statuses), statuses  # no 5xx, and no 4xx either
    documents = httpx.get(f"{server_url}/documents", params={"limit": 1000}).json()["documents"]
    listed = {d["doc_id"] for d in documents}
    for doc_id, state in record.acknowledged.items():
        assert (doc_id in listed) == (state == "present"), doc_id
    stats = httpx.get(f"{server_url}/stats").json()
    assert stats["documents"] == 34 + sum(1 for s in record.acknowledged.values() if s == "present")
    health = sorted(record.health_ms)
    print(
        f"\n{sum(statuses.values())} requests from {CLIENTS} clients in {elapsed:.1f} s: "
        f"{dict(sorted(statuses.items()))}; generation {stats['generation']}; "
        f"/health during load: p50 {health[len(health) // 2]:.0f} ms, max {health[-1]:.0f} ms"
    )
