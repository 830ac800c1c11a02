"""How the `rag` command reads its command line, besides the filters: its parser (usage errors on
one line), settings from the environment with the options given, whole numbers within bounds."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from rag.errors import RagError
from rag.settings import Settings

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (exit status 2), like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


Commands = argparse._SubParsersAction  # what `add_subparsers` returns: more commands are added to it


def settings_with(kind: type[Settings] = Settings, **overrides: Any) -> Any:
    """`kind` of settings from the environment, with the options given on the command line; an
    invalid value is a RagError naming it."""
    from pydantic import ValidationError

    try:
        return kind(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RagError(f"invalid settings: {problems}") from exc


def load_pipeline() -> Any:
    """The pipeline over the configured index (which must exist), with settings from the
    environment."""
    from rag.pipeline import Pipeline

    return Pipeline.load(settings_with())


def count_argument(limit: int, low: int = 1) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` (1 unless given) to `limit`."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= number <= limit:
            raise argparse.ArgumentTypeError(f"must be between {low} and {limit}, got {number}")
        return number

    return parse
