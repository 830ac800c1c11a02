"""`python -m bench [SUITE ...] [--quick] [--out DIR] [--data FILE]`: run the benchmarks from a
checkout (they are not part of the installed package); results in bench/results/."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from api.settings import ServerSettings
from bench.runner import OPTIONAL_SUITES, SUITES, run_all
from rag.cli import run
from rag.cli_arguments import Parser, settings_with
from rag.errors import RagError


def main(argv: Sequence[str] | None = None) -> int:
    parser = Parser(prog="python -m bench", description="Measure latency, throughput and scaling.")
    parser.add_argument(
        "suites",
        nargs="*",
        help=f"{', '.join(SUITES)} (default: all); {', '.join(OPTIONAL_SUITES)} (only when named; "
        "needs the distributed extra)",
        metavar="SUITE",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (the 1M scaling step is skipped)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="output folder")
    parser.add_argument("--data", type=Path, default=None, help="PubMedQA ori_pqal.json (default ../shared)")
    parser.set_defaults(handler=bench)
    return run(parser, argv)


def bench(args: argparse.Namespace) -> int:
    unknown = [name for name in args.suites if name not in SUITES + OPTIONAL_SUITES]
    if unknown:
        raise RagError(
            f"unknown benchmark {', '.join(unknown)}", f"choose from {', '.join(SUITES + OPTIONAL_SUITES)}"
        )
    _, markdown = run_all(
        settings_with(ServerSettings), args.suites or SUITES, quick=args.quick, out=args.out, data=args.data
    )
    print(markdown)
    print(f"wrote {args.out / 'latest.json'} and {args.out / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
