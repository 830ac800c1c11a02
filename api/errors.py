"""Which HTTP status each kind of library error is answered with."""

from __future__ import annotations

from rag.errors import (
    AccessError,
    ConflictError,
    DocumentError,
    GenerationUnavailableError,
    IndexBusyError,
    IndexChangedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    NotFoundError,
    RagError,
    StoppedError,
    UnsupportedFileError,
)

# The first matching kind decides: subclasses come before their parents.
STATUS_BY_ERROR: tuple[tuple[type[RagError], int], ...] = (
    (NotFoundError, 404),
    (GenerationUnavailableError, 400),
    (UnsupportedFileError, 415),
    (DocumentError, 422),
    (AccessError, 403),
    (ConflictError, 409),
    (IndexBusyError, 503),
    (IndexChangedError, 503),
    (IndexCorruptError, 503),
    (IndexMismatchError, 503),
    (IndexNotFoundError, 503),
    (StoppedError, 503),
)


def status_of(exc: RagError) -> int:
    return next((code for kind, code in STATUS_BY_ERROR if isinstance(exc, kind)), 500)
