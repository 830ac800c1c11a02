"""What the write benchmark checks besides time: that an index changed by writes (and then
merged) ranks as a fresh build of the same documents, how long a new process takes from
opening the index to its first answer, and the bytes on disk against one copy of the data."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.pipeline import Pipeline
from rag.settings import Settings

TOP = 10
QUERIES = 50
QUERY_WORDS = 6
ROOT = Path(__file__).resolve().parents[1]
FIRST_ANSWER = """
import sys, time
clock = time.perf_counter()
from pathlib import Path
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.testing import FakeEmbedder
imported = time.perf_counter()
pipeline = Pipeline(Settings(index_dir=Path(sys.argv[1])), FakeEmbedder(dimension=int(sys.argv[2])), None)
answer = pipeline.ask(sys.argv[3])
done = time.perf_counter()
print(f'{{"import_s": {imported - clock:.3f}, "open_to_first_answer_s": {done - imported:.3f}}}')
"""


def queries(pipeline: Pipeline, seed: int) -> list[str]:
    """Six-word windows of stored chunks."""
    texts = pipeline.index.chunks.chunk_texts()
    rng = np.random.default_rng(seed)
    picked = []
    for i in rng.choice(len(texts), size=min(QUERIES, len(texts)), replace=False):
        words = texts[int(i)][2].split()
        first = int(rng.integers(0, max(1, len(words) - QUERY_WORDS)))
        picked.append(" ".join(words[first : first + QUERY_WORDS]))
    return picked


def rankings(pipeline: Pipeline, texts: Sequence[str]) -> list[list[str]]:
    return [[p.chunk_id for p in pipeline.search(text, top_k=TOP)] for text in texts]


def same_top10(ours: list[list[str]], fresh: list[list[str]]) -> dict[str, float]:
    """Mean share of a fresh build's top 10 that this index also returns, and the share of
    queries whose top 10 is the same list in the same order."""
    overlap = [len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(ours, fresh, strict=True)]
    identical = [a == b for a, b in zip(ours, fresh, strict=True)]
    return {
        "same_top10": round(float(np.mean(overlap)), 4),
        "identical_order": round(float(np.mean(identical)), 4),
    }


def first_answer(settings: Settings, dimension: int, question: str) -> dict[str, Any]:
    """Open the index in a new process and answer one question (import time reported apart)."""
    found = subprocess.run(
        [sys.executable, "-c", FIRST_ANSWER, str(settings.index_dir), str(dimension), question],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(found.stdout.strip().splitlines()[-1])
    return result


def disk(index_dir: Path, pipeline: Pipeline) -> dict[str, Any]:
    """Bytes under the index directory (each file once, however many generations link it)
    against the bytes the current generation reads (its directory and the store)."""
    files = {(p.stat().st_ino): p.stat().st_size for p in index_dir.rglob("*") if p.is_file()}
    generation = pipeline.index.directory
    current = sum(p.stat().st_size for p in generation.rglob("*") if p.is_file())
    store = pipeline.index.chunks.path
    current += sum(p.stat().st_size for p in store.parent.glob(f"{store.name}*") if p.is_file())
    return {
        "bytes_on_disk": sum(files.values()),
        "bytes_current": current,
        "disk_ratio": round(sum(files.values()) / current, 3),
    }
