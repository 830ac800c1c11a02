"""Progress bars for the command line (tqdm on stderr)."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm


def tqdm_progress(label: str, total: int) -> Callable[[int], None]:
    """A progress bar for `total` items; the returned function advances it and closes it at the end."""
    bar = tqdm(total=total, desc=f"embedding {label}", unit="text", leave=True, dynamic_ncols=True)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        bar.update(n)
        done += n
        if done >= total:
            bar.close()

    return advance
