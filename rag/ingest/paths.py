"""Keep server-side file access inside the configured corpus roots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from rag.errors import AccessError


def confine(requested: str, roots: Sequence[Path]) -> Path:
    """The path `requested` names, if it lies inside one of `roots` once resolved.

    Relative paths are taken relative to the first root. `..` is refused outright, and so is
    any path (absolute, or through a symlink) that resolves outside every root."""
    if not roots:
        raise AccessError("no corpus roots are configured", "set RAG_CORPUS_ROOTS")
    if "\0" in requested:
        raise AccessError("a path may not contain NUL characters")
    if ".." in PurePosixPath(requested).parts or ".." in Path(requested).parts:
        raise AccessError(f"{requested!r}: '..' is not allowed in a path")
    resolved_roots = [root.resolve() for root in roots]
    path = Path(requested)
    candidate = path if path.is_absolute() else resolved_roots[0] / path
    try:
        resolved = candidate.resolve()
        if not any(resolved.is_relative_to(root) for root in resolved_roots):
            raise AccessError(
                f"{requested!r} is outside the corpus roots",
                f"paths must lie inside {', '.join(str(r) for r in resolved_roots)}",
            )
        resolved.stat()
    except OSError as exc:  # missing, a name too long, a loop of links, no permission
        raise AccessError(f"{requested!r} cannot be read under the corpus roots: {exc.strerror}") from exc
    return resolved


def inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether `path`, with every symlink followed, lies inside one of `roots`."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve()) for root in roots)
