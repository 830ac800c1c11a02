"""The index generation that readers use, swapped (never changed) when a newer one appears."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from rag.errors import RagError
from rag.index.manifest import IndexSpec
from rag.index.store import Index, pointer_stamp

log = logging.getLogger(__name__)

REOPEN_ATTEMPTS = 5  # opens of a generation that writers keep replacing before giving up


class IndexHandle:
    """Hands out the current generation.

    A request takes one generation and uses it to the end, so a write that publishes the
    next generation meanwhile never mixes the two. A generation published by another process
    (`rag ingest` while the server runs) is noticed by the change of CURRENT and opened by the
    first request that sees it; the others keep answering from the old one until it is ready.
    """

    def __init__(self, root: Path, spec: IndexSpec, index: Index | None = None) -> None:
        self.root = root
        self.spec = spec
        self._index = index
        self._stamp = pointer_stamp(root) if index is not None else None
        self._failed_stamp: tuple[int, int] | None = None
        self._reloading = False
        self._lock = threading.Lock()
        self.reload_error: str | None = None

    def current(self) -> Index:
        stamp = pointer_stamp(self.root)
        with self._lock:
            index = self._index
            if index is not None and (
                stamp == self._stamp or stamp is None or stamp == self._failed_stamp or self._reloading
            ):
                return index
            self._reloading = True
        try:
            fresh, stamp = _open_newest(self.root, self.spec, stamp)
        except BaseException:
            with self._lock:
                self._reloading = False
            raise
        if isinstance(fresh, RagError):
            with self._lock:
                self._reloading = False
                if index is None:
                    raise fresh
                # Keep answering from the generation that works; /ready reports the damage. The
                # stamp is the one the last attempt read, so that generation is not tried again.
                self._failed_stamp = stamp
                self.reload_error = str(fresh)
            log.error("cannot open the new index generation, still serving the old one: %s", fresh)
            return index
        with self._lock:
            self._reloading = False
            self._index, self._stamp, self.reload_error = fresh, stamp, None
        return fresh

    def loaded(self) -> Index | None:
        """The generation in use, without checking for a newer one (None before the first open)."""
        return self._index

    def publish(self, index: Index) -> None:
        """Make a generation this process just committed the one readers get."""
        with self._lock:
            self._index, self._stamp = index, pointer_stamp(self.root)
            self._failed_stamp, self.reload_error = None, None

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None


def open_latest(
    root: Path, spec: IndexSpec, stamp: tuple[int, int] | None = None
) -> tuple[Index, tuple[int, int] | None]:
    """The generation CURRENT names, opened, with CURRENT's stamp (`stamp`: read just before).

    A writer in another process that publishes twice while a generation is opened removes it
    (two are kept), and the open fails; CURRENT has then changed, and the newer generation is
    opened instead, as Lucene retries a commit that changed while it was read. A failed open
    with CURRENT unchanged is damage, and raises."""
    opened, stamp = _open_newest(root, spec, stamp)
    if isinstance(opened, RagError):
        raise opened
    return opened, stamp


def _open_newest(
    root: Path, spec: IndexSpec, stamp: tuple[int, int] | None
) -> tuple[Index | RagError, tuple[int, int] | None]:
    """open_latest's attempts: the generation opened, or the error of the last attempt, with
    the stamp of CURRENT that attempt read."""
    stamp = pointer_stamp(root) if stamp is None else stamp
    attempts = 1
    while True:
        try:
            return Index.open(root, spec), stamp
        except RagError as error:
            newer = pointer_stamp(root)
            if newer == stamp or attempts == REOPEN_ATTEMPTS:
                return error, stamp
            stamp, attempts = newer, attempts + 1
