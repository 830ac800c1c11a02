"""Which of the composer's best sentences answers the question: a small gradient-boosted ranker
learned from the development suites, over the hand-set score, its parts and how the sentence
sits among the others (its lead, how much of the question's wording it repeats and in what
order, what it adds).

The hand-set score still finds the candidates; the ranker re-orders the best RANKED of them.
A linear model over the same signals could not tell when the question's own wording matters
(COVID-QA's questions repeat the sentence that answers) from when it does not (paraphrased
questions); trees can, since a feature such as `best_coverage` says which kind of question
this is.

The model is data: a JSON artifact (`rag/answer/data/sentence-ranker.json`, or the file
`RAG_ANSWER__SENTENCE_RANKER` names) written by `rag train --model ranker`, holding its trees
as arrays, the names of its features and the figures it was measured at out of fold. No
pickle: a user may hand us the file."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from rag.answer.features import phrase_share, run_share, word_pairs
from rag.answer.model_json import model_fields, read_model_json
from rag.answer.question import topic_words
from rag.text.analyzer import Analyzer, content_terms

if TYPE_CHECKING:
    from rag.answer.composition import Candidate
    from rag.answer.evidence import Evidence

SHIPPED_RANKER = Path(__file__).parent / "data" / "sentence-ranker.json"
FORMAT = "rag-sentence-ranker/1"
WHAT, REBUILD = "sentence ranker", "rag train --model ranker"  # what its file is, the command that writes one
TREE_ARRAYS = ("feature", "threshold", "left", "right", "value", "is_leaf")
RANKED = 20  # the hand-set score's best this many are re-ordered; the rest keep its order
FEATURES = (
    "meaning",
    "words",
    "context",
    "retrieval",
    "answer_type",
    "focus",
    "role",
    "measure",
    "score",
    "hand_rank",
    "score_gap",
    "passage_rank",
    "passage_score",
    "document_rank",
    "coverage",
    "coverage_gap",
    "best_coverage",
    "phrase",
    "phrase_gap",
    "best_phrase",
    "run",
    "run_gap",
    "best_run",
    "novelty",
    "sentence_chars",
    "question_words",
    "numeric",
    "parts",
)


def ranking_features(
    candidates: Sequence[Candidate], evidence: Evidence, analyzer: Analyzer
) -> NDArray[np.float64]:
    """One row per candidate (in the given order, best hand-set score first), columns as in
    FEATURES."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    question_stems = set(evidence.term_weights)
    question_pairs = word_pairs(content_terms(analyzer.tokens(evidence.question.text)))
    top = candidates[0].score
    top_passage = max((c.passage.score for c in candidates), default=0.0) or 1.0
    sequences = [content_terms(analyzer.tokens(c.text, c.passage.doc_id)) for c in candidates]
    stems = [set(s) for s in sequences]
    coverages = [len(question_stems & s) / max(1, len(question_stems)) for s in stems]
    phrases = [phrase_share(question_pairs, s) for s in sequences]
    # The run is of words as written, not stems: a question copied from its sentence repeats
    # its word forms (out of fold, a run of stems gained COVID-QA 0.2 points, of words 1.4).
    runs = [run_share(evidence.question.content_words, topic_words(c.text)) for c in candidates]
    best_coverage, best_phrase, best_run = max(coverages), max(phrases), max(runs)
    document_rank: dict[str, int] = {}
    for c in candidates:
        document_rank.setdefault(c.passage.doc_id, len(document_rank))
    question = evidence.question
    rows = []
    for index, c in enumerate(candidates):
        part = max(range(len(c.scores)), key=lambda i: c.scores[i])
        f = c.features[part]
        rows.append(
            [
                f.meaning,
                f.words,
                f.context,
                f.retrieval,
                f.answer_type,
                f.focus,
                f.role,
                f.measure,
                c.score,
                float(index),
                c.score - top,
                float(c.passage.rank),
                c.passage.score / top_passage,
                float(document_rank[c.passage.doc_id]),
                coverages[index],
                coverages[index] - best_coverage,
                best_coverage,
                phrases[index],
                phrases[index] - best_phrase,
                best_phrase,
                runs[index],
                runs[index] - best_run,
                best_run,
                len(stems[index] - question_stems) / max(1, len(stems[index])),
                math.log1p(len(c.text)),
                math.log1p(len(question.content_words)),
                float(question.answer_type.numeric),
                float(len(evidence.parts)),
            ]
        )
    return np.array(rows, dtype=np.float64)


@dataclass(frozen=True)
class SentenceRanker:
    """Boosted regression trees over FEATURES; a sentence's logit is `baseline` plus the value
    of the leaf it reaches in each tree (a row goes left where its feature <= the threshold).
    The trees are stored padded to one node count, as rows of these arrays."""

    features: tuple[str, ...]
    feature: NDArray[np.int64]  # (trees, nodes): the column a node tests
    threshold: NDArray[np.float64]
    left: NDArray[np.int64]
    right: NDArray[np.int64]
    value: NDArray[np.float64]
    is_leaf: NDArray[np.bool_]
    depth: int
    baseline: float
    version: str
    digest: str
    metadata: Mapping[str, Any]

    @property
    def name(self) -> str:
        return f"{self.version}@{self.digest[:12]}"

    def logits(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each row's logit (higher: more likely to answer alone)."""
        # Flat indices (tree * width + node) into the raveled arrays: one gather per level.
        count, width = self.feature.shape
        offset = (np.arange(count) * width)[:, None]
        at = np.broadcast_to(offset, (count, rows.shape[0])).copy()
        flat = rows.ravel()
        base = (np.arange(rows.shape[0]) * rows.shape[1])[None, :]
        feature, threshold = self.feature.ravel(), self.threshold.ravel()
        left, right, is_leaf = self.left.ravel(), self.right.ravel(), self.is_leaf.ravel()
        for _ in range(self.depth):
            goes_left = flat[base + feature[at]] <= threshold[at]
            step = offset + np.where(goes_left, left[at], right[at])
            at = np.where(is_leaf[at], at, step)
        return np.asarray(self.baseline + self.value.ravel()[at].sum(axis=0), dtype=np.float64)

    def order(self, candidates: Sequence[Candidate], evidence: Evidence, analyzer: Analyzer) -> list[int]:
        """The first RANKED candidates' indices, most likely to answer first (ties: hand order)."""
        head = list(candidates[:RANKED])
        logits = self.logits(ranking_features(head, evidence, analyzer))
        return sorted(range(len(head)), key=lambda i: (-logits[i], i))


def ranker_from_json(data: Mapping[str, Any], digest: str, where: str) -> SentenceRanker:
    """A ranker from its JSON form; ConfigurationError naming `where` when it is not one."""
    with model_fields(where, WHAT, REBUILD):
        if data["format"] != FORMAT:
            raise ValueError(f"format {data['format']!r}, expected {FORMAT!r}")
        features = tuple(str(f) for f in data["features"])
        if features != FEATURES:
            raise ValueError("its features are not the ones this version computes")
        trees = data["trees"]
        if not trees:
            raise ValueError("no trees")
        for tree in trees:
            if len({len(tree[key]) for key in TREE_ARRAYS}) != 1:
                raise ValueError("a tree's arrays differ in length")
        width = max(len(t["value"]) for t in trees)

        def padded(key: str, dtype: type, fill: float) -> NDArray[Any]:
            out: NDArray[Any] = np.full((len(trees), width), fill, dtype=dtype)
            for n, tree in enumerate(trees):
                out[n, : len(tree[key])] = tree[key]
            return out

        feature = padded("feature", np.int64, 0)
        left, right = padded("left", np.int64, 0), padded("right", np.int64, 0)
        threshold, value = padded("threshold", np.float64, 0.0), padded("value", np.float64, 0.0)
        is_leaf = padded("is_leaf", np.bool_, True)
        size = np.broadcast_to(np.array([len(t["value"]) for t in trees])[:, None], left.shape)
        index = np.broadcast_to(np.arange(width)[None, :], left.shape)
        inner = ~is_leaf
        # A child comes after its parent and inside the tree, as sklearn lays trees out.
        if (
            (feature[inner] < 0).any()
            or (feature[inner] >= len(features)).any()
            or ((left <= index) & inner).any()
            or ((right <= index) & inner).any()
            or ((left >= size) & inner).any()
            or ((right >= size) & inner).any()
        ):
            raise ValueError("a node points outside its tree")
        if not (np.isfinite(threshold).all() and np.isfinite(value).all()):
            raise ValueError("thresholds and values must be finite numbers")
        baseline = data["baseline"]
        if isinstance(baseline, bool) or not isinstance(baseline, int | float) or not math.isfinite(baseline):
            raise ValueError("baseline must be a finite number")
        depth = int(data["depth"])
        if not 0 < depth <= 64:
            raise ValueError("depth must be between 1 and 64")
        known = {"format", "version", "features", "trees", "depth", "baseline"}
        return SentenceRanker(
            features,
            feature,
            threshold,
            left,
            right,
            value,
            is_leaf,
            depth,
            float(baseline),
            str(data["version"]),
            digest,
            {k: v for k, v in data.items() if k not in known},
        )


@cache
def load_sentence_ranker(path: Path = SHIPPED_RANKER) -> SentenceRanker:
    """The ranker at `path` (read once per process)."""
    data, digest = read_model_json(path, WHAT, REBUILD)
    return ranker_from_json(data, digest, str(path))
