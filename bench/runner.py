"""Run the selected benchmarks and write `latest.json` and `latest.md` under the output folder."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import machine
from bench.plot import write_plot
from rag.settings import Settings

SUITES = ("latency", "streaming", "ingestion", "backends", "scaling", "writes", "pubmedqa")
# Run only when named (`python -m bench distributed`, `make bench-ray`): it needs the distributed extra.
OPTIONAL_SUITES = ("distributed",)


def run_all(
    settings: Settings,
    suites: Sequence[str],
    *,
    quick: bool,
    out: Path,
    data: Path | None = None,
) -> tuple[dict[str, Any], str]:
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "quick": quick,
        }
    }
    sections = []
    for name in suites:
        module = importlib.import_module(f"bench.{name}")
        clock = time.perf_counter()
        options: dict[str, Any] = {"data": data} if name == "pubmedqa" and data is not None else {}
        result = module.run(settings, quick=quick, **options)
        result["duration_s"] = time.perf_counter() - clock
        results[name] = result
        sections.append(module.to_markdown(result))
        print(f"{name}: done in {result['duration_s']:.0f} s", flush=True)
    markdown = _header(results["meta"]) + "\n".join(sections)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    plot = write_plot(results, out / "latest.png")
    if plot is not None:
        markdown += f"\n![latency and scaling]({plot.name})\n"
    (out / "latest.md").write_text(markdown, encoding="utf-8")
    return results, markdown


def _header(meta: dict[str, Any]) -> str:
    box = meta["machine"]
    return (
        "# Benchmarks\n\n"
        f"Run {meta['started_at']} on {box['cpu']}, {box['cores']} cores, {box['memory_gib']} GiB, "
        f"Python {box['python']}{' (quick mode)' if meta['quick'] else ''}. Every figure is measured "
        "side by side with its reference in this run; ratios travel between machines, absolute "
        "times do not.\n\n"
    )
