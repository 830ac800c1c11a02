"""Checksums of an index's files: recorded when written, checked once per process when read.

A generation's files never change once published, so a file this process has already hashed
(or written and hashed) does not need hashing again while it is the same file: same path,
inode, size and modification time, and the manifest expects the digest it had. Opening an
index again in a long-running server therefore costs a `stat` per file, not a read of every
byte. `rag verify` re-hashes everything on demand (`rehash=True`); damage is named, never
crashed on.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any

from rag.durable import sha256_file
from rag.index.manifest import MANIFEST_FILE


@dataclass(frozen=True)
class FileIdentity:
    """What says a file is still the one that was hashed."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileIdentity:
        return cls(stat.st_ino, stat.st_size, stat.st_mtime_ns)


_VERIFIED: dict[Path, tuple[FileIdentity, str]] = {}
_GUARD = threading.Lock()
# Old generations are removed as writes go on; past this many entries, those of files that no
# longer exist are dropped, so a long-running server's memory stays bounded.
PRUNE_AT = 4096


def _record(path: Path, identity: FileIdentity, digest: str) -> None:
    with _GUARD:
        _VERIFIED[path.resolve()] = (identity, digest)
        if len(_VERIFIED) > PRUNE_AT:
            for gone in [p for p in _VERIFIED if not p.exists()]:
                del _VERIFIED[gone]


def forget_all() -> None:
    """Drop every remembered checksum (tests; `rag verify` does not need it)."""
    with _GUARD:
        _VERIFIED.clear()


def already_verified(path: Path, identity: FileIdentity, digest: str) -> bool:
    with _GUARD:
        known = _VERIFIED.get(path.resolve())
    return known == (identity, digest)


def file_checksums(directory: Path) -> dict[str, dict[str, int | str]]:
    """Size and SHA-256 of every file under `directory` except the manifest, by relative path;
    each is remembered as verified (it was just written by this process)."""
    checksums: dict[str, dict[str, int | str]] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative != MANIFEST_FILE:
            digest, stat = sha256_file(path), path.stat()
            checksums[relative] = {"bytes": stat.st_size, "sha256": digest}
            _record(path, FileIdentity.of(stat), digest)
    return checksums


def file_problems(directory: Path, files: dict[str, Any], *, rehash: bool = False) -> list[str]:
    """Every file of `files` (the manifest's list) that is missing, truncated or changed, as a
    message naming it; empty when all hold. Without `rehash`, a file this process already
    verified and that has not changed since is not read again."""
    if not files:
        return [f"{directory / MANIFEST_FILE} lists no files"]
    problems = []
    for relative, expected in files.items():
        path = directory / relative
        try:
            stat = path.stat()
        except OSError:
            stat = None
        if stat is None or not S_ISREG(stat.st_mode):
            problems.append(f"{path} is missing")
            continue
        if stat.st_size != expected.get("bytes"):
            expected_bytes = expected.get("bytes")
            problems.append(f"{path} is damaged: {stat.st_size} bytes, the manifest says {expected_bytes}")
            continue
        digest = str(expected.get("sha256"))
        identity = FileIdentity.of(stat)
        if not rehash and already_verified(path, identity, digest):
            continue
        if sha256_file(path) != digest:
            problems.append(f"{path} is damaged: its SHA-256 does not match the manifest")
            continue
        _record(path, identity, digest)
    return problems
