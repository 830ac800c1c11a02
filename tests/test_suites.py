"""The evaluation suites: their definitions (as the datasets' READMEs state them), the data they
read from ../shared/benchmarks, and real runs through the pipeline and the CLI."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from rag.embed import Embedder
from rag.evaluation import suite_runner
from rag.evaluation.metrics import answer_correct, fact_present
from rag.evaluation.runner import load_gold
from rag.evaluation.suite_runner import run_suite, select_items, suite_pipeline, summarize
from rag.evaluation.suites import (
    COVIDQA_FILE,
    contains_gold,
    covidqa_answered,
    covidqa_suite,
    gold_suite,
    load_suite,
    tokens,
)
from rag.ingest.loaders import load_paths
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import CORPUS, GOLD, ROOT
from tests.support.cli import rag

BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
needs_covidqa = pytest.mark.skipif(
    not (BENCHMARKS / COVIDQA_FILE).is_file(), reason="COVID-QA data not found (no ../shared checkout)"
)


def test_covidqa_answered_follows_the_readme() -> None:
    assert tokens("Median 10.6 months, CI 8.1-13.4") == ["median", "10.6", "months", "ci", "8.1", "13.4"]
    # "10·6" is two tokens, 10 and 6, neither in "10.6": 5 of the gold's 7 tokens remain (0.71).
    assert covidqa_answered("10·6 months (95% CI 8.1-13.4)", "Survival was 10.6 months (95% CI 8.1 to 13.4).")
    assert not covidqa_answered("10·6 months", "Survival was 10.6 months [1].")  # 1 of 3
    assert covidqa_answered("ACE2 receptor binding", "It binds the ACE2 receptor [1].")  # 3 of 3 tokens
    assert not covidqa_answered("ACE2 receptor binding domain", "It binds ACE2 [1].")  # 1 of 4
    long_answer = "It binds the ACE2 receptor. " + "x" * 300
    assert not covidqa_answered("ACE2 receptor", long_answer)  # over max(300, 1.5 x 13)
    assert covidqa_answered("a" * 250 + " ACE2", "a" * 250 + " ACE2 " + "b" * 100)  # 1.5 x 255 = 382


def test_cited_compares_the_first_120_characters_case_and_spacing_aside() -> None:
    gold = "The   Spike protein " + "z" * 200
    assert contains_gold(gold, "before the spike protein " + "z" * 102 + " after")  # 18 + 102 characters
    assert not contains_gold(gold, "before the spike protein " + "z" * 101 + " after")
    assert not contains_gold(gold, "the spike  protein")


def test_a_fact_that_is_a_number_is_not_found_inside_another_number() -> None:
    none = ["0 %", "0%", "none"]
    assert fact_present(none, "37% and 0 % at 1- and 2-year")
    assert not fact_present(none, "six cases (50%) of recurrence")  # once counted as correct
    assert not fact_present("4.4", "14.4 months") and not fact_present("4.4", "4.45 months")
    assert fact_present("4.4", "The median PFS was 4.4.")


def test_a_fact_that_is_a_word_is_found_as_a_form_of_that_word_not_inside_another() -> None:
    none = ["0 %", "0%", "none"]
    # q044's answer once quoted a case report opening "Nonetheless"; it was counted correct.
    assert not fact_present(none, "Nonetheless, she achieved an excellent response")
    assert fact_present(none, "none of the 50 patients was alive")
    assert not fact_present("febrile", "afebrile patients")  # nor where a longer word starts
    # Another form of the same word (one stem) still counts.
    assert fact_present("cost-effective", "the probability of cost-effectiveness was 100 %")
    assert fact_present("partial response", "two partial responses") and fact_present("rash", "rashes")


def test_the_gold_set_is_split_once_into_halves_of_the_same_mix() -> None:
    items = load_gold(GOLD)
    assert {i.split for i in items} == {"tune", "test"}
    by_type = Counter((i.type, i.split) for i in items)
    for kind in {i.type for i in items}:
        assert abs(by_type[(kind, "tune")] - by_type[(kind, "test")]) <= 1, kind
    suite = gold_suite(GOLD)
    assert [i.id for i in suite.items] == [i.id for i in items] and suite.write_corpus is None


@needs_covidqa
def test_questions_are_chosen_by_split_and_by_a_seeded_sample() -> None:
    items = gold_suite(GOLD).items
    test = select_items(items, split="test")
    assert test and {i.split for i in test} == {"test"} and len(test) < len(items)
    drawn = select_items(items, sample=20, seed=7)
    assert len(drawn) == 20 and drawn == select_items(items, sample=20, seed=7)
    assert drawn != select_items(items, sample=20, seed=8)
    assert [items.index(i) for i in drawn] == sorted(items.index(i) for i in drawn)  # suite order
    assert select_items(items, limit=3) == items[:3]
    assert select_items(items, sample=20, seed=7, offset=5, limit=10) == drawn[5:15]
    assert select_items(items, sample=len(items) + 1) == items


def test_covidqa_suite_reads_the_development_split(tmp_path: Path) -> None:
    suite = covidqa_suite(BENCHMARKS)
    assert len(suite.items) == 968 and len({i.group for i in suite.items}) == 47
    for item in suite.items:
        assert item.answerable and item.gold_answer and item.doc_ids == (item.group,)
        assert item.gold_answer.strip() in item.evidence[0], item.id  # the sentences around the span
    assert suite.write_corpus is not None
    suite.write_corpus(tmp_path)
    files = sorted(tmp_path.glob("*.txt"))
    assert len(files) == 47 and all(f.stem.startswith("covidqa-") for f in files)


@pytest.mark.integration
@needs_covidqa
def test_a_covidqa_run_scores_real_answers(tmp_path: Path, real_embedder: Embedder) -> None:
    full = covidqa_suite(BENCHMARKS)
    articles = sorted({i.group for i in full.items})[:2]
    items = [i for i in full.items if i.group in articles][:12]
    assert full.write_corpus is not None
    whole = tmp_path / "all"
    full.write_corpus(whole)

    def two_articles(directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for doc_id in articles:
            (directory / f"{doc_id}.txt").write_bytes((whole / f"{doc_id}.txt").read_bytes())

    suite = replace(full, items=items, write_corpus=two_articles)
    pipeline = suite_pipeline(suite, Settings(), tmp_path / "cache")
    try:
        assert pipeline.stats()["documents"] == 2
        results = run_suite(pipeline, suite)
    finally:
        pipeline.close()
    assert len(results) == 12 and all(r.markers_valid for r in results)
    for result, item in zip(results, items, strict=True):
        assert result.answered == (
            not result.abstained and covidqa_answered(item.gold_answer or "", result.answer)
        )
        assert result.cited_doc_ids == [] or set(result.cited_doc_ids) <= set(articles)
    summary = summarize(results)
    assert summary["questions"] == 12 and summary["abstention"] is None  # every question is answerable
    assert summary["hit@10"] is not None and summary["hit@10"] >= 0.5  # two articles: most spans retrieved
    assert summary["answered"] is not None and summary["answered"] > 0.0


@pytest.mark.integration
def test_the_gold_suite_through_the_pipeline(pipeline: Pipeline) -> None:
    suite = gold_suite(GOLD)
    chosen = [i for i in suite.items if i.answerable][:6] + [i for i in suite.items if not i.answerable][:3]
    results = run_suite(pipeline, suite, chosen)
    summary = summarize(results)
    assert summary["abstention"] is not None and summary["false_abstention"] is not None
    assert all(r.cited is None for r in results if not r.answerable)
    for result, item in zip(results, chosen, strict=True):
        if item.gold is not None and item.answerable:
            assert result.answered == (
                not result.abstained and answer_correct(item.gold.facts, result.answer)
            )
    assert sum(r.answered is True for r in results) >= 4  # accuracy on the whole set is 0.91


@pytest.mark.integration
def test_rag_eval_suite_writes_reports_and_refuses_missing_data(tmp_path: Path, corpus_index: Path) -> None:
    done = rag("eval", "--suite", "gold", "--limit", "4", "--out", str(tmp_path), index=corpus_index)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "suite-gold.json").read_text())
    assert report["suite"] == "gold" and len(report["items"]) == 4
    assert {"all", "tune", "test"} >= set(report["metrics"])
    assert "| gold | all | 4 |" in (tmp_path / "suites.md").read_text()
    missing = rag("eval", "--suite", "covidqa", "--data", str(tmp_path / "none"), index=corpus_index)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "COVID-QA data not found" in missing.stderr and len(missing.stderr.strip().splitlines()) <= 2


FOLLOWUPS = GOLD.with_name("followups.jsonl")


def test_the_follow_up_set_is_well_formed() -> None:
    bodies = {d.doc_id: d.text for d in load_paths([CORPUS]).documents}
    conversations = [json.loads(line) for line in FOLLOWUPS.read_text(encoding="utf-8").splitlines()]
    assert len(conversations) >= 25 and len({c["id"] for c in conversations}) == len(conversations)
    assert {c["suite"] for c in conversations} == {"gold", "covidqa", "clinical"}
    for conversation in conversations:
        assert len(conversation["turns"]) >= 2 and conversation["kind"] in {
            "refers",
            "fragment",
            "standalone",
        }
        if conversation["suite"] == "gold":
            (doc,) = conversation["doc_ids"]
            assert all(fact_present(f, bodies[doc]) for f in conversation["facts"]), conversation["id"]
        if conversation["suite"] == "clinical":
            # Lay conversations: every fact and evidence sentence is in the documents named.
            text = " ".join(bodies[doc] for doc in conversation["doc_ids"])
            assert conversation["split"] in {"tune", "test"}, conversation["id"]
            assert all(fact_present(f, text) for f in conversation["facts"]), conversation["id"]
            assert all(e in text for e in conversation["evidence"]), conversation["id"]
    clinical = [c for c in conversations if c["suite"] == "clinical"]
    assert len(clinical) == 60 and sum(c["split"] == "test" for c in clinical) == 30


@pytest.mark.integration
def test_follow_ups_on_the_shipped_corpus_stay_answered(pipeline: Pipeline) -> None:
    suite = load_suite("followups", gold=GOLD, data_dir=BENCHMARKS)
    results = run_suite(pipeline, suite)
    summary = summarize(results)
    # Measured 0.833 (20 of 24) when the follow-ups were introduced; the same without history: 0.75.
    assert summary["answered"] is not None and summary["answered"] >= 0.79, summary
    assert all(r.markers_valid for r in results)


@pytest.mark.integration
def test_earlier_turns_are_asked_and_carry_what_their_answers_cited(pipeline: Pipeline) -> None:
    first = "What was the median PFS of sorafenib in renal cancer after bevacizumab or sunitinib?"
    (turn,) = suite_runner.conversation(pipeline, [first], None)
    assert turn.question == first
    assert turn.answer is not None and "4.4 months" in turn.answer
    assert turn.doc_ids == ("sorafenib-mrcc-refractory-bevacizumab-sunitinib",)


@pytest.mark.integration
def test_the_clinical_suite_asks_lay_questions_of_the_shipped_corpus(pipeline: Pipeline) -> None:
    suite = load_suite("clinical", gold=GOLD, data_dir=BENCHMARKS)
    assert suite.name == "clinical" and len(suite.items) == 40
    summary = summarize(run_suite(pipeline, suite))
    # Measured 0.375 answered (15 of 32) and 0.750 abstention (6 of 8) when the suite was added.
    assert summary["answered"] is not None and summary["answered"] >= 0.34, summary
    assert summary["abstention"] is not None and summary["abstention"] >= 0.74, summary


@pytest.mark.integration
def test_lay_conversations_on_the_shipped_corpus(pipeline: Pipeline) -> None:
    suite = load_suite("clinical-followups", gold=GOLD, data_dir=BENCHMARKS)
    assert suite.name == "clinical-followups" and {i.split for i in suite.items} == {"tune", "test"}
    results = run_suite(pipeline, suite)
    summary = summarize(results)
    # Measured 0.367 (11 of 30) when the suite's first 30 were added, 0.533 after the rules
    # fitted on their tune half; the 30 added after those rules: 0.367 (11), as before them.
    assert summary["answered"] is not None and summary["answered"] >= 0.41, summary
    assert all(r.markers_valid for r in results)


@pytest.mark.skipif(not (BENCHMARKS / "realdocs").is_dir(), reason="realdocs data not found")
def test_the_extra_realdocs_questions_are_well_formed() -> None:
    """eval/realdocs_extra.jsonl: checked questions over the realdocs files, split in halves of
    tune and test, asked of the same corpus (and index) as the realdocs suite."""
    suite = load_suite("realdocs-extra", gold=GOLD, data_dir=BENCHMARKS)
    rows = [json.loads(line) for line in (ROOT / "eval" / "realdocs_extra.jsonl").read_text().splitlines()]
    assert len(suite.items) == len(rows) >= 48 and suite.corpus == "realdocs"
    assert Counter(item.split for item in suite.items) == {"tune": len(rows) // 2, "test": len(rows) // 2}
    known = {path.name for path in (BENCHMARKS / "realdocs").iterdir()}
    existing = {json.loads(line)["question"] for line in (BENCHMARKS / "realdocs" / "qa.jsonl").open()}
    for row in rows:
        assert row["file"] in known and row["answers"] and all(a.strip() for a in row["answers"]), row
        assert row["question"] not in existing and (row["page"] is None) == (not row["file"].endswith(".pdf"))
