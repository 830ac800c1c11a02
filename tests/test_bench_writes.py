"""The write benchmark on tiny sizes: it times uploads and deletes through the service's path
and reports what its Markdown promises."""

from __future__ import annotations

import pytest

from bench import writes
from rag.settings import Settings


def test_write_benchmark_measures_each_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writes, "WRITES", 2)
    monkeypatch.setattr(writes, "FRESH_BUILD_LIMIT", 60)  # 120: merged without a second build, as 1M
    result = {
        "writes": 2,
        "dimension": writes.DIMENSION,
        "sizes": [writes.measure(Settings(), n) for n in (60, 120)],
    }
    small, large = result["sizes"]
    assert small["n"] == 60 and large["n"] == 120
    for size in (small, large):
        assert size["add_p50_s"] > 0 and size["delete_p50_s"] > 0
        assert set(size["add_stages_p50_s"]) >= {"chunk+embed", "store", "write"}
        # The generation holds at least each chunk's vector and text; links are counted once.
        assert writes.DIMENSION * 4 < size["bytes_per_chunk"] <= size["bytes_per_chunk_on_disk"]
    markdown = writes.to_markdown(result)
    assert markdown.startswith("## One-document writes") and "| 120 |" in markdown
    assert "Upload p50 at 120 is" in markdown
    assert "after_writes" in small and "after_writes" not in large  # no second build past the limit
    for size in (small, large):
        assert size["optimize_s"] > 0 and size["disk_ratio_after_merge"] >= 1.0
    assert large["open_to_first_answer_after_merge_s"] > 0
    assert "`rag optimize` at 120:" in markdown and "first answer from the merged index" in markdown
