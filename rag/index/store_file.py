"""The chunk store's SQLite file: opening it, noticing a truncated one, and the maintenance of
its generation stamps (undoing a write that was never published, dropping rows no kept
generation sees).

One file serves every generation (rag/index/chunk_tables.py). It runs in WAL mode with full
syncing: a writer's transaction is durable once committed, readers in other processes keep
reading while it writes, and a crash mid-write loses only that uncommitted transaction. A
write committed to SQLite but never published (the crash came before CURRENT was replaced)
is undone by the next writer (`roll_back_after`)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from rag.errors import REBUILD_HINT, IndexCorruptError
from rag.index.chunk_tables import SCHEMA, VERSIONED_TABLES, crc

STORE_PREFIX = "store-"
HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000  # as long as the writer lock waits
TRUNCATION_CHECKS = 6  # measurements of a short file, TRUNCATION_RECHECK_S apart, before it is truncated
TRUNCATION_RECHECK_S = 0.1
WAL_HEADER, WAL_FRAME_HEADER = 32, 24  # bytes, in SQLite's write-ahead log format
WAL_LIMIT = 64 * 1024 * 1024  # bytes of write-ahead log kept after a checkpoint; a rebuild's is larger


def store_name(generation: int) -> str:
    """The file a rebuild made in `generation` writes (incremental writes keep using it)."""
    return f"{STORE_PREFIX}{generation:06d}.sqlite"


def store_files(root: Path) -> list[Path]:
    """Every store file under `root`, with its WAL and shared-memory files."""
    return sorted(p for p in root.glob(f"{STORE_PREFIX}*.sqlite*") if p.is_file())


def connect(path: Path, *, create: bool = False, read_only: bool = False) -> sqlite3.Connection:
    if not create:
        check_header(path)
    try:
        if read_only:
            uri = f"{path.resolve().as_uri()}?mode=ro"
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        elif create:
            # A new store is read by no one until its generation is published, and a crash
            # before that discards it: no journal until then (`make_durable`).
            connection = sqlite3.connect(str(path), check_same_thread=False)
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
        else:
            connection = sqlite3.connect(str(path), check_same_thread=False)
            make_durable(connection)
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if create:
            connection.executescript(SCHEMA)
            connection.commit()
        connection.execute("SELECT count(*) FROM documents WHERE doc_row < 0").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IndexCorruptError(f"{path} is not a readable chunk store: {exc}", REBUILD_HINT) from exc
    return connection


def make_durable(connection: sqlite3.Connection) -> None:
    """Write-ahead logging with full syncing: what every store runs in once published."""
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")


def check_header(path: Path) -> None:
    """Raise IndexCorruptError if `path` is missing, not SQLite, or shorter than its header
    says (a truncated copy); reads 100 bytes, whatever the store's size.

    A checkpoint in another process writes the header's new page count before the pages that
    lengthen the file, so a short file is measured again a few times before it is called
    truncated: a checkpoint ends within them, a truncated copy stays short. Pages still in the
    write-ahead log (a checkpoint killed before it lengthened the file) count as read."""
    for attempt in range(TRUNCATION_CHECKS):
        size, expected = _size_and_expected(path)
        if size >= expected:
            return
        if attempt + 1 < TRUNCATION_CHECKS:
            time.sleep(TRUNCATION_RECHECK_S)
    raise IndexCorruptError(
        f"{path} is truncated ({size} bytes with its write-ahead log, its header says {expected})",
        REBUILD_HINT,
    )


def _size_and_expected(path: Path) -> tuple[int, int]:
    """The bytes the store can be read from (the file and the pages its write-ahead log holds) and
    the least size its header promises (0 when the header's page count is not valid)."""
    try:
        with path.open("rb") as file:
            header = file.read(100)
        size = path.stat().st_size
    except OSError as exc:
        raise IndexCorruptError(f"{path} is missing or unreadable ({exc.strerror})", REBUILD_HINT) from exc
    if len(header) < 100 or not header.startswith(HEADER):
        raise IndexCorruptError(f"{path} is not a chunk store (no SQLite header)", REBUILD_HINT)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter_valid = header[24:28] == header[92:96]  # the page count is only valid then
    expected = page_size * pages if counter_valid else 0
    if size < expected:
        # A writer killed inside a checkpoint leaves the new page count written but the pages
        # that lengthen the file only in the write-ahead log, where SQLite reads them: they count.
        size += page_size * _logged_pages(path, page_size)
    return size, expected


def _logged_pages(path: Path, page_size: int) -> int:
    """How many pages the store's write-ahead log can hold (0 without one): each frame is a
    24-byte header and a page, after the log's 32-byte header."""
    try:
        logged = Path(f"{path}-wal").stat().st_size
    except OSError:
        return 0
    return max(0, (logged - WAL_HEADER) // (WAL_FRAME_HEADER + page_size))


def roll_back_after(connection: sqlite3.Connection, generation: int) -> None:
    """Undo every change of generations after `generation`, the one published: rows they
    added are deleted, rows they deleted live again. Committed at once."""
    for table in VERSIONED_TABLES:
        connection.execute(f"DELETE FROM {table} WHERE born > ?", (generation,))
        connection.execute(f"UPDATE {table} SET died = NULL WHERE died > ?", (generation,))
    connection.commit()


def purge_through(connection: sqlite3.Connection, generation: int) -> int:
    """Delete the rows no generation after `generation` sees (died <= it); the caller commits.
    Returns the number of document rows dropped (their chunks and sentences go with them)."""
    dropped = connection.execute("DELETE FROM documents WHERE died <= ?", (generation,)).rowcount
    connection.execute("DELETE FROM vocabulary WHERE died <= ?", (generation,))
    return int(dropped)


CHECKED_COLUMNS = (
    ("documents", "doc_id", "text"),
    ("chunks", "chunk_id", "text"),
    ("sentences", "row_id", "vector"),
    ("vocabulary", "word", "vector"),
)


def store_problems(path: Path) -> list[str]:
    """Everything wrong with a store file, read in full: SQLite's own integrity check, then every
    stored text and vector against its CRC (what `rag verify` runs; readers check only the rows
    they read). Empty: the store is intact."""
    try:
        connection = connect(path, read_only=True)
    except IndexCorruptError as exc:
        return [exc.message]
    try:
        found = [row for (row,) in connection.execute("PRAGMA integrity_check").fetchall() if row != "ok"]
        problems = [f"{path} is damaged: {row}" for row in found[:5]]
        for table, key, column in CHECKED_COLUMNS:
            rows = connection.execute(f"SELECT {key}, {column}, crc FROM {table} WHERE {column} IS NOT NULL")
            for name, value, check in rows:
                if crc(value) != check:
                    problems.append(f"{path} is damaged: the {column} of {table} row {name!r} fails its CRC")
                    break
    except sqlite3.DatabaseError as exc:
        problems = [f"{path} cannot be read: {exc}"]
    finally:
        connection.close()
    return problems
