"""The benchmark plot is drawn from whatever results a run holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.plot import write_plot


def latency_result() -> dict[str, Any]:
    rows = {c: {"p50_ms": 10.0 * int(c)} for c in ("1", "4", "16")}
    return {"reference_encode_ms": {"p50_ms": 5.0}, "/ask": rows, "/search": rows}


def scaling_result() -> dict[str, Any]:
    curve = [{"n": n, "p50_ms": n / 1e4, "p50_ms_1t": n / 2e4} for n in (1000, 10000)]
    ivf = {"kind": "ivf", "best": {"value": 8}, "settings": [{"value": 8, "p50_ms_1t": 0.1}]}
    return {"vectors": {"flat_curve": curve, "sizes": [{"n": 10000, "indexes": [ivf]}]}}


def test_plot_is_a_png_with_the_panels_the_results_hold(tmp_path: Path) -> None:
    both = write_plot({"latency": latency_result(), "scaling": scaling_result()}, tmp_path / "both.png")
    one = write_plot({"latency": latency_result()}, tmp_path / "one.png")
    assert both is not None and one is not None
    assert both.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert both.stat().st_size > one.stat().st_size  # two panels draw more than one
    assert write_plot({"ingestion": {}}, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()
