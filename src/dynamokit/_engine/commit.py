"""Applying one item change inside a write transaction: the item row, its index entries, its stream record."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from .capacity import Consumed, write_units
from .keys import partition_hash
from .schema import Index, Table

if TYPE_CHECKING:
    from .core import Engine

IndexKey = tuple[int, bytes, bytes]  # (partition hash, hash key, range key) in the index


@dataclass(slots=True)
class Stored:
    """An item as stored: its table key encoding, size and value."""

    phash: int
    hk: bytes
    rk: bytes
    size: int
    item: dict[str, Any]


def locate(table: Table, hk: bytes, rk: bytes) -> tuple[int, bytes, bytes]:
    return partition_hash(hk), hk, rk


def load(conn: sqlite3.Connection, table: Table, key: tuple[int, bytes, bytes]) -> Stored | None:
    """The stored item at a table key, or None."""
    row = conn.execute("SELECT size, item FROM items WHERE tid = ? AND phash = ? AND hk = ? AND rk = ?",
                       (table.tid, *key)).fetchone()
    if row is None:
        return None
    return Stored(key[0], key[1], key[2], row[0], orjson.loads(row[1]))


def index_key(table: Table, index: Index, item: dict[str, Any] | None) -> IndexKey | None:
    """Where `item` sits in `index`: None when a key attribute is missing (sparse index)."""
    if item is None:
        return None
    where = index.key.position(item, index.name)
    if where is None:
        return None
    return partition_hash(where[0]), where[0], where[1]


def check_index_keys(table: Table, item: dict[str, Any], old: dict[str, Any] | None = None) -> None:
    """Raise DynamoDB's ValidationException if an index key attribute of `item` has a wrong type or is empty
    (index keys unchanged from the stored `old` item were checked when it was written)."""
    for index in table.indexes.values():
        if old is None or not _same_key(index, old, item):
            index.key.position(item, index.name)


def _same_key(index: Index, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether every key attribute of `index` is the same (or equally absent) in both items."""
    for name in index.key.names:
        if old.get(name) != new.get(name):
            return False
    return True


def _projected_changed(table: Table, index: Index, old: dict[str, Any], new: dict[str, Any]) -> bool:
    names = index.projected_names(table.key)
    if names is None:
        return old != new
    return any(old.get(n) != new.get(n) for n in names)


def commit(engine: Engine, conn: sqlite3.Connection, table: Table, key: tuple[int, bytes, bytes],
           old: Stored | None, new_item: dict[str, Any] | None, new_size: int,
           consumed: Consumed | None = None, *, transactional: bool = False,
           service: bool = False) -> None:
    """Write (or delete, when `new_item` is None) one item with its index entries, stream record and (for
    tables with point-in-time recovery) change-log entry.

    The caller holds the write transaction, has loaded `old` in it and validated `new_item` (index keys too).
    """
    tid = table.tid
    old_item = old.item if old is not None else None
    raw = None
    if new_item is None:
        if old is not None:
            conn.execute("DELETE FROM items WHERE tid = ? AND phash = ? AND hk = ? AND rk = ?", (tid, *key))
    elif old is not None:  # rewritten in place: cheaper than a replace (TTL triggers follow either way)
        raw = orjson.dumps(new_item)
        conn.execute("UPDATE items SET size = ?, item = ? WHERE tid = ? AND phash = ? AND hk = ? AND rk = ?",
                     (new_size, raw, tid, *key))
    else:
        raw = orjson.dumps(new_item)
        conn.execute("INSERT OR REPLACE INTO items(tid, phash, hk, rk, size, item) VALUES (?, ?, ?, ?, ?, ?)",
                     (tid, *key, new_size, raw))
    if "_pitr" in table.description and old_item != new_item:  # point-in-time recovery's change log (`pitr`)
        conn.execute("INSERT INTO pitr_log(tid, at, phash, hk, rk, size, item) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (tid, engine.clock(), *key, new_size, raw))
    old_size = old.size if old is not None else 0
    if consumed is not None:
        consumed.table += write_units(old_size, new_size, transactional)
    for index in table.indexes.values():
        if old_item is not None and new_item is not None and _same_key(index, old_item, new_item):
            # The entry stays where it is (or stays absent): no index write, only the projection may change.
            if consumed is not None and all(name in new_item for name in index.key.names) \
                    and _projected_changed(table, index, old_item, new_item):
                consumed.add_index(index.name, index.is_global, write_units(old_size, new_size, transactional))
            continue
        before = index_key(table, index, old_item)
        after = index_key(table, index, new_item)
        if before != after:
            if before is not None:
                conn.execute("DELETE FROM index_entries WHERE tid = ? AND iid = ? AND phash = ? AND ihk = ? "
                             "AND irk = ? AND tphash = ? AND hk = ? AND rk = ?", (tid, index.iid, *before, *key))
            if after is not None:
                conn.execute("INSERT INTO index_entries(tid, iid, phash, ihk, irk, tphash, hk, rk) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (tid, index.iid, *after, *key))
        if consumed is not None and (before is not None or after is not None):
            # An index write is charged when the entry appears, disappears, moves, or its projection changes.
            if before != after:
                units = (write_units(old_size, 0, transactional) if before is not None else 0.0) + (
                    write_units(0, new_size, transactional) if after is not None else 0.0)
            elif _projected_changed(table, index, old_item or {}, new_item or {}):
                units = write_units(old_size, new_size, transactional)
            else:
                units = 0.0
            if units:
                consumed.add_index(index.name, index.is_global, units)
    if table.stream_view_type is not None and old_item != new_item:
        engine.streams.record(conn, table, old_item, new_item, service, (old_size, new_size))
