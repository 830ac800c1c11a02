"""What would a cross-encoder cost per question at `/ask` time on this machine? (issue 16)

`eval/cross_encoder.py` measured its re-ranking time with PyTorch. This times the same model
shape (the bundled MiniLM's first 3 or 6 layers, mean-pooled, a linear head; its weights as
bundled, since training changes no cost) exported to ONNX and run by ONNX Runtime in fp32 and
dynamically quantized to int8, the way the service runs its embedding model. Inputs are real:
COVID-QA dev questions, each paired with the composer's best K candidate sentences (K = 2, 3,
5). The reference is the latency benchmark's: a bare sentence-transformers
`model.encode(question)`, timed in the same run on the same questions.

    .venv/bin/python eval/cross_encoder_latency.py [--questions 100] [--threads 2]

About 3 minutes on 2 cores (the COVID-QA index under .cache/eval is built first if missing).
Results and the decision: docs/evaluation.md ("Cross-encoder").
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.extractive import ExtractiveComposer
from rag.embed.weights import bundled_model_dir
from rag.evaluation.suite_runner import suite_pipeline
from rag.evaluation.suites import load_suite
from rag.settings import Settings

LAYERS = (3, 6)
CANDIDATES = (2, 3, 5)
MAX_LENGTH = 128  # the training script's truncation
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def pairs(data: Path, gold: Path, cache: Path, count: int) -> list[tuple[str, list[str]]]:
    """The first `count` answerable COVID-QA dev questions with their best candidate sentences."""
    suite = load_suite("covidqa", gold=gold, data_dir=data)
    pipeline = suite_pipeline(suite, Settings(), cache)
    composer = ExtractiveComposer(pipeline.settings.answer, pipeline.index.abbreviations, score_support=False)
    found = []
    for item in suite.items[:count]:
        candidates = composer.candidates(pipeline.evidence(item.question))[: max(CANDIDATES)]
        found.append((item.question, [c.text for c in candidates]))
    pipeline.close()
    return found


def export(layers: int, directory: Path) -> tuple[Path, Path]:
    """The cross-encoder shape exported to ONNX (fp32) and quantized (int8)."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(bundled_model_dir()))
            self.bert.encoder.layer = self.bert.encoder.layer[:layers]
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).float()
            return self.head((hidden * mask).sum(1) / mask.sum(1))[:, 0]

    fp32, int8 = directory / f"ce{layers}-fp32.onnx", directory / f"ce{layers}-int8.onnx"
    dummy = torch.ones((2, 16), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        CrossEncoder().eval(),
        (dummy, dummy, torch.zeros_like(dummy)),
        str(fp32),
        input_names=list(INPUTS),
        output_names=["logit"],
        dynamic_axes={**dict.fromkeys(INPUTS, axes), "logit": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(
        str(fp32), str(int8), weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )  # fmt: skip
    return fp32, int8


def p50_ms(run: Any, inputs: list[Any]) -> float:
    for feed in inputs[:5]:
        run(feed)
    times = []
    for feed in inputs:
        clock = time.perf_counter()
        run(feed)
        times.append((time.perf_counter() - clock) * 1000)
    return float(np.median(times))


def main() -> None:
    import onnxruntime as ort
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/eval"))
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    found = pairs(args.data, args.gold, args.cache, args.questions)
    questions = [question for question, _ in found]
    bare = SentenceTransformer(str(bundled_model_dir()), device="cpu")
    reference = p50_ms(bare.encode, questions)
    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_dir()))
    lengths = {}
    feeds: dict[int, list[dict[str, Any]]] = {}
    for k in CANDIDATES:
        feeds[k] = []
        for question, sentences in found:
            batch = tokenizer(
                [question] * len(sentences[:k]), sentences[:k], return_tensors="np", padding=True,
                truncation=True, max_length=MAX_LENGTH,
            )  # fmt: skip
            feeds[k].append({name: batch[name].astype(np.int64) for name in INPUTS})
        lengths[k] = float(np.median([feed["input_ids"].shape[1] for feed in feeds[k]]))
    print(f"bare sentence-transformers encode(question), p50: {reference:.1f} ms ({len(found)} questions)")
    print(f"pair length in word pieces, median: {lengths}")
    print("| layers | precision | " + " | ".join(f"{k} sentences" for k in CANDIDATES) + " |")
    print("|---|---|" + "---|" * len(CANDIDATES))
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as scratch:
        for layers in LAYERS:
            for precision, path in zip(("fp32", "int8"), export(layers, Path(scratch)), strict=True):
                session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                cells = []
                for k in CANDIDATES:
                    took = p50_ms(partial(session.run, None), feeds[k])
                    cells.append(f"{took:.1f} ms ({took / reference:.2f}x)")
                print(f"| {layers} | {precision} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
