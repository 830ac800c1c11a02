"""Split eval/gold.jsonl once into a tune half and a test half (the `split` field of each line).

Stratified by question type, seeded, so the halves have the same mix of factual, paraphrase,
list and unanswerable questions. Run once (2026-11-30); the result is committed and never
re-drawn: weights and thresholds are chosen on `tune`, and `test` is only ever reported.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

GOLD = Path(__file__).with_name("gold.jsonl")
SEED = 16


def main() -> None:
    items = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    if any("split" in item for item in items):
        raise SystemExit("gold.jsonl is already split; the split is fixed once drawn")
    rng = random.Random(SEED)
    for kind in sorted({item["type"] for item in items}):
        group = [item for item in items if item["type"] == kind]
        rng.shuffle(group)
        for position, item in enumerate(group):
            item["split"] = "tune" if position % 2 == 0 else "test"
    GOLD.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")


if __name__ == "__main__":
    main()
