"""A real `rag serve` with two workers, JSON logs and the shipped corpus: after a burst of mixed
requests, /metrics (whichever worker answers the scrape) reports exactly what was sent, and
the log is JSON lines that name each request's id."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import CORPUS
from tests.support.jobs import settled
from tests.support.servers import running_server

pytestmark = pytest.mark.integration

QUESTIONS = [
    "What was the median PFS of sorafenib after sunitinib failure?",
    "Which dose of sorafenib was used?",
    "What was the response rate of pembrolizumab in melanoma?",  # absent from the corpus
    "What is the capital of France?",
]
# (kind, how many): asks and searches, the document list, an unknown document (404), an empty
# question (422), a path no route serves (404).
BURST = [("ask", 12), ("search", 6), ("list", 4), ("missing", 3), ("invalid", 3), ("nowhere", 2)]
ROUTE = {
    "ask": ("POST", "/ask"),
    "search": ("POST", "/search"),
    "list": ("GET", "/documents"),
    "missing": ("GET", "/documents/{doc_id}"),
    "invalid": ("POST", "/ask"),
    "nowhere": ("GET", "unrouted"),
}
NOT_COUNTED = {"/health", "/ready", "/metrics", "/jobs/{job_id}"}  # probes, scrapes, job polls
TRACED = "burst-ask-0"
Series = tuple[str, str, str]  # method, route, status
Scraped = dict[str, dict[frozenset[tuple[str, str]], float]]  # sample name -> labels -> value


@dataclass
class Sent:
    requests: Counter[Series] = field(default_factory=Counter)
    abstained: int = 0
    answers: int = 0
    stats: dict[str, Any] = field(default_factory=dict)  # GET /stats after the burst
    lock: threading.Lock = field(default_factory=threading.Lock)


def send(base: str, kind: str, number: int, sent: Sent) -> None:
    """One request of the burst, on a connection of its own (so either worker may take it)."""
    with httpx.Client(base_url=base, timeout=120) as client:
        if kind == "ask":
            question = QUESTIONS[number % len(QUESTIONS)]
            response = client.post(
                "/ask", json={"question": question}, headers={"X-Request-ID": f"burst-ask-{number}"}
            )
        elif kind == "search":
            response = client.post("/search", json={"query": QUESTIONS[number % len(QUESTIONS)]})
        elif kind == "list":
            response = client.get("/documents", params={"limit": 5})
        elif kind == "missing":
            response = client.get(f"/documents/no-such-paper-{number}")
        elif kind == "invalid":
            response = client.post("/ask", json={"question": ""})
        else:
            response = client.get(f"/no/such/path/{number}")
    expected = {"missing": 404, "invalid": 422, "nowhere": 404}.get(kind, 200)
    assert response.status_code == expected, (kind, response.text)
    method, route = ROUTE[kind]
    with sent.lock:
        sent.requests[(method, route, str(response.status_code))] += 1
        if kind == "ask":
            sent.answers += 1
            sent.abstained += response.json()["abstained"]


def scrape(base: str) -> tuple[int, Scraped]:
    """(the pid of the worker that answered, its /metrics by sample name and labels): /health
    and /metrics on one connection, so one worker answers both."""
    with httpx.Client(base_url=base, timeout=30) as client:
        pid = client.get("/health").json()["pid"]
        response = client.get("/metrics")
    assert response.status_code == 200
    samples: Scraped = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return pid, samples


def requests_in(samples: Scraped, name: str) -> dict[Series, float]:
    counted = {}
    for labels, count in samples.get(name, {}).items():
        label = dict(labels)
        if "le" not in label and label["route"] not in NOT_COUNTED:
            counted[(label["method"], label["route"], label["status"])] = count
    return counted


def test_metrics_after_a_burst_count_what_was_sent_across_two_workers(
    corpus_index: Path, tmp_path: Path
) -> None:
    index_dir, corpus_dir, temporary = tmp_path / "index", tmp_path / "corpus", tmp_path / "tmp"
    shutil.copytree(corpus_index, index_dir)
    shutil.copytree(CORPUS, corpus_dir)
    temporary.mkdir()
    env = {
        "RAG_INDEX_DIR": str(index_dir),
        "RAG_CORPUS_DIR": str(corpus_dir),
        "RAG_LOG_FORMAT": "json",
        "TMPDIR": str(temporary),  # where the server makes its metrics directory
    }
    log = tmp_path / "server.log"
    with running_server(env, log, workers=2) as base:
        assert len(list(temporary.glob("rag-metrics-*"))) == 1
        sent = burst(base)
        workers = check_scrapes(base, sent)
    assert len(workers) == 2, f"every scrape was answered by worker {workers}"
    assert not list(temporary.glob("rag-metrics-*"))  # the metrics directory went with the server
    records = json_log(log)
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    traced = [r for r in access if r["request_id"] == TRACED]
    assert [(r["method"], r["path"], r["status"]) for r in traced] == [("POST", "/ask", 200)]
    assert all(r["request_id"] != "-" for r in access) and len({r["pid"] for r in access}) == 2
    ready = [r for r in records if r["logger"] == "api" and r["message"].startswith("ready:")]
    assert len({r["pid"] for r in ready}) == 2  # the service's own records, from each worker


def burst(base: str) -> Sent:
    """The mixed requests from 8 clients at once, then an upload and its deletion."""
    sent = Sent()
    work = [(kind, number) for kind, count in BURST for number in range(count)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: send(base, item[0], item[1], sent), work))
    with httpx.Client(base_url=base, timeout=120) as client:
        note = {"doc_id": "ward-note", "title": "Ward note", "text": "Sorafenib was stopped after a rash."}
        assert settled(client, client.post("/documents", json=note))[0] == 200
        assert client.delete("/documents/ward-note").status_code == 200
        sent.stats = client.get("/stats").json()
    sent.requests[("POST", "/documents", "200")] += 1
    sent.requests[("DELETE", "/documents/{doc_id}", "200")] += 1
    sent.requests[("GET", "/stats", "200")] += 1
    assert sent.abstained >= 6 and sent.answers == 12  # the two questions the corpus cannot answer
    return sent


def check_scrapes(base: str, sent: Sent) -> set[int]:
    """Scrape until both workers have answered (at least 6 scrapes): each reports all that was
    sent. Returns the pids of the workers that answered."""
    workers: set[int] = set()
    scrapes = 0
    deadline = time.monotonic() + 60
    while (len(workers) < 2 or scrapes < 6) and time.monotonic() < deadline:
        pid, samples = scrape(base)
        workers.add(pid)
        scrapes += 1
        assert requests_in(samples, "rag_http_requests_total") == sent.requests, pid
        assert requests_in(samples, "rag_http_request_duration_seconds_count") == sent.requests, pid
        assert samples["rag_answers_total"] == {frozenset({("composer", "extractive")}): sent.answers}
        assert samples["rag_answers_abstained_total"] == {
            frozenset({("composer", "extractive")}): sent.abstained
        }
        stages = {dict(k)["stage"]: v for k, v in samples["rag_answer_stage_seconds_count"].items()}
        assert stages == {"embed": sent.answers, "retrieve": sent.answers, "compose": sent.answers}
        writes = {tuple(sorted(dict(k).values())): v for k, v in samples["rag_index_writes_total"].items()}
        assert writes == {("done", "upload"): 1, ("delete", "done"): 1}
        index = {name: samples[f"rag_index_{name}"][frozenset()] for name in ("documents", "chunks")}
        index["generation"] = samples["rag_index_generation"][frozenset()]
        assert index == {name: sent.stats[name] for name in index} and index["documents"] == 34
    return workers


def json_log(log: Path) -> list[dict[str, Any]]:
    """The server's log records: every line from a logger is a JSON object (the lines printed
    before the workers start, such as "starting 2 workers", are not log records)."""
    lines = log.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) > 40 and all({"time", "level", "logger", "message", "pid"} <= set(r) for r in records)
    return records
