"""The `rag` command's library commands: ingest, ask, search, eval, stats (`api.cli` adds serve).

Errors are reported as one line on stderr with a non-zero exit status (1 for a failure the
user can fix, 2 for a usage error); never as a stack trace.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.cli_arguments import Commands, Parser, count_argument, load_pipeline, settings_with
from rag.cli_evaluation import add_eval, add_train
from rag.cli_filters import add_filter_arguments, filters_from, text_argument
from rag.errors import RagError
from rag.limits import MAX_ASK_TOP_K, MAX_QUESTION_CHARS, MAX_SEARCH_TOP_K

EXIT_ERROR = 1


def main(argv: Sequence[str] | None = None) -> int:
    """The library's commands; the installed `rag` command adds `serve` (`api.cli`)."""
    parser, _ = build_parser()
    return run(parser, argv)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the chosen command; errors as one line and an exit status."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped early (`| head`)
        sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115 - stays open: the interpreter flushes it at exit
        return 0


def build_parser() -> tuple[argparse.ArgumentParser, Commands[Parser]]:
    """The parser with the library's commands, and its subcommands (to add more to)."""
    parser = Parser(prog="rag", description="Cited question answering over a document collection.")
    commands: Commands[Parser] = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser(
        "ingest",
        help="build or update the index from corpus files",
        description="Add and update the documents in PATHS (default: the corpus directory). Documents "
        "read from other files are never removed; documents whose files under the corpus directory "
        "are gone are removed when the corpus is ingested, and under PATHS with --prune.",
    )
    ingest.add_argument(
        "paths", nargs="*", type=Path, help="files or directories (default: the corpus directory)"
    )
    ingest.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch")
    removal = ingest.add_mutually_exclusive_group()
    removal.add_argument(
        "--prune",
        action="store_true",
        help="also remove indexed documents whose files under PATHS are gone",
    )
    removal.add_argument(
        "--keep-missing",
        action="store_true",
        help="ingesting the corpus, keep documents whose files are gone",
    )
    ingest.add_argument("--quiet", action="store_true", help="list only files that were skipped or failed")
    ingest.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="ray: parse, chunk and embed on a Ray cluster (pip install '.[distributed]')",
    )
    ingest.add_argument("--address", help="Ray cluster to join: auto or ray://host:10001 (RAG_RAY__ADDRESS)")
    ingest.add_argument("--actors", type=int, help="embedding actors on Ray (RAG_RAY__ACTORS)")
    ingest.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a file failed (it is still reported)"
    )
    ingest.set_defaults(handler=cmd_ingest)

    ask = commands.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question", type=_text("question"))
    ask.add_argument(
        "--top-k",
        type=count_argument(MAX_ASK_TOP_K),
        default=None,
        help=f"passages to retrieve (1-{MAX_ASK_TOP_K})",
    )
    ask.add_argument("--doc-id", action="append", dest="doc_ids", help="only use this document (repeatable)")
    ask.add_argument("--json", action="store_true", help="print the JSON response of POST /ask")
    ask.add_argument(
        "--mode",
        choices=["extractive", "generative"],
        default=None,
        help="composer (default RAG_GENERATION__DEFAULT_MODE); generative needs RAG_GENERATION__MODEL_PATH",
    )
    add_filter_arguments(ask)
    ask.set_defaults(handler=cmd_ask)

    search = commands.add_parser("search", help="show the passages retrieved for a query")
    search.add_argument("query", type=_text("query"))
    search.add_argument(
        "--top-k",
        type=count_argument(MAX_SEARCH_TOP_K),
        default=None,
        help=f"passages (1-{MAX_SEARCH_TOP_K})",
    )
    search.add_argument(
        "--doc-id", action="append", dest="doc_ids", help="only search this document (repeatable)"
    )
    search.add_argument("--json", action="store_true")
    add_filter_arguments(search)
    search.set_defaults(handler=cmd_search)

    add_eval(commands)
    add_train(commands)

    _add_index_commands(commands)
    return parser, commands


def _add_index_commands(commands: Commands[Parser]) -> None:
    """stats, verify, optimize: commands on the index itself."""
    stats = commands.add_parser("stats", help="what the index holds")
    stats.set_defaults(handler=cmd_stats)

    verify = commands.add_parser(
        "verify", help="re-hash every file of the index against its manifest (damage is named, exit 1)"
    )
    verify.set_defaults(handler=cmd_verify)

    optimize = commands.add_parser(
        "optimize", help="merge the index segments into one, dropping deleted rows (a new generation)"
    )
    optimize.set_defaults(handler=cmd_optimize)


def cmd_ingest(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from rag.pipeline import Pipeline
    from rag.progress import tqdm_progress
    from rag.settings import RaySettings

    settings = settings_with()
    chosen = {k: v for k, v in {"address": args.address, "actors": args.actors}.items() if v is not None}
    try:
        ray_settings = RaySettings.model_validate({**settings.ray.model_dump(), **chosen})
    except ValidationError as exc:
        raise RagError(f"invalid Ray options: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    whole_corpus = all(path.resolve() == settings.corpus_dir.resolve() for path in args.paths)
    prune = args.prune or (whole_corpus and not args.keep_missing)
    pipeline = Pipeline.load(settings.model_copy(update={"ray": ray_settings}), require_index=False)
    result = pipeline.ingest(
        args.paths or None,
        rebuild=args.rebuild,
        prune=prune,
        progress=tqdm_progress,
        engine=args.engine,
    )
    report = result.report
    for file in result.files:
        if file.status == "loaded" and not args.quiet:
            kind = f"{file.documents} document{'s' if file.documents != 1 else ''}"
            print(f"loaded  {file.path} ({file.format}, {kind})", file=sys.stderr)
        elif file.status != "loaded":
            reason = file.reason or ""
            where = "" if reason.startswith(file.path) else f"{file.path}: "  # most reasons name the file
            print(f"{file.status:<7} {where}{reason}", file=sys.stderr)
    counts = {
        status: sum(1 for f in result.files if f.status == status)
        for status in ("loaded", "skipped", "failed")
    }
    print(f"files: {counts['loaded']} loaded, {counts['skipped']} skipped, {counts['failed']} failed")
    if not report.changed and not args.rebuild:
        print(f"index is up to date: {result.documents_seen} documents, nothing to embed")
    else:
        print(
            f"added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
            f"unchanged {report.unchanged} documents; "
            f"+{report.chunks_added}/-{report.chunks_removed} chunks; "
            f"{report.texts_embedded} texts embedded"
        )
        stages = ", ".join(f"{stage} {seconds:.2f}s" for stage, seconds in report.timings_s.items())
        print(f"timings: {stages}")
        if report.removed:
            print(f"removed (gone from their files): {', '.join(report.removed)}")
    stats = pipeline.stats()
    print(
        f"index {pipeline.settings.index_dir} (generation {stats['generation']}): "
        f"{stats['documents']} documents, {stats['chunks']} chunks"
    )
    return 1 if args.strict and counts["failed"] else 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.serialize import answer_dict, citation_place

    pipeline = load_pipeline()
    answer = pipeline.ask(
        args.question,
        top_k=args.top_k,
        doc_ids=args.doc_ids,
        answer_mode=args.mode,
        filters=filters_from(args),
    )
    if args.json:
        print(json.dumps(answer_dict(answer), indent=2, ensure_ascii=False))
        return 0
    print(textwrap.fill(answer.answer, width=100))
    if answer.citations:
        print()
    for citation in answer.citations:
        p = citation.passage
        where = ", ".join(str(part) for part in (p.authors, p.journal, p.year) if part)
        place = citation_place(citation)
        print(
            f"[{citation.marker}] {p.title}"
            + (f" ({where})" if where else "")
            + f"  <{p.doc_id}>"
            + (f"  {place}" if place else "")
        )
        print(
            textwrap.fill(f'"{citation.quote}"', width=100, initial_indent="    ", subsequent_indent="    ")
        )
    if answer.composer != "extractive":
        print(f"\n({answer.composer}; {len(answer.dropped)} generated sentences removed by verification)")
    for dropped in answer.dropped:
        print(textwrap.fill(f"- {dropped.sentence} ({dropped.reason})", width=100, subsequent_indent="  "))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.serialize import passage_dict

    pipeline = load_pipeline()
    query = pipeline.read(args.query)
    resolved = query if query != args.query else None
    passages = pipeline.search(query, top_k=args.top_k, doc_ids=args.doc_ids, filters=filters_from(args))
    if args.json:
        body = {"results": [passage_dict(p) for p in passages], "resolved_query": resolved}
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    if resolved is not None:
        print(f"Read as: {resolved}")
    for p in passages:
        print(f"{p.rank}. {p.score:.3f}  {p.title}  <{p.chunk_id}>")
        print(textwrap.fill(p.text[:400], width=100, initial_indent="    ", subsequent_indent="    "))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    print(json.dumps(load_pipeline().stats(), indent=2))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from rag.index.store import verify_index

    settings = settings_with()
    clock = time.perf_counter()
    result = verify_index(settings.index_dir)
    seconds = time.perf_counter() - clock
    for problem in result.problems:
        print(f"damaged: {problem}", file=sys.stderr)
    if result.problems:
        print(f"{settings.index_dir}: {len(result.problems)} problem(s); rebuild with `rag ingest --rebuild`")
        return 1
    print(
        f"{settings.index_dir}: generation {result.generation} intact, {result.files} files, "
        f"{result.bytes / 1e6:.1f} MB hashed in {seconds:.2f} s"
    )
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    result = load_pipeline().optimize()
    before, after = result.before, result.after
    if result.before == result.after:
        segments = after["segments"]
        print(f"already optimal (generation {result.generation}): {segments} segment(s), no deleted rows")
        return 0
    print(
        f"optimized (generation {result.generation}) in {result.seconds:.2f} s: segments "
        f"{before['segments']} -> {after['segments']}, deleted rows dropped {before['dead']}, "
        f"live rows {after['live']}"
    )
    return 0


def _text(what: str) -> Callable[[str], str]:
    return text_argument(what, MAX_QUESTION_CHARS)


if __name__ == "__main__":
    sys.exit(main())
