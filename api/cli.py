"""The installed `rag` command: the library's commands (`rag.cli`) plus `serve`, which runs the
HTTP service, and `mcp`, which serves MCP over stdio (so the library never imports the service)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from api.settings import ServerSettings
from rag.cli import build_parser, run
from rag.cli_arguments import Commands, Parser, settings_with


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = build_parser()
    add_serve(commands)
    add_mcp(commands)
    return run(parser, argv)


def add_serve(commands: Commands[Parser]) -> None:
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default=None, help="bind address (default RAG_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default RAG_PORT or 8000)")
    serve.add_argument(
        "--ingest", action="store_true", help="bring the index in line with the corpus at start-up"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes (default RAG_WORKERS; 0: one per core, at most 4)",
    )
    serve.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="ray: replicas on Ray Serve with one writer (pip install '.[distributed]'; RAG_RAY__ADDRESS)",
    )
    serve.add_argument(
        "--replicas", type=int, default=None, help="Ray Serve replicas (default RAG_RAY__REPLICAS)"
    )
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_with(ServerSettings, host=args.host, port=args.port, workers=args.workers)
    if args.engine == "ray":
        from api.ray_serve import serve_on_ray
        from api.serve import bring_index_up_to_date

        if args.ingest:
            print(bring_index_up_to_date(settings), file=sys.stderr)
        serve_on_ray(settings, args.replicas or settings.ray.replicas)
        return 0
    from api.serve import serve

    serve(settings, ingest=args.ingest)
    return 0


def add_mcp(commands: Commands[Parser]) -> None:
    mcp = commands.add_parser(
        "mcp",
        help="serve MCP over stdin/stdout (agents and editors: docs/mcp.md)",
        description="Serve the tools ask, search, get_document and list_documents, and the documents "
        "as resources, over the Model Context Protocol on stdin and stdout; logs go to stderr. "
        "The index and settings are those of `rag ask` (RAG_INDEX_DIR, ...).",
    )
    mcp.set_defaults(handler=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    from api.mcp_server import serve_stdio
    from rag.pipeline import Pipeline

    serve_stdio(lambda: Pipeline.load(settings_with()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
