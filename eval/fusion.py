"""Sweep the hybrid fusion settings on the gold set's retrieval metrics (doc level).

    .venv/bin/python eval/fusion.py  ->  prints a Markdown table, writes eval/results/fusion.md

Each row re-ranks the same questions; the dense and BM25 rows are the single retrievers.
"""

from __future__ import annotations

from pathlib import Path

from rag.evaluation.metrics import mean, ndcg_at, recall_at, reciprocal_rank, unique_in_order
from rag.evaluation.runner import RANKING_DEPTH, load_gold
from rag.pipeline import Pipeline
from rag.search.retrieval import HybridRetriever
from rag.settings import RetrievalSettings

CONFIGS = [
    ("dense", RetrievalSettings(mode="dense")),
    ("bm25", RetrievalSettings(mode="bm25")),
    ("rrf k=60", RetrievalSettings(fusion="rrf", rrf_k=60)),
    ("rrf k=10", RetrievalSettings(fusion="rrf", rrf_k=10)),
    *(
        (f"weighted dense={w}", RetrievalSettings(fusion="weighted", dense_weight=w))
        for w in (0.2, 0.3, 0.4, 0.5, 0.6)
    ),
]


def main() -> None:
    pipeline = Pipeline.load()
    items = [item for item in load_gold(Path("eval/gold.jsonl")) if item.answerable]
    queries = [(item, pipeline.embedder.embed([item.question])[0]) for item in items]
    index = pipeline.index
    lines = ["| fusion | R@1 | R@5 | R@10 | MRR@10 | nDCG@10 |", "|---|---|---|---|---|---|"]
    for name, config in CONFIGS:
        retriever = HybridRetriever(index.vectors, index.lexical, config)
        rows = []
        for item, vector in queries:
            hits = retriever.retrieve(vector, index.analyzer.terms(item.question), RANKING_DEPTH)
            order = {row: position for position, (row, _) in enumerate(hits)}
            records = index.chunks.passages([h for h, _ in hits])
            ranked = unique_in_order([records[row].doc_id for row in sorted(records, key=order.__getitem__)])
            rows.append(
                (
                    recall_at(ranked, item.doc_ids, 1),
                    recall_at(ranked, item.doc_ids, 5),
                    recall_at(ranked, item.doc_ids, 10),
                    reciprocal_rank(ranked, item.doc_ids, 10),
                    ndcg_at(ranked, item.doc_ids, 10),
                )
            )
        cells = " | ".join(f"{mean([r[i] for r in rows]):.3f}" for i in range(5))
        lines.append(f"| {name} | {cells} |")
    table = "\n".join(lines)
    print(table)
    out = Path("eval/results/fusion.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# Fusion sweep ({len(items)} answerable gold questions)\n\n{table}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
