"""Would a cross-encoder choose the answer sentence better than the hand-set score? (issue 16)

A cross-encoder reads the question and a candidate sentence together. This experiment builds
one from the bundled MiniLM weights (its first LAYERS layers, mean-pooled, a linear head),
trains it to rank the sentences that hold the gold answer first among the composer's best
candidates (a listwise softmax loss), and measures out of fold how often the first sentence
holds the answer when the composer's score is re-ranked with it:

- COVID-QA dev in two folds by article: a model trained on one fold's articles (and the gold
  tune half) ranks the other fold's questions;
- the gold test half, ranked by the model of the first fold (never trained on).

    .venv/bin/python eval/cross_encoder.py [--layers 6] [--epochs 2] [--lr 5e-5] [--seed 0]

About 12 minutes on 2 cores (6 layers; 3 layers, 3 epochs, --lr 1e-4: 6 minutes). Results
and the decision are in docs/evaluation.md ("Cross-encoder"). Seeded, but torch on another
machine may differ in the last digits.
"""

from __future__ import annotations

import argparse
import random
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.extractive import ExtractiveComposer
from rag.documents import Answer
from rag.embed.weights import bundled_model_dir
from rag.evaluation.suite_runner import suite_pipeline
from rag.evaluation.suites import load_suite
from rag.settings import Settings

CANDIDATES = 8  # what the model is trained on: the composer's first 8 sentences
RERANKED = (2, 3, 5)  # what it re-ranks at answer time
BLEND = (0.0, 0.005, 0.01, 0.02, 0.05)  # composer score + BLEND x cross-encoder logit


@dataclass
class Question:
    suite: str
    split: str
    group: str
    text: str
    sentences: list[str]
    scores: list[float]
    holds: list[bool]


def questions(data: Path, gold: Path, cache: Path) -> list[Question]:
    """Answerable questions of COVID-QA dev and the gold set, each with the composer's best
    sentences and whether each alone answers it (the suite's own `answered`)."""
    found = []
    for name in ("covidqa", "gold"):
        suite = load_suite(name, gold=gold, data_dir=data)
        pipeline = suite_pipeline(suite, Settings(), cache)
        composer = ExtractiveComposer(
            pipeline.settings.answer, pipeline.index.abbreviations, score_support=False
        )
        for item in suite.items:
            if not item.answerable:
                continue
            candidates = composer.candidates(pipeline.evidence(item.question))[:CANDIDATES]
            holds = [bool(suite.answered(item, Answer(c.text, False, (), (), {}))) for c in candidates]
            found.append(
                Question(
                    name,
                    item.split,
                    item.group,
                    item.question,
                    [c.text for c in candidates],
                    [c.score for c in candidates],
                    holds,
                )
            )
        pipeline.close()
    return found


def train(rows: list[Question], layers: int, epochs: int, lr: float, seed: int) -> Any:
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    directory = str(bundled_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(directory)

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(directory)
            self.bert.encoder.layer = self.bert.encoder.layer[:layers]
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, question: str, sentences: list[str]) -> Any:
            batch = tokenizer(
                [question] * len(sentences), sentences, return_tensors="pt", padding=True, truncation=True,
                max_length=128,
            )  # fmt: skip
            hidden = self.bert(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            return self.head((hidden * mask).sum(1) / mask.sum(1))[:, 0]

    model = CrossEncoder()
    usable = [r for r in rows if any(r.holds) and not all(r.holds)]
    optimizer = torch.optim.AdamW(
        [{"params": model.bert.parameters(), "lr": lr}, {"params": model.head.parameters(), "lr": 1e-3}],
        weight_decay=0.01,
    )
    steps = epochs * len(usable)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps)
    )
    model.train()
    for epoch in range(epochs):
        rng.shuffle(usable)
        total = 0.0
        for row in usable:
            logits = model(row.text, row.sentences)
            positive = torch.tensor(row.holds, dtype=torch.bool)
            loss = torch.logsumexp(logits, 0) - torch.logsumexp(logits[positive], 0)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += loss.item()
        print(f"epoch {epoch}: {len(usable)} questions, loss {total / len(usable):.3f}", flush=True)
    model.eval()
    return model


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/eval"))
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--lr", type=float, default=5e-5, help="the encoder's learning rate (the head's: 1e-3)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = questions(args.data, args.gold, args.cache)

    def fold(row: Question) -> int:
        return zlib.crc32(row.group.encode()) % 2

    logits: dict[int, list[float]] = {}
    for held in (0, 1):
        fitted = [
            r
            for r in rows
            if (r.suite == "covidqa" and fold(r) != held) or (r.suite == "gold" and r.split == "tune")
        ]
        model = train(fitted, args.layers, args.epochs, args.lr, args.seed)
        with torch.inference_mode():
            for i, row in enumerate(rows):
                scored = (row.suite == "covidqa" and fold(row) == held) or (
                    row.suite == "gold" and row.split == "test" and held == 0
                )
                if scored and row.sentences:
                    logits[i] = model(row.text, row.sentences[: max(RERANKED)]).tolist()
    print("\nshare of questions whose first sentence holds the answer, out of fold")
    print("| re-ranked | weight | COVID-QA dev | gold test |\n|---|---|---|---|")
    for k in RERANKED:
        for weight in BLEND:
            share = {}
            for suite, split in (("covidqa", "dev"), ("gold", "test")):
                picked = [
                    rows[i].holds[int(np.argmax(np.array(rows[i].scores[:k]) + weight * np.array(found[:k])))]
                    for i, found in logits.items()
                    if rows[i].suite == suite and rows[i].split == split
                ]
                share[suite] = sum(picked) / len(picked)
            print(f"| {k} | {weight} | {share['covidqa']:.3f} | {share['gold']:.3f} |")


if __name__ == "__main__":
    main()
