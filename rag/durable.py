"""Durable file operations: fsync, atomic replacement, checksums and a writer lock.

`os.replace` is atomic, but without fsync a crash can leave the new name pointing at a
file whose contents never reached the disk; every function here syncs before it renames.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from rag.errors import IndexBusyError

CHECKSUM_BLOCK = 1 << 20


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make the entries of a directory (new names, renames) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under `root`, then `root` itself."""
    for directory, _, files in os.walk(root):
        for name in files:
            fsync_file(Path(directory) / name)
        fsync_dir(Path(directory))


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: readers see the old contents or the new, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete what `write_atomic` calls of killed processes left behind (`.<name>.tmp-<pid>-...`).

    Call it only while holding the writer lock: then no live writer owns such a file."""
    if directory.is_dir():
        for path in directory.glob(".*.tmp-*"):
            if path.is_file():
                path.unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHECKSUM_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# One lock per directory and process: flock() excludes other processes, this excludes threads.
_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def writer_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold the exclusive writer lock `path` (created if missing) for the duration.

    Threads of this process queue for it; another process holding it makes this raise
    IndexBusyError after `timeout_s`, naming that process."""
    key = path.resolve()
    with _THREAD_LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
    deadline = time.monotonic() + timeout_s
    if not thread_lock.acquire(timeout=max(timeout_s, 0.0)):
        raise IndexBusyError(
            f"{path.parent} is being written by another request", "retry when it has finished"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+") as handle:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "unknown"
                        raise IndexBusyError(
                            f"{path.parent} is being written by another process (pid {holder})",
                            "wait for that `rag ingest` or server write to finish, then retry",
                        ) from None
                    time.sleep(0.05)
            try:
                handle.seek(0)
                handle.truncate()
                handle.write(str(os.getpid()))
                handle.flush()
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        thread_lock.release()
