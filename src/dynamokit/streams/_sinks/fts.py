"""Full-text search in an embedded SQLite FTS5 index, version-guarded like a View; `FtsSink.writer(...)` is a
StreamProcessor sink indexing a batch of changes in one transaction."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from .._changes import Change

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {name}_docs (
  id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, version TEXT NOT NULL, fields BLOB);
CREATE VIRTUAL TABLE IF NOT EXISTS {name}_fts USING fts5(body, content='', tokenize='unicode61');
"""


@dataclass(frozen=True)
class Hit:
    """A search result: document id, BM25 score (lower is better) and the indexed fields."""

    doc_id: str
    score: float
    fields: dict[str, Any]


def _newer(version: int | Decimal, stored: str | None) -> bool:
    return stored is None or Decimal(version) > Decimal(stored)


def key_text(change: Change[Any]) -> str:
    """The default document id of a change: its key values in key-name order, joined by "|"."""
    return "|".join(str(value) for _, value in sorted(change.keys.items()))


def _values(item: Any) -> Mapping[str, Any]:
    return item if isinstance(item, Mapping) else vars(item)


def _text_fields(item: Any, fields: Sequence[str] | None) -> dict[str, Any]:
    """The fields of an entity or dict to index: those named, or else every string-valued one."""
    values = _values(item)
    if fields is None:
        return {name: value for name, value in values.items() if isinstance(value, str)}
    return {name: values.get(name) for name in fields}


class FtsSink:
    """An FTS5 index named `index` in the SQLite file `path` (":memory:" for a throwaway one).

    `index` and `delete` apply only when `version` is above the document's stored version (deletes keep
    a tombstone version), so redelivered and out-of-order changes are harmless."""

    def __init__(self, path: str, index: str = "docs") -> None:
        if not index.isidentifier():
            raise ValueError(f"index name must be an identifier: {index!r}")
        self.name = index
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(_SCHEMA.format(name=index))

    def index(self, doc_id: str, fields: Mapping[str, Any], version: int | Decimal) -> bool:
        """Index (or reindex) a document's text fields; True when applied."""
        return self._apply(doc_id, version, *self._document(fields))

    def delete(self, doc_id: str, version: int | Decimal) -> bool:
        """Remove a document from the index (a tombstone keeps its version); True when applied."""
        return self._apply(doc_id, version, None, None)

    def write(self, changes: Iterable[Change[Any]], fields: Sequence[str] | None = None,
              doc_id: Callable[[Change[Any]], str] = key_text) -> int:
        """Index each change's item (`fields` of it, default every string field; deletes and expiries
        remove the document), all in one transaction, version-guarded; returns how many were applied."""
        applied = 0
        with self._transaction():
            for change in changes:
                if change.new is None:
                    applied += self._put(doc_id(change), change.version, None, None)
                else:
                    text = _text_fields(change.new, fields)
                    applied += self._put(doc_id(change), change.version, *self._document(text))
        return applied

    def writer(self, fields: Sequence[str] | None = None,
               doc_id: Callable[[Change[Any]], str] = key_text) -> FtsWriter:
        """A sink for `StreamProcessor(sinks=[...])` / `processor.sink(...)`: `write(changes)` with these
        `fields` and `doc_id`."""
        return FtsWriter(self, fields, doc_id)

    @staticmethod
    def _document(fields: Mapping[str, Any]) -> tuple[bytes, str]:
        return orjson.dumps(dict(fields), default=str), " ".join(str(v) for v in fields.values() if v is not None)

    def _apply(self, doc_id: str, version: int | Decimal, fields: bytes | None, body: str | None) -> bool:
        with self._transaction():
            return self._put(doc_id, version, fields, body)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _put(self, doc_id: str, version: int | Decimal, fields: bytes | None, body: str | None) -> bool:
        """Store a document (or a tombstone) unless one as new is stored; inside a transaction."""
        name = self.name
        row = self._db.execute(f"SELECT id, version, fields FROM {name}_docs WHERE doc_id = ?",
                               (doc_id,)).fetchone()
        if row is not None and not _newer(version, row[1]):
            return False
        if row is not None and row[2] is not None:  # contentless FTS: delete with the old text
            old = " ".join(str(v) for v in orjson.loads(row[2]).values() if v is not None)
            self._db.execute(f"INSERT INTO {name}_fts({name}_fts, rowid, body) VALUES('delete', ?, ?)",
                             (row[0], old))
        rowid = self._db.execute(
            f"INSERT INTO {name}_docs(doc_id, version, fields) VALUES (?, ?, ?) ON CONFLICT(doc_id) "
            "DO UPDATE SET version = excluded.version, fields = excluded.fields RETURNING id",
            (doc_id, str(version), fields)).fetchone()[0]
        if body is not None:
            self._db.execute(f"INSERT INTO {name}_fts(rowid, body) VALUES (?, ?)", (rowid, body))
        return True

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Documents matching an FTS5 query, best first."""
        name = self.name
        with self._lock:
            rows = self._db.execute(
                f"SELECT d.doc_id, bm25({name}_fts), d.fields FROM {name}_fts JOIN {name}_docs d "
                f"ON d.id = {name}_fts.rowid WHERE {name}_fts MATCH ? ORDER BY bm25({name}_fts) LIMIT ?",
                (query, limit)).fetchall()
        return [Hit(doc_id, score, orjson.loads(fields)) for doc_id, score, fields in rows]

    def count(self) -> int:
        """How many documents are indexed (tombstones excluded)."""
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {self.name}_docs WHERE fields IS NOT NULL")
                       .fetchone()[0])

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class FtsWriter:
    """An FtsSink bound to the fields and document id it indexes: a StreamProcessor sink."""

    search: FtsSink
    fields: Sequence[str] | None
    doc_id: Callable[[Change[Any]], str]

    def write(self, changes: Sequence[Change[Any]]) -> int:
        return self.search.write(changes, self.fields, self.doc_id)
