"""Checksums of an index's files: recorded when written, checked once per process when read.

A generation's files never change once published, so a file this process has already hashed
(or written and hashed) does not need hashing again while it is the same file: same device,
inode, size and modification time, and the manifest expects the digest it had. A file that a
later generation shares by a hard link (an unchanged segment) is the same file under another
name, so neither the writer nor a reader hashes it again. Opening an
index again in a long-running server therefore costs a `stat` per file, not a read of every
byte. `rag verify` re-hashes everything on demand (`rehash=True`); damage is named, never
crashed on.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any

from rag.durable import sha256_file
from rag.index.manifest import MANIFEST_FILE

HASHING_THREADS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class FileIdentity:
    """What says a file is still the one that was hashed."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileIdentity:
        return cls(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


# (device, inode) -> (a path it had, identity, digest)
_VERIFIED: dict[tuple[int, int], tuple[Path, FileIdentity, str]] = {}
_GUARD = threading.Lock()
# Old generations are removed as writes go on; past this many entries, those of files that no
# longer exist are dropped, so a long-running server's memory stays bounded.
PRUNE_AT = 4096


def _record(path: Path, identity: FileIdentity, digest: str) -> None:
    with _GUARD:
        _VERIFIED[(identity.device, identity.inode)] = (path, identity, digest)
        if len(_VERIFIED) > PRUNE_AT:
            for gone in [key for key, (known, _, _) in _VERIFIED.items() if not known.exists()]:
                del _VERIFIED[gone]


def forget_all() -> None:
    """Drop every remembered checksum (tests; `rag verify` does not need it)."""
    with _GUARD:
        _VERIFIED.clear()


def known_digest(identity: FileIdentity) -> str | None:
    """The SHA-256 this process found for the file, if it has not changed since."""
    with _GUARD:
        known = _VERIFIED.get((identity.device, identity.inode))
    return known[2] if known is not None and known[1] == identity else None


def file_checksums(directory: Path) -> dict[str, dict[str, int | str]]:
    """Size and SHA-256 of every file under `directory` except the manifest, by relative path;
    each is remembered as verified (it was just written by this process). A file shared with
    an earlier generation by a hard link keeps the digest found for it then."""
    checksums: dict[str, dict[str, int | str]] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative != MANIFEST_FILE:
            stat = path.stat()
            identity = FileIdentity.of(stat)
            digest = known_digest(identity) or sha256_file(path)
            checksums[relative] = {"bytes": stat.st_size, "sha256": digest}
            _record(path, identity, digest)
    return checksums


def file_problems(directory: Path, files: dict[str, Any], *, rehash: bool = False) -> list[str]:
    """Every file of `files` (the manifest's list) that is missing, truncated or changed, as a
    message naming it; empty when all hold. Without `rehash`, a file this process already
    verified and that has not changed since is not read again."""
    if not files:
        return [f"{directory / MANIFEST_FILE} lists no files"]
    problems: dict[str, str] = {}
    to_hash: list[tuple[str, Path, FileIdentity, str]] = []
    for relative, expected in files.items():
        path = directory / relative
        try:
            stat = path.stat()
        except OSError:
            stat = None
        if stat is None or not S_ISREG(stat.st_mode):
            problems[relative] = f"{path} is missing"
            continue
        if stat.st_size != expected.get("bytes"):
            expected_bytes = expected.get("bytes")
            problems[relative] = (
                f"{path} is damaged: {stat.st_size} bytes, the manifest says {expected_bytes}"
            )
            continue
        digest = str(expected.get("sha256"))
        identity = FileIdentity.of(stat)
        if rehash or known_digest(identity) != digest:
            to_hash.append((relative, path, identity, digest))
    # hashlib lets go of the interpreter lock while it hashes: the files are read side by side.
    with ThreadPoolExecutor(max_workers=HASHING_THREADS) as pool:
        found = list(pool.map(lambda item: sha256_file(item[1]), to_hash))
    for (relative, path, identity, digest), actual in zip(to_hash, found, strict=True):
        if actual != digest:
            problems[relative] = f"{path} is damaged: its SHA-256 does not match the manifest"
        else:
            _record(path, identity, digest)
    return [problems[relative] for relative in files if relative in problems]
