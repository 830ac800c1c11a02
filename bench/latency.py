"""Query latency over real HTTP, start-up time and memory of a warm `rag serve`.

The reference is a bare `SentenceTransformer.encode(question)` with the same weights, timed in
this process while the server is idle: the one cost a query cannot avoid. Latencies are
reported as ratios to it, and throughput at 4 and 16 clients as a ratio to 1 client, because
absolute times on a shared machine drift between runs. `/ask` with a metadata filter is timed
against `/ask` without one, the requests interleaved in the same run (`filter_latency`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from api.settings import ServerSettings
from bench.common import percentiles, questions
from rag.errors import ConfigurationError
from rag.settings import Settings

CLIENTS = (1, 4, 16)
ENDPOINTS = ("/ask", "/search")
FILTER_TARGET = 1.2  # p50 of /ask with a filter, at most this many times the p50 without one


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    texts = questions()
    reference = bare_encode_ms(settings, texts[: 40 if quick else 100])
    backend_reference = backend_encode_ms(settings, texts[: 40 if quick else 100])
    per_client = 30 if quick else 60
    with served(settings) as server:
        results: dict[str, Any] = {
            "startup_s": server.startup_s,
            "workers": server.workers,
            "backend": f"{settings.embedding.backend} {settings.embedding.precision}",
            "rss_mb_idle": server.rss_mb(),
        }
        for endpoint in ENDPOINTS:
            _load(server.base, endpoint, texts, clients=1, total=10)  # warm caches
            rows = {}
            for clients in CLIENTS:
                rows[str(clients)] = _load(server.base, endpoint, texts, clients, per_client * clients)
            results[endpoint] = rows
        results["filters"] = filter_latency(server.base, texts, 60 if quick else 150)
        results["rss_mb_after"] = server.rss_mb()
        results["rss_mb_peak"] = server.rss_mb("VmHWM")
    one = results["/ask"]["1"]
    results["reference_encode_ms"] = reference
    results["backend_encode_ms"] = backend_reference
    results["ratios"] = {
        "ask_p50_vs_encode": one["p50_ms"] / reference["p50_ms"],
        "ask_p50_vs_backend_encode": one["p50_ms"] / backend_reference["p50_ms"],
        "search_p50_vs_encode": results["/search"]["1"]["p50_ms"] / reference["p50_ms"],
        "ask_throughput_4_vs_1": results["/ask"]["4"]["rps"] / one["rps"],
        "ask_throughput_16_vs_1": results["/ask"]["16"]["rps"] / one["rps"],
    }
    worst_filter = max(v["p50_vs_unfiltered"] for v in results["filters"]["variants"].values())
    results["ratios"]["ask_p50_filtered_vs_unfiltered"] = worst_filter
    results["targets"] = {
        "ask_p50_vs_encode <= 2.0": results["ratios"]["ask_p50_vs_encode"] <= 2.0,
        f"ask_p50_filtered_vs_unfiltered <= {FILTER_TARGET}": worst_filter <= FILTER_TARGET,
        "ask_throughput_4_vs_1 >= 1.5": results["ratios"]["ask_throughput_4_vs_1"] >= 1.5,
        "startup_s <= 5": server.startup_s <= 5.0,
    }
    return results


def filter_variants(base: str) -> dict[str, dict[str, Any]]:
    """The filters timed, chosen from the collection's facets: a year range letting through the
    share of documents nearest one half, and the journal with the most documents."""
    facets = httpx.get(f"{base}/facets", timeout=30).json()
    total = facets["documents"]
    dated = sorted((y["value"], y["count"]) for y in facets["years"] if y["value"] is not None)
    shares = {year: sum(n for y, n in dated if y >= year) / total for year, _ in dated}
    year = min(shares, key=lambda y: abs(shares[y] - 0.5))
    journal = next(j for j in facets["journals"] if j["value"] is not None)
    return {
        "none": {"filters": None, "share": 1.0},
        f"year_from={year}": {"filters": {"year_from": year}, "share": shares[year]},
        f"journals=[{journal['value']}]": {
            "filters": {"journals": [journal["value"]]},
            "share": journal["count"] / total,
        },
    }


def filter_latency(base: str, texts: list[str], total: int) -> dict[str, Any]:
    """/ask at 1 client with and without each filter: the same questions, the variants
    interleaved request by request, so a change in the machine's load hits them alike."""
    variants = filter_variants(base)
    times: dict[str, list[float]] = {name: [] for name in variants}
    errors = dict.fromkeys(variants, 0)
    with httpx.Client(base_url=base, timeout=60) as client:
        for i in range(total + 5):  # the first 5 rounds warm up (a filter's rows are read once)
            for name, variant in variants.items():
                body: dict[str, Any] = {"question": texts[i % len(texts)]}
                if variant["filters"] is not None:
                    body["filters"] = variant["filters"]
                clock = time.perf_counter()
                status = client.post("/ask", json=body).status_code
                if i >= 5:
                    times[name].append((time.perf_counter() - clock) * 1000)
                    errors[name] += status != 200
    unfiltered = percentiles(times["none"])["p50_ms"]
    rows = {}
    for name, variant in variants.items():
        row = percentiles(times[name])
        rows[name] = {**row, "share": variant["share"], "errors": errors[name]}
        rows[name]["p50_vs_unfiltered"] = row["p50_ms"] / unfiltered
    return {
        "requests": total,
        "variants": {k: v for k, v in rows.items() if k != "none"},
        "none": rows["none"],
    }


def backend_encode_ms(settings: Settings, texts: list[str]) -> dict[str, float]:
    """The configured backend's own embedding of one question, in this process: what a query
    costs at the least once the model is faster than sentence-transformers on PyTorch."""
    from rag.embed import load_embedder

    # With as many threads as one server worker gets.
    embedding = settings.embedding.model_copy(update={"threads": ServerSettings.of(settings).worker_threads})
    embedder = load_embedder(embedding, settings.model_cache_dir)
    for text in texts[:5]:
        embedder.embed([text])
    times = []
    for text in texts:
        clock = time.perf_counter()
        embedder.embed([text])
        times.append((time.perf_counter() - clock) * 1000)
    return percentiles(times)


def bare_encode_ms(settings: Settings, texts: list[str]) -> dict[str, float]:
    """sentence-transformers' model.encode(question), one at a time, nothing else: the issue's
    reference for the cost of a query."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    from rag.embed.weights import locate_model

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = SentenceTransformer(str(locate_model(settings.embedding).directory), device="cpu")
    for text in texts[:5]:
        model.encode(text)
    times = []
    for text in texts:
        clock = time.perf_counter()
        model.encode(text)
        times.append((time.perf_counter() - clock) * 1000)
    return percentiles(times)


class Server:
    def __init__(self, process: subprocess.Popen[bytes], base: str, startup_s: float, workers: int) -> None:
        self.process = process
        self.base = base
        self.startup_s = startup_s
        self.workers = workers

    def rss_mb(self, field: str = "VmRSS") -> float:
        """Resident memory of the server and its worker processes, from /proc (kB there)."""
        total = 0
        for pid in _process_tree(self.process.pid):
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:  # a process that ended between listing and reading
                continue
            total += sum(int(line.split()[1]) for line in lines if line.startswith(f"{field}:"))
        return total / 1024


def _process_tree(pid: int) -> list[int]:
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending += [int(child) for child in task.read_text().split()]
    return pids


class served:  # noqa: N801 - used as a context manager, like open()
    """`rag serve` on the configured index, timed from process start to /ready."""

    def __init__(self, settings: Settings) -> None:
        self.settings = ServerSettings.of(settings)
        self.server: Server | None = None

    def __enter__(self) -> Server:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        env = {
            **os.environ,
            "RAG_INDEX_DIR": str(self.settings.index_dir),
            "RAG_CORPUS_DIR": str(self.settings.corpus_dir),
            "RAG_WORKERS": str(self.settings.worker_count),
            "HF_HUB_OFFLINE": "1",
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = started + 120
        workers = self.settings.worker_count
        ready: set[int] = set()
        # Each worker accepts connections only once it has loaded; a fresh connection per
        # probe lets every ready worker answer one, until all have been seen.
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise ConfigurationError("`rag serve` exited during start-up", "run `rag ingest` first")
            try:
                response = httpx.get(f"{base}/ready", timeout=5)
                if response.status_code == 200:
                    ready.add(int(response.json()["pid"]))
                    if len(ready) >= workers:
                        self.server = Server(process, base, time.perf_counter() - started, workers)
                        return self.server
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        process.kill()
        raise ConfigurationError(f"`rag serve` did not have {workers} workers ready in 120 s")

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.process.terminate()
            self.server.process.wait(timeout=30)


def _load(base: str, endpoint: str, texts: list[str], clients: int, total: int) -> dict[str, float]:
    """`total` requests from `clients` concurrent clients: latency percentiles, throughput, errors."""
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    key = "question" if endpoint == "/ask" else "query"

    def worker(offset: int) -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=60) as client:
            for i in range(offset, total, clients):
                clock = time.perf_counter()
                try:
                    status = client.post(endpoint, json={key: texts[i % len(texts)]}).status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = (time.perf_counter() - clock) * 1000
                with lock:
                    times.append(elapsed)
                    errors += status != 200

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.perf_counter() - started
    return {**percentiles(times), "rps": total / wall, "requests": total, "errors": errors}


def to_markdown(result: dict[str, Any]) -> str:
    reference = result["reference_encode_ms"]["p50_ms"]
    backend = result["backend_encode_ms"]["p50_ms"]
    targets = result["targets"]
    lines = [
        "## Query latency (real HTTP on loopback, warm server)",
        "",
        f"Server: {result['workers']} worker process(es), embedding backend {result['backend']}.",
        "",
        f"Reference: bare sentence-transformers `model.encode(question)` p50 **{reference:.1f} ms**; "
        f"the configured backend's own embedding of one question p50 **{backend:.1f} ms** (same run, "
        "server idle). One `/ask` at 1 client costs "
        f"{result['ratios']['ask_p50_vs_backend_encode']:.2f}x the latter.",
        "",
        "| endpoint | clients | p50 ms | p95 ms | p99 ms | p50 / encode | req/s | vs 1 client | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for endpoint in ENDPOINTS:
        one = result[endpoint]["1"]["rps"]
        for clients in CLIENTS:
            row = result[endpoint][str(clients)]
            times = f"{row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f}"
            lines.append(
                f"| `{endpoint}` | {clients} | {times} "
                f"| {row['p50_ms'] / reference:.2f}x | {row['rps']:.1f} | {row['rps'] / one:.2f}x "
                f"| {row['errors']} |"
            )
    filters = result["filters"]
    lines += [
        "",
        f"`/ask` with a metadata filter, 1 client, {filters['requests']} requests per variant interleaved "
        f"with the same questions unfiltered (p50 **{filters['none']['p50_ms']:.1f} ms**):",
        "",
        "| filter | documents let through | p50 ms | p95 ms | p50 / unfiltered | errors |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in filters["variants"].items():
        lines.append(
            f"| `{name}` | {row['share']:.0%} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} "
            f"| {row['p50_vs_unfiltered']:.2f}x | {row['errors']} |"
        )
    lines += [
        "",
        f"Start-up to `/ready` with an existing index: **{result['startup_s']:.1f} s**. Resident memory: "
        f"{result['rss_mb_idle']:.0f} MB idle, {result['rss_mb_after']:.0f} MB after the load "
        f"(peak {result['rss_mb_peak']:.0f} MB).",
        "",
        "Targets: " + ", ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in targets.items()),
    ]
    return "\n".join(lines) + "\n"
