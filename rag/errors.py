"""The library's exceptions: one root type, a few specific kinds, each with a fix in its message."""

from __future__ import annotations


class RagError(Exception):
    """Root of every error this library raises on purpose.

    `message` says what went wrong; `hint` says what the user can do about it.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message if hint is None else f"{message} ({hint})")
        self.message = message
        self.hint = hint


class ConfigurationError(RagError):
    """A setting is invalid or points at something that does not exist."""


class ModelError(RagError):
    """A model (embedding or generative) is missing, unsafe to load, or fails its checksum."""


class DocumentError(RagError):
    """A corpus file cannot be read or parsed."""


class UnsupportedFileError(DocumentError):
    """A file is of a type the loaders do not read."""


class IndexNotFoundError(RagError):
    """There is no index where one was expected."""


class IndexChangedError(RagError):
    """Rows a request's generation of the index holds were purged by later writes while it
    ran (a request that outlived two writes); a retry reads the current generation."""


class IndexMismatchError(RagError):
    """The index on disk was built with a different model or chunking than configured."""


class IndexCorruptError(RagError):
    """An index file is unreadable or inconsistent with the rest of the index."""


class IndexBusyError(RagError):
    """Another writer holds the index's writer lock."""


class ConflictError(RagError):
    """A request conflicts with what the index or the corpus already holds."""


class AccessError(RagError):
    """A path or request reaches outside what the service is allowed to touch."""


class GenerationUnavailableError(RagError):
    """A generative answer was asked for, but no generative model is configured."""


class StoppedError(RagError):
    """Work was stopped before it finished because its process is shutting down."""


class NotFoundError(RagError):
    """A requested document or chunk does not exist in the index."""


REBUILD_HINT = "run `rag ingest --rebuild` to rebuild the index from the corpus"
