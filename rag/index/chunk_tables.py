"""The chunk store's SQLite tables, and vectors as little-endian float32 blobs (never pickled)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rag.errors import REBUILD_HINT, IndexCorruptError

if TYPE_CHECKING:
    from numpy.typing import NDArray

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    authors TEXT, journal TEXT, year INTEGER, source TEXT,
    extra TEXT NOT NULL,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    path TEXT,
    page_starts TEXT NOT NULL DEFAULT '[]',
    sections TEXT NOT NULL DEFAULT '[]',
    fingerprint TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS chunks (
    row_id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT UNIQUE NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    embed_text TEXT NOT NULL,
    vector BLOB NOT NULL,
    sections TEXT NOT NULL DEFAULT '[]',
    page_breaks TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentences (
    row_id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_row INTEGER NOT NULL REFERENCES chunks(row_id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    section TEXT,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_chunk ON sentences(chunk_row);
CREATE TABLE IF NOT EXISTS abbreviations (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    short TEXT NOT NULL,
    long TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS abbreviations_doc ON abbreviations(doc_id);
CREATE TABLE IF NOT EXISTS fingerprint_keys (
    key INTEGER NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS fingerprint_keys_key ON fingerprint_keys(key);
CREATE INDEX IF NOT EXISTS fingerprint_keys_doc ON fingerprint_keys(doc_id);
CREATE TABLE IF NOT EXISTS vocabulary (
    word TEXT PRIMARY KEY,
    df INTEGER NOT NULL,
    vector BLOB
);
"""


def to_blob(vector: NDArray[np.float32]) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dimension: int) -> NDArray[np.float32]:
    vector = np.frombuffer(blob, dtype="<f4")
    if vector.shape[0] != dimension:
        raise IndexCorruptError(
            f"a stored vector has {vector.shape[0]} values, expected {dimension}", REBUILD_HINT
        )
    return vector.astype(np.float32)
