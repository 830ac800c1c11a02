"""The backend comparison picks the fastest variant that keeps the quality, and says so."""

from __future__ import annotations

from typing import Any

from bench.backends import compare, to_markdown


def row(
    variant: str, chunks: float, query_ms: float, accuracy: float, recall5: float = 0.96
) -> dict[str, Any]:
    quality = {
        "recall@5": recall5,
        "mrr@10": 0.95,
        "answer_accuracy": accuracy,
        "citation_support": 0.96,
        "abstention_recall": 0.957,
    }
    return {
        "variant": variant,
        "chunks_per_s": chunks,
        "sentences_per_s": chunks * 3,
        "query_ms": {"p50_ms": query_ms},
        "quality": quality,
    }


def test_the_fastest_variant_within_one_percent_is_recommended() -> None:
    rows = [
        row("torch fp32", 10.0, 20.0, 0.909),
        row("onnx fp32", 14.0, 10.0, 0.909),
        row("onnx int8", 20.0, 7.0, 0.896),  # 1.4% less accurate: not eligible
        row("openvino int8", 12.0, 12.0, 0.909, recall5=0.955),  # 0.5% less recall: eligible, slower
        {"variant": "openvino fp32", "skipped": "openvino extra not installed"},
    ]
    assert compare(rows) == "onnx fp32"
    assert rows[1]["speedup"] == {"chunks": 1.4, "sentences": 1.4, "query": 2.0}
    assert round(rows[2]["quality_loss"], 4) == round((0.909 - 0.896) / 0.909, 4)
    result = {
        "variants": rows,
        "recommended": "onnx fp32",
        "configured": "onnx fp32",
        "cpu_flags": "avx2",
    }
    markdown = to_markdown(result)
    assert "| onnx int8 | 20.0 | 2.00x |" in markdown
    assert "0.896 (-0.013)" in markdown and "1.4% |" in markdown
    assert "skipped: openvino extra not installed" in markdown
    assert "within 1%: **onnx fp32**; configured default: **onnx fp32**" in markdown


def test_the_reference_itself_is_always_eligible() -> None:
    rows = [row("torch fp32", 10.0, 20.0, 0.9), row("onnx int8", 30.0, 5.0, 0.5)]
    assert compare(rows) == "torch fp32"
