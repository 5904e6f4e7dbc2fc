"""Capacity units by DynamoDB's rules, and the ConsumedCapacity shapes of ReturnConsumedCapacity."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

from .errors import validation

if TYPE_CHECKING:
    from .core import Engine
    from .schema import Table

READ_UNIT = 4096
WRITE_UNIT = 1024


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    """Units for reading `size` bytes: 4 KB steps (at least one), halved if eventual, doubled if transactional."""
    units = float(max(1, math.ceil(size / READ_UNIT)))
    if transactional:
        return units * 2
    return units if consistent else units / 2


def write_units(old_size: int, new_size: int, transactional: bool = False) -> float:
    """Units for a write: 1 KB steps of the larger of the old and new item, at least one."""
    units = float(max(1, -(-max(old_size, new_size) // WRITE_UNIT)))  # ceiling division
    return units * 2 if transactional else units


class Consumed:
    """Capacity consumed by one request on one table, split by table and index."""

    __slots__ = ("indexes", "is_write", "table")

    def __init__(self, is_write: bool) -> None:
        self.table = 0.0
        self.indexes: dict[str, tuple[bool, float]] = {}
        self.is_write = is_write

    def add_index(self, name: str, is_global: bool, units: float) -> None:
        prior = self.indexes.get(name, (is_global, 0.0))[1]
        self.indexes[name] = (is_global, prior + units)

    def shape(self, table_name: str, mode: str) -> dict[str, Any]:
        """The ConsumedCapacity object for ReturnConsumedCapacity TOTAL or INDEXES."""
        total = self.table + sum(units for _, units in self.indexes.values())
        out: dict[str, Any] = {"TableName": table_name, "CapacityUnits": total}
        if mode == "INDEXES":
            out["Table"] = {"CapacityUnits": self.table}
            for key, is_global in (("GlobalSecondaryIndexes", True), ("LocalSecondaryIndexes", False)):
                found = {n: {"CapacityUnits": u} for n, (g, u) in self.indexes.items() if g is is_global}
                if found:
                    out[key] = found
        return out


def wanted(request: dict[str, Any]) -> str | None:
    """TOTAL or INDEXES when the request asks for consumed capacity, else None."""
    mode = request.get("ReturnConsumedCapacity", "NONE")
    if mode in ("TOTAL", "INDEXES"):
        return str(mode)
    if mode != "NONE":
        raise validation(f"1 validation error detected: Value '{mode}' at 'returnConsumedCapacity' failed to "
                         "satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]")
    return None


class Usage:
    """Running totals of consumed read and write units per table and index, for cost reports; of the
    operations answered and the errors among them, per table ("" for operations not on one table); and the
    write units online index builds consumed, apart (CloudWatch's OnlineIndexConsumedWriteCapacity: an
    index's ConsumedWriteCapacityUnits leaves its backfill out)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.read: dict[str, float] = {}
        self.write: dict[str, float] = {}
        self.started = time.time()
        self._operations: dict[tuple[str, str], int] = {}  # (table, operation) -> count
        self._errors: dict[tuple[str, str], int] = {}  # (table, error code) -> count
        self.online_index: dict[str, float] = {}

    def count(self, operation: str, request: dict[str, Any], error: str | None) -> None:
        """One operation answered (`error`: the code it failed with), counted for each table it names (past
        MAX_KEYS distinct keys, under "": requests naming ever new tables cannot grow the totals without end)."""
        name, batch = request.get("TableName"), request.get("RequestItems")
        tables = [name] if isinstance(name, str) else [t for t in batch if isinstance(t, str)] if isinstance(
            batch, dict) else []
        with self._lock:
            for table in tables or [""]:
                _add(self._operations, (table, operation))
                if error is not None:
                    _add(self._errors, (table, error))

    def activity(self) -> dict[str, dict[tuple[str, str], int]]:
        """The operations and errors counted so far, by (table, operation) and (table, error code)."""
        with self._lock:
            return {"operations": dict(self._operations), "errors": dict(self._errors)}

    def add_online_index(self, table: str, index: str, units: float) -> None:
        key = f"{table}/index/{index}"
        with self._lock:
            self.online_index[key] = self.online_index.get(key, 0.0) + units

    def add(self, table: str, consumed: Consumed) -> None:
        totals = self.write if consumed.is_write else self.read
        with self._lock:
            totals[table] = totals.get(table, 0.0) + consumed.table
            for name, (_, units) in consumed.indexes.items():
                key = f"{table}/index/{name}"
                totals[key] = totals.get(key, 0.0) + units

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {"read": dict(self.read), "write": dict(self.write), "online_index": dict(self.online_index)}


MAX_KEYS = 10_000


def _add(counts: dict[tuple[str, str], int], key: tuple[str, str]) -> None:
    if key not in counts and len(counts) >= MAX_KEYS:
        key = ("", key[1])
    counts[key] = counts.get(key, 0) + 1


class PerTable:
    """The capacity a multi-table request consumes, one `Consumed` per table in order of first use."""

    def __init__(self, is_write: bool) -> None:
        self.is_write = is_write
        self._used: dict[str, tuple[Table, Consumed]] = {}

    def of(self, table: Table) -> Consumed:
        used = self._used.get(table.name)
        if used is None:
            used = self._used[table.name] = (table, Consumed(self.is_write))
        return used[1]

    def charge(self, engine: Engine) -> None:
        """Add everything consumed to the engine's usage totals."""
        for table, consumed in self._used.values():
            engine.charge(table, consumed)

    def finish(self, engine: Engine, request: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        """Charge the usage totals; add the ConsumedCapacity list to `out` when the request asks for it."""
        self.charge(engine)
        mode = wanted(request)
        if mode is not None:
            out["ConsumedCapacity"] = [used.shape(table.name, mode) for table, used in self._used.values()]
        return out


def item_collection_metrics(engine: Engine, table: Table, key: tuple[int, bytes, bytes],
                            hash_value: dict[str, Any]) -> dict[str, Any]:
    """ItemCollectionMetrics of one partition of a table with LSIs: its key and size estimate in GB
    (the items plus their LSI entries, as DynamoDB counts an item collection)."""
    conn = engine.storage.connection()
    size = conn.execute("SELECT COALESCE(SUM(size), 0) FROM items WHERE tid = ? AND phash = ? AND hk = ?",
                        (table.tid, key[0], key[1])).fetchone()[0]
    size *= 1 + sum(1 for index in table.indexes.values() if not index.is_global)
    low = float(math.floor(size / 1024 ** 3))
    return {"ItemCollectionKey": {table.key.hash.name: hash_value}, "SizeEstimateRangeGB": [low, low + 1.0]}


def wants_collection_metrics(request: dict[str, Any], table: Table) -> bool:
    """ReturnItemCollectionMetrics=SIZE on a table with LSIs (only those have item collections to report)."""
    mode = request.get("ReturnItemCollectionMetrics", "NONE")
    if mode not in ("SIZE", "NONE"):
        raise validation(f"1 validation error detected: Value '{mode}' at 'returnItemCollectionMetrics' failed to "
                         "satisfy constraint: Member must satisfy enum value set: [SIZE, NONE]")
    return mode == "SIZE" and any(not index.is_global for index in table.indexes.values())
