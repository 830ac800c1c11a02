"""The filter options of `rag ask` and `rag search`: the HTTP API's `filters` object on the
command line, with the same rules (rag/search/filters.py) and one-line usage errors."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from rag.documents import FILE_TYPES

if TYPE_CHECKING:
    from rag.search.filters import Filters

YEARS = re.compile(r"^\s*(\d{4})?\s*(-)?\s*(\d{4})?\s*$")
MIN_YEAR, MAX_YEAR = 1000, 2999  # as the API's Year
MAX_VALUE_CHARS = 500


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "filters",
        "as the API's `filters`: a repeated option matches any of its values; options together all match",
    )
    group.add_argument(
        "--year",
        type=_years,
        metavar="YEARS",
        help="published in YEAR, or FROM-TO (an end may be left out: 2015-)",
    )
    # Options that may be repeated: (flag, the Filters field it fills, its type, metavar, help).
    repeated: list[tuple[str, str, Callable[[str], str], str, str | None]] = [
        ("--journal", "journals", _value("journal"), "NAME", None),
        ("--author", "authors", _value("author"), "NAME", '"Bruix" or "Bruix J"'),
        ("--section", "sections", _value("section"), "NAME", "e.g. Results"),
        ("--file-type", "file_types", _file_type, "TYPE", ", ".join(FILE_TYPES)),
    ]
    for flag, dest, kind, metavar, help_text in repeated:
        group.add_argument(flag, action="append", dest=dest, type=kind, metavar=metavar, help=help_text)


def filters_from(args: argparse.Namespace) -> Filters | None:
    """The filters the options name (None: no option given)."""
    from rag.search.filters import Filters  # numpy: not at import time

    year_from, year_to = args.year or (None, None)
    filters = Filters(
        year_from=year_from,
        year_to=year_to,
        journals=tuple(args.journals or ()),
        authors=tuple(args.authors or ()),
        sections=tuple(args.sections or ()),
        file_types=tuple(args.file_types or ()),
    )
    return filters if filters.restricts else None


def _years(value: str) -> tuple[int | None, int | None]:
    match = YEARS.match(value)
    if match is None or not (match.group(1) or match.group(3)):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a year or a range of years (2015, 2015-2020, 2015-)"
        )
    low = int(match.group(1)) if match.group(1) else None
    high = int(match.group(3)) if match.group(3) else None
    if match.group(2) is None:
        high = low
    for year in (low, high):
        if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
            raise argparse.ArgumentTypeError(f"year {year} is not between {MIN_YEAR} and {MAX_YEAR}")
    if low is not None and high is not None and low > high:
        raise argparse.ArgumentTypeError(f"the range {value!r} ends before it starts")
    return low, high


def text_argument(what: str, limit: int) -> Callable[[str], str]:
    """An argparse type: text that is not blank and not longer than `limit` characters (a usage
    error, exit status 2, as over HTTP it is a 422)."""

    def parse(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"the {what} is empty")
        if len(value) > limit:
            raise argparse.ArgumentTypeError(f"the {what} is longer than {limit} characters")
        return value

    return parse


def _value(what: str) -> Callable[[str], str]:
    return text_argument(what, MAX_VALUE_CHARS)


def _file_type(value: str) -> str:
    from rag.search.filters import file_type_key

    if file_type_key(value) not in FILE_TYPES:
        raise argparse.ArgumentTypeError(f"unknown file type {value!r}; use {', '.join(FILE_TYPES)}")
    return value
