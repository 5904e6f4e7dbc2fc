"""Analytics in embedded DuckDB: versioned change rows, a current-state view per entity, Parquet export."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import orjson

from ..changes import Change

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
  entity VARCHAR NOT NULL, doc_id VARCHAR NOT NULL, version DECIMAL(38, 1) NOT NULL, kind VARCHAR NOT NULL,
  created_at DOUBLE, data JSON, PRIMARY KEY (entity, doc_id, version));
CREATE OR REPLACE VIEW current AS
  SELECT entity, doc_id, version, created_at, data FROM (
    SELECT *, row_number() OVER (PARTITION BY entity, doc_id ORDER BY version DESC) AS rn FROM changes)
  WHERE rn = 1 AND kind IN ('insert', 'update');
"""


_CHUNK = 500


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump is not None else value


class DuckDBSink:
    """Change rows in DuckDB file `path` (":memory:" for a throwaway one); a row per (entity, item,
    version), so redelivered changes add nothing. `current` holds each live item's newest state."""

    def __init__(self, path: str = ":memory:") -> None:
        import duckdb  # optional dependency: pip install duckdb

        self._db = duckdb.connect(path)
        self._lock = threading.Lock()
        self._db.execute(_SCHEMA)

    def write(self, changes: Iterable[Change[Any]]) -> int:
        """Record changes (one transaction); returns how many rows were new."""
        rows = [(c.entity_type or "", orjson.dumps(sorted(c.keys.items()), default=str).decode(),
                 str(c.version), c.kind, c.created_at,
                 None if c.item is None else orjson.dumps(_plain(c.item), default=str).decode())
                for c in changes]
        if not rows:
            return 0
        inserted = 0
        with self._lock:
            self._db.execute("BEGIN")
            # One multi-row INSERT per chunk: DuckDB's executemany runs row by row (milliseconds per row).
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start:start + _CHUNK]
                sql = ("INSERT OR IGNORE INTO changes VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
                       + " RETURNING 1")
                inserted += len(self._db.execute(sql, [value for row in chunk for value in row]).fetchall())
            self._db.execute("COMMIT")
        return inserted

    def entity_view(self, entity: str, fields: Iterable[str]) -> str:
        """Create (or replace) view `current_<entity>` with one column per field; returns its name."""
        name = f"current_{entity}"
        if not name.isidentifier():
            raise ValueError(f"entity name must make an identifier: {entity!r}")
        columns = ", ".join(f"data->>'{f}' AS \"{f}\"" for f in fields if "'" not in f and '"' not in f)
        literal = entity.replace("'", "''")
        with self._lock:
            self._db.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT doc_id, version, {columns} "
                             f"FROM current WHERE entity = '{literal}'")
        return name

    def query(self, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters or []).fetchall()

    def export_parquet(self, path: str, relation: str = "current") -> None:
        """Write a table or view (default: the current state) to a Parquet file."""
        if not relation.isidentifier():
            raise ValueError(f"not a relation name: {relation!r}")
        with self._lock:
            self._db.execute(f"COPY (SELECT * FROM {relation}) TO '{path.replace(chr(39), chr(39) * 2)}' "
                             "(FORMAT PARQUET)")

    def close(self) -> None:
        self._db.close()
