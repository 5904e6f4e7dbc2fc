"""Analytics in embedded DuckDB: versioned change rows, and for every entity seen typed relations of its own
(`current_<entity>`, `changes_<entity>`): single-table items normalised back into one relation per entity.
Parquet export, per entity or of any relation."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import os
import re
import threading
import typing
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from types import NoneType, UnionType
from typing import Any

import orjson

try:
    import duckdb
except ImportError as error:  # an extra, not a dependency
    raise ImportError(f"DuckDBSink needs duckdb: pip install 'dynamokit[analytics]' ({error})") from error

from ...model import App, Entity
from .._changes import Change

_SCHEMA = """
SET TimeZone = 'UTC';
CREATE TABLE IF NOT EXISTS changes (
  entity VARCHAR NOT NULL, doc_id VARCHAR NOT NULL, version DECIMAL(38, 1) NOT NULL, kind VARCHAR NOT NULL,
  created_at DOUBLE, data JSON, PRIMARY KEY (entity, doc_id, version));
CREATE OR REPLACE VIEW current AS
  SELECT entity, doc_id, version, created_at, data FROM (
    SELECT *, row_number() OVER (PARTITION BY entity, doc_id ORDER BY version DESC) AS rn FROM changes)
  WHERE rn = 1 AND kind IN ('insert', 'update');
CREATE TABLE IF NOT EXISTS entity_columns (
  entity VARCHAR NOT NULL, field VARCHAR NOT NULL, type VARCHAR NOT NULL, position INTEGER NOT NULL,
  PRIMARY KEY (entity, field));
"""

_CHUNK = 500
# Columns every entity relation starts with; entity fields cannot clash (pydantic fields never start with "_").
_SYSTEM = {"current": ("doc_id", "version", "created_at"), "changes": ("doc_id", "version", "kind", "created_at")}
_RESERVED = frozenset(f"_{name}" for name in _SYSTEM["changes"])
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# Python type -> DuckDB column type, most specific first (bool before int, datetime before date).
_SCALARS: tuple[tuple[type, str], ...] = (
    (bool, "BOOLEAN"), (int, "BIGINT"), (float, "DOUBLE"), (Decimal, "DECIMAL(38, 10)"), (str, "VARCHAR"),
    (dt.datetime, "TIMESTAMP"), (dt.date, "DATE"), (dt.time, "TIME"), (enum.Enum, "VARCHAR"),
    (uuid.UUID, "VARCHAR"))

Columns = dict[str, str]  # field -> DuckDB type, in column order


def safe_name(entity: str) -> str:
    """The identifier naming an entity's relations: the entity name itself when it is a lowercase ASCII
    identifier, else its characters outside [a-z0-9_] replaced by "_" (lowercased) plus "_" and the first 8
    hex digits of its BLAKE2b hash, so distinct names never share relations ("Blog Post" -> blog_post_1a2b3c4d)."""
    if _IDENTIFIER.fullmatch(entity):
        return entity
    digest = hashlib.blake2b(entity.encode(), digest_size=4).hexdigest()
    return f"{re.sub(r'[^a-z0-9_]', '_', entity.lower())}_{digest}"


def column_type(annotation: Any) -> str:
    """The DuckDB type of a pydantic field: scalars typed, `X | None` as X, everything else (lists, sets,
    dicts, nested models, unions) JSON."""
    if typing.get_origin(annotation) is typing.Annotated:
        return column_type(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (UnionType, typing.Union):
        rest = [a for a in typing.get_args(annotation) if a is not NoneType]
        return column_type(rest[0]) if len(rest) == 1 else "JSON"
    if typing.get_origin(annotation) is typing.Literal:
        return "VARCHAR"
    if isinstance(annotation, type):
        return next((name for base, name in _SCALARS if issubclass(annotation, base)), "JSON")
    return "JSON"


@cache
def _model_columns(model: type[Entity]) -> Columns:
    return {name: column_type(info.annotation) for name, info in model.model_fields.items()}


def _inferred_columns(data: Mapping[str, Any]) -> Columns:
    """Columns of a plain image: nested values as JSON, the rest as text."""
    return {key: "JSON" if isinstance(value, (dict, list)) else "VARCHAR" for key, value in data.items()}


def _default(value: Any) -> Any:
    """orjson's fallback for plain images: sets as sorted lists, bytes as text, the rest as str."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _select(field: str, kind: str) -> str:
    """The expression reading one field out of a change row's JSON `data` as its column type."""
    path = _literal('$."' + field.replace("\\", "\\\\").replace('"', '\\"') + '"')
    if kind == "JSON":
        return f"data->{path}"
    if kind == "VARCHAR":
        return f"data->>{path}"
    if kind == "TIMESTAMP":  # offsets honoured: aware datetimes become UTC
        return f"TRY_CAST(data->>{path} AS TIMESTAMPTZ) AT TIME ZONE 'UTC'"
    return f"TRY_CAST(data->>{path} AS {kind})"


class DuckDBSink:
    """Change rows in DuckDB file `path` (":memory:" for a throwaway one); a row per (entity, item,
    version), so redelivered changes add nothing. `current` holds each live item's newest state.

    Every entity written also gets `current_<name>` (its live items) and `changes_<name>` (its change rows),
    with columns `_doc_id`, `_version` (and `_kind`), `_created_at`, then one typed column per field: from
    the entity's model when the change carries an entity or `app` knows the type (key attributes and type
    marker are then not columns), else inferred from the attributes seen. New fields extend them; `<name>`
    is `safe_name(entity)`. Column lists persist in table `entity_columns`. A StreamProcessor sink."""

    def __init__(self, path: str = ":memory:", app: App | None = None) -> None:
        self._db = duckdb.connect(path)
        self._lock = threading.Lock()
        self._db.execute(_SCHEMA)
        self._models: dict[tuple[str, str], type[Entity]] = {
            (b.table.name, b.name): b.entity for b in app.bounds.values()} if app else {}
        self._columns: dict[str, Columns] = {}
        for entity, field, kind in self._db.execute(
                "SELECT entity, field, type FROM entity_columns ORDER BY entity, position").fetchall():
            self._columns.setdefault(entity, {})[field] = kind

    def write(self, changes: Iterable[Change[Any]]) -> int:
        """Record changes (one transaction, new columns included); returns how many rows were new."""
        rows: list[tuple[Any, ...]] = []
        shapes: dict[tuple[str, int], tuple[str, Columns]] = {}  # distinct (entity, columns) of the batch
        for change in changes:
            entity, data = change.entity_type or "", change.data
            rows.append((entity, orjson.dumps(sorted(change.keys.items()), default=str).decode(),
                         str(change.version), change.kind, change.created_at,
                         None if data is None else orjson.dumps(data, default=_default).decode()))
            columns = self._columns_of(change, data)
            shapes.setdefault((entity, id(columns)), (entity, columns))
        if not rows:
            return 0
        with self._lock:
            fresh: dict[str, Columns] = {}
            for entity, columns in shapes.values():
                self._collect(fresh, entity, columns)
            return self._commit(rows, fresh)

    def _commit(self, rows: list[tuple[Any, ...]], fresh: dict[str, Columns]) -> int:
        """Insert rows and extend relations in one transaction (under the lock); how many rows were new."""
        self._db.execute("BEGIN")
        try:
            inserted = self._insert(rows)
            for entity, columns in fresh.items():
                self._extend(entity, columns)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        for entity, columns in fresh.items():
            self._columns.setdefault(entity, {}).update(columns)
        return inserted

    def _columns_of(self, change: Change[Any], data: Any) -> Columns:
        """The columns a change's entity has: its model's fields, or the attributes of its image."""
        model: type[Entity] | None = type(change.item) if isinstance(change.item, Entity) else self._models.get(
            (change.table or "", change.entity_type or ""))
        if model is not None:
            return _model_columns(model)
        return _inferred_columns(data) if isinstance(data, Mapping) else {}

    def _collect(self, fresh: dict[str, Columns], entity: str, columns: Columns) -> None:
        """Add to `fresh` the columns the entity's relations lack (names are case-insensitive in DuckDB;
        a field named like a system column or like an earlier column in another case is left out)."""
        known = self._columns.get(entity)
        if known is not None and columns.keys() <= known.keys():
            return
        taken = {name.lower() for name in (*(known or ()), *fresh.get(entity, ()), *_RESERVED)}
        new: Columns = {}
        for name, kind in columns.items():
            if name.lower() not in taken:
                new[name] = kind
                taken.add(name.lower())
        if new or known is None:
            fresh.setdefault(entity, {}).update(new)

    def _insert(self, rows: list[tuple[Any, ...]]) -> int:
        inserted = 0
        # One multi-row INSERT per chunk: DuckDB's executemany runs row by row (milliseconds per row).
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start:start + _CHUNK]
            sql = ("INSERT OR IGNORE INTO changes VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
                   + " RETURNING 1")
            inserted += len(self._db.execute(sql, [value for row in chunk for value in row]).fetchall())
        return inserted

    def _extend(self, entity: str, new: Columns) -> None:
        """Record an entity's new columns and (re)create its two relations; inside the write transaction."""
        columns = {**self._columns.get(entity, {}), **new}
        start = len(columns) - len(new)
        for position, (field, kind) in enumerate(new.items(), start):
            self._db.execute("INSERT INTO entity_columns VALUES (?, ?, ?, ?)", [entity, field, kind, position])
        fields = "".join(f", {_select(field, kind)} AS {_quoted(field)}" for field, kind in columns.items())
        name = safe_name(entity)
        for relation, system in _SYSTEM.items():
            head = ", ".join(f"{column} AS _{column}" for column in system)
            self._db.execute(f"CREATE OR REPLACE VIEW {relation}_{name} AS SELECT {head}{fields} "
                             f"FROM {relation} WHERE entity = {_literal(entity)}")

    def entities(self) -> dict[str, str]:
        """Each entity written so far, with the name its relations carry (`current_<name>`, `changes_<name>`)."""
        with self._lock:
            return {entity: safe_name(entity) for entity in self._columns}

    def entity_view(self, entity: str, fields: Iterable[str]) -> str:
        """Make sure `current_<entity>` has these fields as columns (text when not seen yet); returns its name."""
        with self._lock:
            fresh: dict[str, Columns] = {}
            self._collect(fresh, entity, {field: "VARCHAR" for field in fields})
            if fresh:
                self._commit([], fresh)
        return f"current_{safe_name(entity)}"

    def query(self, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters or []).fetchall()

    def export_parquet(self, path: str, relation: str | None = None) -> list[str]:
        """Write Parquet; returns the files written. `path` a directory (and no `relation`): one file per
        entity, `<path>/<name>.parquet` from `current_<name>`. Else the file `path`, of `relation` (a table
        or view; default `current`)."""
        if relation is None and os.path.isdir(path):
            targets = [(f"current_{name}", os.path.join(path, f"{name}.parquet"))
                       for name in self.entities().values()]
        else:
            targets = [(relation or "current", path)]
        for source, target in targets:
            if not source.isidentifier():
                raise ValueError(f"not a relation name: {source!r}")
            with self._lock:
                self._db.execute(f"COPY (SELECT * FROM {source}) TO {_literal(target)} (FORMAT PARQUET)")
        return [target for _, target in targets]

    def close(self) -> None:
        self._db.close()
