"""`latest.png`: query latency by concurrency and one-query search time by index size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CLIENTS = ("1", "4", "16")


def write_plot(results: dict[str, Any], path: Path) -> Path | None:
    """Draw what the results hold (latency and/or scaling); None when they hold neither."""
    latency, scaling = results.get("latency"), results.get("scaling")
    if latency is None and scaling is None:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    drawers = [(draw, part) for draw, part in ((_latency, latency), (_scaling, scaling)) if part is not None]
    figure, axes = plt.subplots(1, len(drawers), figsize=(6 * len(drawers), 4.2), squeeze=False)
    for axis, (draw, part) in zip(axes[0], drawers, strict=True):
        draw(axis, part)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _latency(axis: Any, latency: dict[str, Any]) -> None:
    reference = latency["reference_encode_ms"]["p50_ms"]
    for endpoint in ("/ask", "/search"):
        p50 = [latency[endpoint][c]["p50_ms"] / reference for c in CLIENTS]
        axis.plot([int(c) for c in CLIENTS], p50, marker="o", label=f"{endpoint} p50")
    axis.axhline(2.0, color="grey", linestyle="--", linewidth=1, label="target at 1 client (2x)")
    axis.set_xscale("log", base=2)
    axis.set_xticks([1, 4, 16], labels=["1", "4", "16"])
    axis.set_xlabel("concurrent clients")
    axis.set_ylabel("p50 latency / bare model.encode p50")
    axis.set_title("Query latency over HTTP")
    axis.legend()


def _scaling(axis: Any, scaling: dict[str, Any]) -> None:
    curve = scaling["vectors"]["flat_curve"]
    sizes = [point["n"] for point in curve]
    axis.plot(sizes, [p["p50_ms_1t"] for p in curve], marker="o", label="exact flat, 1 thread")
    axis.plot(sizes, [p["p50_ms"] for p in curve], marker="x", label="exact flat, default threads")
    for entry in scaling["vectors"]["sizes"]:
        for index in entry["indexes"]:
            if index["kind"] == "ivf":
                best = next(s for s in index["settings"] if s["value"] == index["best"]["value"])
                axis.scatter([entry["n"]], [best["p50_ms_1t"]], color="green", zorder=3)
    axis.scatter([], [], color="green", label="IVF-Flat (recall@10 >= 0.95)")
    axis.axhline(10.0, color="grey", linestyle="--", linewidth=1, label="target (10 ms)")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("vectors")
    axis.set_ylabel("one-query search p50 (ms)")
    axis.set_title("Vector search by index size")
    axis.legend(fontsize=8)
