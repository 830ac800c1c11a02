"""Writing the index: the next generation is prepared from the current one and published
atomically (CURRENT replaced only once every file is fsynced); one writer at a time."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from types import TracebackType

from rag.durable import (
    fsync_dir,
    fsync_tree,
    remove_stale_temporaries,
    sha256_file,
    write_atomic,
    writer_lock,
)
from rag.errors import IndexCorruptError
from rag.index.manifest import MANIFEST_FILE, IndexSpec, Manifest
from rag.index.store import (
    LEGACY_FILES,
    LOCK_FILE,
    POINTER_FILE,
    Index,
    Pointer,
    generation_name,
    generation_numbers,
)
from rag.index.store_file import store_files
from rag.settings import VectorSettings

log = logging.getLogger(__name__)


class IndexWriter:
    """Prepare the next generation and publish it atomically; one writer at a time.

        with IndexWriter(root, spec, base=current) as index:
            ...change index.chunks and index.vectors...
            writer.commit()

    Leaving the block without commit() discards the new generation. `fresh` starts from an
    empty index (a rebuild); otherwise the current generation is copied (from `base` when it
    is still current, which saves reopening it)."""

    def __init__(
        self,
        root: Path,
        spec: IndexSpec,
        *,
        fresh: bool = False,
        base: Index | None = None,
        lock_timeout_s: float = 30.0,
        policy: VectorSettings | None = None,
    ) -> None:
        self.root = root
        self.spec = spec
        self.policy = policy or VectorSettings()
        self._fresh = fresh
        self._base = base
        self._lock = writer_lock(root / LOCK_FILE, lock_timeout_s)
        self._index: Index | None = None
        self._committed = False
        self.base_generation: int | None = None
        """The generation CURRENT named when the writer started (None: there was none)."""
        self._base_store: str | None = None

    @property
    def index(self) -> Index:
        if self._index is None:
            raise RuntimeError("IndexWriter is used outside its `with` block")
        return self._index

    def __enter__(self) -> IndexWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock.__enter__()
        try:
            current = self._current_pointer()
            self.base_generation = current.generation if current else None
            keep = {current.generation} if current else set()
            _remove_generations(self.root, keep=keep, newer_only=True)  # a crashed writer's leftovers
            remove_stale_temporaries(self.root)
            number = max(generation_numbers(self.root), default=0) + 1
            self._base_store = _store_of(self.root, current)
            if self._fresh or current is None:
                self._index = Index.create(self.root, number, self.spec)
            else:
                base = self._base
                if base is None or base.generation != current.generation:
                    base = Index.open(self.root, self.spec)
                self._index = base.fork(number)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def _current_pointer(self) -> Pointer | None:
        if not Index.exists(self.root):
            return None
        try:
            return Pointer.read(self.root)
        except IndexCorruptError:
            if self._fresh:  # a rebuild replaces a damaged index
                return None
            raise

    def commit(self, *, optimize: bool = False) -> Manifest:
        """Write and fsync the new generation, then point CURRENT at it (`optimize`: with its
        segments merged into one, dropping deleted rows)."""
        index = self.index
        manifest = index.write_files(self.policy, optimize=optimize)
        fsync_tree(index.directory)
        fsync_dir(self.root)
        manifest_sha256 = sha256_file(index.directory / MANIFEST_FILE)
        pointer = Pointer(index.generation, index.directory.name, manifest_sha256)
        write_atomic(self.root / POINTER_FILE, pointer.to_json().encode())
        self._committed = True
        _remove_generations(self.root, keep={index.generation, index.generation - 1}, newer_only=False)
        _remove_legacy_files(self.root)
        kept_stores = {index.chunks.path.name}
        if self._base_store is not None:
            kept_stores.add(self._base_store)  # the previous generation's, for readers switching over
        _remove_stores(self.root, keep=kept_stores)
        index.chunks.checkpoint()
        return manifest

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self._committed and self._index is not None:
                self._index.close()  # rolls back the store's uncommitted transaction
                shutil.rmtree(self._index.directory, ignore_errors=True)
                if self._index.chunks.path.name != self._base_store:  # a rebuild's new store
                    _remove_stores(self.root, keep={self._base_store} if self._base_store else set())
        finally:
            self._lock.__exit__(exc_type, exc, traceback)


def _remove_generations(root: Path, keep: set[int], *, newer_only: bool) -> None:
    newest_kept = max(keep, default=0)
    for number in generation_numbers(root):
        if number in keep or (newer_only and number <= newest_kept):
            continue
        log.debug("removing generation %d of %s", number, root)
        shutil.rmtree(root / generation_name(number), ignore_errors=True)


def _store_of(root: Path, pointer: Pointer | None) -> str | None:
    """The store file the published generation reads (None: none, or it cannot be told)."""
    if pointer is None:
        return None
    try:
        return Manifest.read(root / pointer.directory / MANIFEST_FILE).store_file()
    except IndexCorruptError:
        return None


def _remove_stores(root: Path, keep: set[str]) -> None:
    """Delete the store files (with their WAL files) no kept generation reads: a replaced
    store after a rebuild, or a crashed rebuild's."""
    for path in store_files(root):
        if not any(path.name == name or path.name.startswith(f"{name}-") for name in keep):
            log.debug("removing the chunk store %s", path)
            path.unlink(missing_ok=True)


def _remove_legacy_files(root: Path) -> None:
    for name in LEGACY_FILES:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
