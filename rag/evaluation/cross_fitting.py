"""Answers to the development questions as a new document would get them: each composed by a
sentence ranker that never saw the question's document (issue 16).

The shipped sentence ranker learned from the same development suites that the support model
learns from. Composed with it, their answers are the ones it was fitted on: on COVID-QA dev
they held 0.60 of the time against 0.56 on articles it never saw, so a support model learned
from them promised more than new documents deliver. `rag train --model support` therefore
composes each answer with the ranker of the fold that held its document out (FOLDS folds by
document over every question the ranker learns from, fitted exactly as `rag train --model
ranker` fits one); a question no ranker learned from (a test split, an unanswerable question)
gets the configured ranker."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer.extractive import ExtractiveComposer
from rag.answer.ranking import SHIPPED_RANKER, load_sentence_ranker
from rag.errors import ConfigurationError
from rag.evaluation.ranker_training import FOLDS, Question, fit, questions
from rag.evaluation.suites import Suite
from rag.evaluation.training import CONFIGURED, Example, examples
from rag.pipeline import Pipeline
from rag.progress import Progress, no_progress
from rag.settings import AnswerSettings
from rag.text.abbreviations import Abbreviations


@dataclass(frozen=True)
class FoldRankers:
    fold_of: Mapping[str, int]
    """A question's group ("covidqa:<article>") -> the fold that holds it out."""
    paths: tuple[Path, ...]
    """Per fold, the ranker fitted on every other fold's questions."""

    def composer_for(
        self, settings: AnswerSettings, abbreviations: Abbreviations
    ) -> Callable[[str], ExtractiveComposer | None]:
        """A question's group -> the composer whose ranker never saw it (None: the configured
        ranker answers it)."""
        composers = [
            ExtractiveComposer(
                settings.model_copy(update={"sentence_ranker": path}), abbreviations, score_support=False
            )
            for path in self.paths
        ]

        def composer(group: str) -> ExtractiveComposer | None:
            fold = self.fold_of.get(group)
            return None if fold is None else composers[fold]

        return composer


def fold_rankers(found: Sequence[Question], directory: Path, *, seed: int = 0) -> FoldRankers:
    """FOLDS rankers, each fitted on the questions of all documents but one fold's, written to
    `directory`. Folds are assigned over the sorted groups, so the same questions give the same
    rankers."""
    from sklearn.model_selection import GroupKFold

    groups = sorted({q.group for q in found if not q.held_out})
    fold_of: dict[str, int] = {}
    for fold, (_, held) in enumerate(GroupKFold(FOLDS).split(groups, groups=groups)):
        fold_of.update({groups[int(i)]: fold for i in held})
    paths = []
    for fold in range(FOLDS):
        model, _ = fit([q for q in found if fold_of.get(q.group) != fold], seed=seed)
        path = directory / f"ranker-fold-{fold}.json"
        path.write_text(json.dumps(model), encoding="utf-8")
        paths.append(path)
    return FoldRankers(fold_of, tuple(paths))


def cross_fits(ranker_metadata: Mapping[str, Any], suites: Sequence[str]) -> bool:
    """Whether rankers can be refitted the way the configured one was: it names the suites it
    learned from and all of them are among `suites` (a ranker learned from other questions
    than the support model's never saw these answers' documents)."""
    trained_on = ranker_metadata.get("trained_on")
    return isinstance(trained_on, dict) and bool(trained_on) and set(trained_on) <= set(suites)


CROSS_FITTED = f"each composed by a sentence ranker that never saw its document ({FOLDS} folds by document)"


def support_examples(
    opened: Sequence[tuple[Pipeline, Suite]], *, seed: int = 0, progress: Progress = no_progress
) -> tuple[list[Example], str]:
    """What the support model learns from, each suite answered through its pipeline; and how
    the answers were composed: cross-fitted (the configured ranker learned from these suites)
    or by the configured composer (it never saw them, sentences are not ranked, or too few
    documents to refit it on)."""
    settings = opened[0][0].settings.answer if opened else None
    rankers: FoldRankers | None = None
    how = CONFIGURED
    with tempfile.TemporaryDirectory() as scratch:
        if settings is not None and settings.rank_sentences:
            configured = load_sentence_ranker(settings.sentence_ranker or SHIPPED_RANKER)
            if cross_fits(configured.metadata, [suite.name for _, suite in opened]):
                found = []
                for pipeline, suite in opened:
                    advance = progress(f"{suite.name} candidates", len(suite.items))
                    found += questions(pipeline, suite, advance)
                rankers, how = refitted(found, Path(scratch), seed=seed)
        found_examples: list[Example] = []
        for pipeline, suite in opened:
            answer, abbreviations = pipeline.settings.answer, pipeline.index.abbreviations
            composer_for = rankers.composer_for(answer, abbreviations) if rankers else None
            advance = progress(f"{suite.name} questions", len(suite.items))
            found_examples += examples(pipeline, suite, advance, composer_for)
    return found_examples, how


def refitted(found: Sequence[Question], directory: Path, *, seed: int = 0) -> tuple[FoldRankers | None, str]:
    """The fold rankers and how answers will be composed; None (the configured ranker) when
    some fold leaves too little to fit one on."""
    try:
        return fold_rankers(found, directory, seed=seed), CROSS_FITTED
    except ConfigurationError as error:
        return None, f"{CONFIGURED} (not cross-fitted: {error})"


__all__ = ["FoldRankers", "cross_fits", "fold_rankers", "refitted", "support_examples"]
