"""The streaming report names both composers' figures, and the model when one was used."""

from __future__ import annotations

from bench.streaming import to_markdown


def timing(p50: float) -> dict[str, float]:
    return {"p50_ms": p50, "p95_ms": 2 * p50, "p99_ms": 3 * p50, "mean_ms": p50}


def test_the_report_shows_first_words_against_the_whole_answer() -> None:
    row = {
        "citations_ms": timing(20),
        "first_text_ms": timing(30),
        "final_ms": timing(300),
        "first_vs_final_p50": 0.1,
    }
    result = {"questions": 100, "generation_model": "tiny", "max_new_tokens": 50, "generative": row}
    markdown = to_markdown(result)
    assert "| generative | 20.0 | 30.0 | 60.0 | 300.0 | 600.0 | 0.10 |" in markdown
    assert "model `tiny`, up to 50 new tokens" in markdown
    extractive_only = to_markdown({"questions": 100, "generation_model": None, "extractive": row})
    assert "| extractive | 20.0 |" in extractive_only and "model `" not in extractive_only
