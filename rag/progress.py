"""Progress of long work (reading files, embedding): a factory `(label, total) -> advance(n)`,
and progress bars for the command line (tqdm on stderr)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int], Callable[[int], None]]
"""Factory for progress reporting: (label, total) -> advance(n)."""

# What each label of the ingestion stages means, for people.
STAGES = {
    "files": "reading files",
    "texts": "embedding chunks and sentences",
    "vocabulary": "embedding new words",
}


CHARACTER_LABELS = frozenset({"texts", "vocabulary"})
"""The stages whose totals are characters of text, not items."""


def stage_name(label: str) -> str:
    return STAGES.get(label, label)


def no_progress(label: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def tqdm_progress(label: str, total: int) -> Callable[[int], None]:
    """A progress bar (counts, rate and time left) for `total` items; the returned function
    advances it and closes it at the end."""
    from tqdm import tqdm

    # Embedding is counted in characters (what its time follows); anything else one by one.
    unit, scale = (
        ("char", True) if label in CHARACTER_LABELS else ("file" if label == "files" else "item", False)
    )
    bar = tqdm(
        total=total, desc=stage_name(label), unit=unit, unit_scale=scale, leave=True, dynamic_ncols=True
    )
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        bar.update(n)
        done += n
        if done >= total:
            bar.close()

    return advance
