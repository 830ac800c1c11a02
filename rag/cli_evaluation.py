"""The `rag eval` and `rag train` commands: evaluation suites and the learned models' training."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

from rag.cli_arguments import Commands, Parser, count_argument, load_pipeline, settings_with
from rag.evaluation.suites import SUITES

# Suites with a gold answer per question (pubmedqa's is a yes/no verdict; follow-ups need turns).
TRAIN_SUITES = ("covidqa", "gold", "realdocs")


def add_eval(commands: Commands[Parser]) -> None:
    """`rag eval`: the gold set by retriever, or the evaluation suites."""
    evaluate = commands.add_parser("eval", help="evaluate: the gold set, or the suites")
    evaluate.add_argument(
        "--suite",
        choices=[*SUITES, "all"],
        default=None,
        help="run evaluation suites (each over its own corpus) instead of the retriever comparison",
    )
    _add_suite_sources(evaluate)
    evaluate.add_argument(
        "--limit", type=count_argument(1_000_000), default=None, help="first N questions per suite"
    )
    evaluate.add_argument(
        "--sample",
        type=count_argument(1_000_000),
        default=None,
        help="a random sample of N questions per suite (drawn with --seed, kept in suite order)",
    )
    evaluate.add_argument("--seed", type=int, default=0, help="seed of --sample")
    evaluate.add_argument(
        "--offset",
        type=count_argument(1_000_000, low=0),
        default=0,
        help="skip the first N chosen questions (a long run in parts)",
    )
    evaluate.add_argument("--split", default=None, help="only the questions of this split (e.g. test)")
    evaluate.add_argument(
        "--mode",
        choices=["extractive", "generative"],
        default=None,
        help="suites: the composer (default RAG_GENERATION__DEFAULT_MODE); generative reports what "
        "the model wrote and what verification kept",
    )
    evaluate.add_argument("--retriever", choices=["dense", "bm25", "hybrid", "all"], default="hybrid")
    evaluate.add_argument(
        "--out", type=Path, default=Path("eval/results"), help="where to write JSON + Markdown"
    )
    evaluate.set_defaults(handler=cmd_eval)


def add_train(commands: Commands[Parser]) -> None:
    """`rag train`: fit the sentence ranker or the support model on the development suites."""
    train = commands.add_parser(
        "train",
        help="fit the support model (how likely an answer holds what was asked) or the sentence "
        "ranker (which sentence answers) on suites",
    )
    train.add_argument("--out", type=Path, required=True, help="the model file to write (JSON)")
    train.add_argument(
        "--model",
        choices=("support", "ranker"),
        default="support",
        help="which model to fit (default: support; fit the ranker first, since the support model "
        "learns from the answers the ranker chooses)",
    )
    train.add_argument(
        "--suites",
        type=_suite_names,
        default=TRAIN_SUITES,
        help="comma-separated suites to learn from (default: " + ",".join(TRAIN_SUITES) + "; their test "
        "splits are only scored)",
    )
    _add_suite_sources(train)
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(handler=cmd_train)


def _add_suite_sources(command: Parser) -> None:
    """Where the suites' questions, data and indexes are (eval and train)."""
    command.add_argument(
        "--gold", type=Path, default=Path("eval/gold.jsonl"), help="the gold suite's questions"
    )
    command.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/benchmarks"),
        help="where covidqa/, pubmedqa/ and realdocs/ are",
    )
    command.add_argument(
        "--cache", type=Path, default=Path(".cache/eval"), help="where the suites' indexes are kept"
    )


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.evaluation.runner import evaluate, load_gold, render_markdown, write_reports
    from rag.search.retrieval import Mode

    if args.suite is not None:
        return _eval_suites(args)
    items = load_gold(args.gold)
    pipeline = load_pipeline()
    modes: list[Mode] = ["bm25", "dense", "hybrid"] if args.retriever == "all" else [args.retriever]
    reports = [evaluate(pipeline, items, mode) for mode in modes]
    reports.sort(key=lambda r: r.retriever != pipeline.settings.retrieval.mode)  # the configured one first
    json_path, md_path = write_reports(reports, args.out)
    print(render_markdown(reports))
    print(f"wrote {json_path} and {md_path}")
    return 0


def _eval_suites(args: argparse.Namespace) -> int:
    from rag.evaluation.generation import MeteredModel
    from rag.evaluation.suite_runner import (
        render_markdown,
        report,
        run_suite,
        select_items,
        suite_pipeline,
        write_suite_reports,
    )
    from rag.evaluation.suites import load_suite
    from rag.progress import tqdm_progress

    names = SUITES if args.suite == "all" else (args.suite,)
    settings = settings_with()
    mode = args.mode or settings.generation.default_mode
    llm = None
    if mode == "generative":  # loaded once for every suite, and metered
        from rag.answer.asker import no_generative_model
        from rag.answer.llm import TransformersLanguageModel

        if not settings.generation.configured:
            raise no_generative_model()
        llm = MeteredModel(TransformersLanguageModel.load(settings.generation))
    selection = {
        "split": args.split,
        "limit": args.limit,
        "sample": args.sample,
        "seed": args.seed,
        "offset": args.offset,
    }
    reports = []
    for name in names:
        suite = load_suite(name, gold=args.gold, data_dir=args.data)
        pipeline = suite_pipeline(suite, settings, args.cache, tqdm_progress, llm=llm)
        try:
            items = select_items(suite.items, **selection)
            advance = tqdm_progress(f"{name} questions", len(items))
            results = run_suite(pipeline, suite, items, advance, answer_mode=mode)
            meta = {"mode": mode, "selection": selection, "suite_questions": len(suite.items)}
            reports.append(report(suite, results, pipeline, meta))
        finally:
            pipeline.close()
    written = write_suite_reports(reports, args.out)
    print(render_markdown(reports))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from rag.evaluation import ranker_training, training
    from rag.evaluation.cross_fitting import support_examples
    from rag.evaluation.suite_runner import suite_pipeline
    from rag.evaluation.suites import load_suite
    from rag.progress import tqdm_progress

    settings = settings_with()
    if args.model == "ranker":  # learned from the hand-set score's candidates: no ranker needed to start
        answer = settings.answer.model_copy(update={"rank_sentences": False})
        settings = settings.model_copy(update={"answer": answer})
    with contextlib.ExitStack() as stack:
        opened = []
        for name in args.suites:
            suite = load_suite(name, gold=args.gold, data_dir=args.data)
            pipeline = suite_pipeline(suite, settings, args.cache, tqdm_progress)
            stack.callback(pipeline.close)
            opened.append((pipeline, suite))
        if args.model == "ranker":
            found = [
                q
                for pipeline, suite in opened
                for q in ranker_training.questions(
                    pipeline, suite, tqdm_progress(f"{suite.name} questions", len(suite.items))
                )
            ]
            model, report = ranker_training.fit(found, seed=args.seed)
        else:
            answered, how = support_examples(opened, seed=args.seed, progress=tqdm_progress)
            model, report = training.fit(answered, seed=args.seed, answers=how)
            report += f"\nAnswers {how}."
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(report)
    print(f"wrote {args.out}")
    return 0


def _suite_names(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in TRAIN_SUITES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"suites to train on: any of {', '.join(TRAIN_SUITES)}")
    return names
