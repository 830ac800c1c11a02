"""Time to the first streamed words against time to the whole answer, over real HTTP.

Every gold question is asked through POST /ask/stream of a warm `rag serve`, one at a time,
as the web page asks it; the clock runs from sending the request to the first `sentence` or
`token` event, and to the `final` event (the complete, verified answer).
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.common import percentiles, questions
from bench.latency import served
from rag.settings import Settings


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    texts = questions()[: 40 if quick else None]
    results: dict[str, Any] = {"questions": len(texts), "generation_model": None}
    generation = settings.generation
    if generation.configured:
        results["generation_model"] = generation.packaged_model or (
            generation.model_path.name if generation.model_path else None
        )
        results["max_new_tokens"] = generation.max_new_tokens
    modes = ["extractive", "generative"] if generation.configured else ["extractive"]
    with served(settings) as server, httpx.Client(base_url=server.base, timeout=120) as client:
        for mode in modes:
            stream(client, texts[0], mode)  # warm-up
            cited, first, final = [], [], []
            for text in texts:
                cited_ms, first_ms, final_ms = stream(client, text, mode)
                cited.append(cited_ms)
                first.append(first_ms)
                final.append(final_ms)
            results[mode] = {
                "citations_ms": percentiles(cited),
                "first_text_ms": percentiles(first),
                "final_ms": percentiles(final),
                "first_vs_final_p50": percentiles(first)["p50_ms"] / percentiles(final)["p50_ms"],
            }
    return results


def stream(client: httpx.Client, question: str, mode: str) -> tuple[float, float, float]:
    """Milliseconds to the `citations` event, the first words, and the `final` event."""
    clock = time.perf_counter()
    seen: dict[str, float] = {}
    with client.stream("POST", "/ask/stream", json={"question": question, "mode": mode}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("event: "):
                continue
            kind = line.removeprefix("event: ")
            seen.setdefault("text" if kind in ("sentence", "token") else kind, time.perf_counter() - clock)
            if kind == "final":
                break
    final = seen["final"] * 1000
    # An answer is streamed in one piece or more, an abstention too ("The documents do not ...").
    return seen["citations"] * 1000, seen.get("text", seen["final"]) * 1000, final


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        "## Streaming: first words against the whole answer (POST /ask/stream)",
        "",
        f"{result['questions']} gold questions, one at a time, real HTTP; from the request to the "
        "`citations` event (what was retrieved), to the first `sentence`/`token` event and to the `final` "
        "event (the complete, verified answer).",
        "",
        "| composer | citations p50 ms | first words p50 ms | p95 ms | whole answer p50 ms | p95 ms "
        "| first / whole (p50) |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("extractive", "generative"):
        row = result.get(mode)
        if row is None:
            continue
        first, final = row["first_text_ms"], row["final_ms"]
        lines.append(
            f"| {mode} | {row['citations_ms']['p50_ms']:.1f} | {first['p50_ms']:.1f} | {first['p95_ms']:.1f} "
            f"| {final['p50_ms']:.1f} | {final['p95_ms']:.1f} | {row['first_vs_final_p50']:.2f} |"
        )
    if result["generation_model"]:
        lines += [
            "",
            f"Generative: model `{result['generation_model']}`, up to {result['max_new_tokens']} new tokens; "
            "its tokens stream as they are generated, and the final event carries the verified answer.",
        ]
    return "\n".join(lines) + "\n"
