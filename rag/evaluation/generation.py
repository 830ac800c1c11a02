"""What the generative composer did during an evaluation, question by question and in sum.

`MeteredModel` wraps the language model and keeps every generation (text, new tokens, seconds,
why it stopped); with the answer's composer and its dropped sentences, that tells how many
sentences the model wrote, how many verification kept, and why it dropped the others.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.answer.llm import Generated, LanguageModel, Message
from rag.answer.verify import reason_kind, sentences
from rag.documents import Answer
from rag.evaluation.metrics import percentile


class MeteredModel:
    """A LanguageModel around another that keeps what each generation produced."""

    def __init__(self, inner: LanguageModel) -> None:
        self.inner = inner
        self._calls: list[Generated] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def generate(
        self,
        messages: Sequence[Message],
        *,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Generated:
        generated = self.inner.generate(messages, on_text=on_text, cancelled=cancelled)
        self._calls.append(generated)
        return generated

    def take(self) -> list[Generated]:
        """The generations since the last call, forgotten here."""
        calls, self._calls = self._calls, []
        return calls


@dataclass
class GenerationRecord:
    """One question: the composer that answered, and what generation and verification did."""

    composer: str
    generated_sentences: int = 0
    kept_sentences: int = 0
    dropped_reasons: list[str] = field(default_factory=list)
    new_tokens: int = 0
    seconds: float = 0.0
    stopped: str | None = None
    text: str = ""


def record(answer: Answer, calls: Sequence[Generated]) -> GenerationRecord:
    """What generating `answer` took; no call: the extractive composer declined, so the model
    was not asked (the generative composer declines with it)."""
    if not calls:
        return GenerationRecord(answer.composer)
    written = sum(len(sentences(call.text)) for call in calls)
    dropped = [d.reason for d in answer.dropped]
    return GenerationRecord(
        composer=answer.composer,
        generated_sentences=written,
        kept_sentences=written - len(dropped) if answer.composer == "generative" else 0,
        dropped_reasons=dropped,
        new_tokens=sum(call.new_tokens for call in calls),
        seconds=round(sum(call.seconds for call in calls), 3),
        stopped=calls[-1].stopped,
        text=calls[-1].text,
    )


def summarize_generation(
    records: Sequence[GenerationRecord], latencies_ms: Sequence[float]
) -> dict[str, Any]:
    """Sentences generated, kept and dropped (by kind of reason), composers, speed and latency."""
    ran = [r for r in records if r.stopped is not None]
    tokens = sum(r.new_tokens for r in ran)
    seconds = sum(r.seconds for r in ran)
    generate_s = [r.seconds for r in ran]
    return {
        "questions": len(records),
        "generated": len(ran),
        "composers": dict(Counter(r.composer for r in records)),
        "sentences_generated": sum(r.generated_sentences for r in ran),
        "sentences_kept": sum(r.kept_sentences for r in ran),
        "sentences_dropped": sum(len(r.dropped_reasons) for r in ran),
        "drop_reasons": dict(Counter(reason_kind(x) for r in ran for x in r.dropped_reasons).most_common()),
        "stopped": dict(Counter(r.stopped for r in ran)),
        "new_tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 2) if seconds else None,
        "generate_s_p50": round(statistics.median(generate_s), 2) if generate_s else None,
        "generate_s_p90": round(percentile(generate_s, 90), 2) if generate_s else None,
        "latency_p50_ms": round(percentile(list(latencies_ms), 50), 1) if latencies_ms else None,
        "latency_p90_ms": round(percentile(list(latencies_ms), 90), 1) if latencies_ms else None,
    }


def generation_table(reports: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown rows of what generation did, for the suite reports that have generation figures."""
    generative = [rep for rep in reports if "generation" in rep]
    if not generative:
        return []
    lines = [
        "",
        f"Generative composer ({generative[0]['meta'].get('generation_model')}): questions the model "
        "answered, sentences it wrote, kept and dropped by verification, answers that fell back to "
        "the extractive one, speed.",
        "",
        "| suite | split | generated | sentences | kept | dropped | drop reasons | fallbacks | tokens/s "
        "| generate p50/p90 s | latency p50/p90 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rep in generative:
        for split, g in rep["generation"].items():
            reasons = "; ".join(f"{kind} {count}" for kind, count in g["drop_reasons"].items()) or "none"
            cells = [
                rep["suite"],
                split,
                f"{g['generated']}/{g['questions']}",
                g["sentences_generated"],
                g["sentences_kept"],
                g["sentences_dropped"],
                reasons,
                g["composers"].get("extractive-fallback", 0),
                g["tokens_per_s"],
                f"{g['generate_s_p50']}/{g['generate_s_p90']}",
                f"{g['latency_p50_ms']}/{g['latency_p90_ms']}",
            ]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines
