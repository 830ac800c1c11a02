"""How likely an extractive answer is to hold what was asked: a calibrated probability from a
small logistic model over the composer's own signals (the chosen sentence's score parts, its
lead over the other sentences and documents, the question's shape).

The model is data, not code: a JSON artifact (`rag/answer/data/support-model.json`, or the
file `RAG_ANSWER__SUPPORT_MODEL` names) written by `rag train` from the development suites,
with the names of its features, their scaling, the coefficients and the figures it was
measured at out of fold. No pickle: a user may hand us the file."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer.model_json import model_fields, read_model_json

if TYPE_CHECKING:
    from rag.answer.composition import Candidate
    from rag.answer.evidence import Evidence

SHIPPED_MODEL = Path(__file__).parent / "data" / "support-model.json"
FORMAT = "rag-support-model/1"
WHAT, REBUILD = "support model", "rag train"  # what its file is, the command that writes one
# A chosen sentence "close" to another when it scores within this share of it.
CLOSE = 0.95
FEATURES = (
    "score",
    "meaning",
    "words",
    "context",
    "retrieval",
    "answer_type",
    "focus",
    "role",
    "measure",
    "lead_in_document",
    "lead_over_documents",
    "close_in_document",
    "documents",
    "sentences",
    "question_words",
    "numeric",
    "list",
    "sentence_chars",
)


def support_features(
    chosen: Sequence[Candidate], candidates: Sequence[Candidate], evidence: Evidence
) -> dict[str, float]:
    """The signals the support model reads, named as in FEATURES."""
    best = max(chosen, key=lambda c: c.score)
    part = max(range(len(best.scores)), key=lambda i: best.scores[i])
    parts = best.features[part]
    doc = best.passage.doc_id
    quoted = {id(c) for c in chosen}  # by identity: comparing candidates field by field is slow
    same = [c.score for c in candidates if c.passage.doc_id == doc and id(c) not in quoted]
    other = [c.score for c in candidates if c.passage.doc_id != doc]
    return {
        "score": best.score,
        "meaning": parts.meaning,
        "words": parts.words,
        "context": parts.context,
        "retrieval": parts.retrieval,
        "answer_type": parts.answer_type,
        "focus": parts.focus,
        "role": parts.role,
        "measure": parts.measure,
        "lead_in_document": best.score - max(same, default=0.0),
        "lead_over_documents": best.score - max(other, default=0.0),
        "close_in_document": math.log1p(sum(s >= CLOSE * best.score for s in same)),
        "documents": math.log1p(len({c.passage.doc_id for c in candidates})),
        "sentences": float(len(chosen)),
        "question_words": math.log1p(len(evidence.question.content_words)),
        "numeric": float(evidence.question.answer_type.numeric),
        "list": float(evidence.question.is_list),
        "sentence_chars": math.log1p(len(best.text)),
    }


@dataclass(frozen=True)
class SupportModel:
    """A fitted logistic model: p = 1 / (1 + exp(-(intercept + sum(coef * (x - mean) / scale))))."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    """Below this probability an answer abstains (chosen on the development data; see metadata)."""
    version: str
    digest: str
    metadata: Mapping[str, Any]

    @property
    def name(self) -> str:
        """What an answer's metadata calls the model: its version and the start of its digest."""
        return f"{self.version}@{self.digest[:12]}"

    def probability(self, values: Mapping[str, float]) -> float:
        z = self.intercept
        for name, mean, scale, coef in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            z += coef * (values[name] - mean) / scale
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
            **dict(self.metadata),
        }


def model_from_json(data: Mapping[str, Any], digest: str, where: str) -> SupportModel:
    """A model from its JSON form; ConfigurationError naming `where` when it is not one."""
    with model_fields(where, WHAT, REBUILD):
        if data["format"] != FORMAT:
            raise ValueError(f"format {data['format']!r}, expected {FORMAT!r}")
        features = tuple(str(f) for f in data["features"])
        unknown = set(features) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}")
        arrays = [tuple(float(v) for v in data[key]) for key in ("mean", "scale", "coef")]
        if any(len(a) != len(features) for a in arrays) or any(s <= 0 for s in arrays[1]):
            raise ValueError("mean, scale and coef must have one value per feature, scales positive")
        if not all(math.isfinite(v) for a in arrays for v in a):
            raise ValueError("values must be finite numbers")
        threshold = float(data["threshold"])
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be in [0, 1]")
        known = {"format", "version", "features", "mean", "scale", "coef", "intercept", "threshold"}
        return SupportModel(
            features,
            arrays[0],
            arrays[1],
            arrays[2],
            float(data["intercept"]),
            threshold,
            str(data["version"]),
            digest,
            {k: v for k, v in data.items() if k not in known},
        )


@cache
def load_support_model(path: Path = SHIPPED_MODEL) -> SupportModel:
    """The model at `path` (read once per process)."""
    data, digest = read_model_json(path, WHAT, REBUILD)
    return model_from_json(data, digest, str(path))
