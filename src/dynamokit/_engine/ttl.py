"""Time to live: UpdateTimeToLive / DescribeTimeToLive and the sweeper that deletes expired items.

A table's TTL setting lives in its stored description (`_ttl`, hidden from DescribeTable) and, for SQLite,
in `ttl_config`. Triggers on `items` keep `ttl_index(tid, phash, hk, rk, expires)` in step with every write
in the writer's own transaction, whichever process writes, so a sweep reads only the expired entries of the
index instead of parsing every item.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import orjson

from .commit import commit, load
from .errors import resource_not_found, validation
from .schema import Table

if TYPE_CHECKING:
    from .core import Engine, Operation

FIVE_YEARS = 5 * 365 * 24 * 3600.0
SWEEP_BATCH = 500
MAX_ATTRIBUTE_NAME = 255

# The expiry of item rows `src` (from `rows`): their top-level {"N": ...} attribute named by ttl_config.
_EXPIRES = """
  SELECT {src}.tid, {src}.phash, {src}.hk, {src}.rk, CAST(json_extract(e.value, '$.N') AS REAL)
  FROM {rows}ttl_config c, json_each(CAST({src}.item AS TEXT)) e
  WHERE c.tid = {src}.tid AND e.key = c.attribute AND e.type = 'object'
    AND json_extract(e.value, '$.N') IS NOT NULL
"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ttl_config (tid INTEGER PRIMARY KEY, attribute TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ttl_index (
  tid INTEGER NOT NULL,
  phash INTEGER NOT NULL,
  hk BLOB NOT NULL,
  rk BLOB NOT NULL,
  expires REAL NOT NULL,
  PRIMARY KEY (tid, phash, hk, rk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ttl_index_expiry ON ttl_index(tid, expires);
CREATE TRIGGER IF NOT EXISTS ttl_item_written AFTER INSERT ON items
WHEN NEW.tid IN (SELECT tid FROM ttl_config)
BEGIN
  DELETE FROM ttl_index WHERE tid = NEW.tid AND phash = NEW.phash AND hk = NEW.hk AND rk = NEW.rk;
  INSERT INTO ttl_index(tid, phash, hk, rk, expires) {_EXPIRES.format(src="NEW", rows="")};
END;
CREATE TRIGGER IF NOT EXISTS ttl_item_rewritten AFTER UPDATE OF item ON items
WHEN NEW.tid IN (SELECT tid FROM ttl_config)
BEGIN
  DELETE FROM ttl_index WHERE tid = NEW.tid AND phash = NEW.phash AND hk = NEW.hk AND rk = NEW.rk;
  INSERT INTO ttl_index(tid, phash, hk, rk, expires) {_EXPIRES.format(src="NEW", rows="")};
END;
CREATE TRIGGER IF NOT EXISTS ttl_item_deleted AFTER DELETE ON items
WHEN OLD.tid IN (SELECT tid FROM ttl_config)
BEGIN
  DELETE FROM ttl_index WHERE tid = OLD.tid AND phash = OLD.phash AND hk = OLD.hk AND rk = OLD.rk;
END;
CREATE TRIGGER IF NOT EXISTS ttl_table_dropped AFTER DELETE ON catalog
BEGIN
  DELETE FROM ttl_config WHERE tid = OLD.tid;
  DELETE FROM ttl_index WHERE tid = OLD.tid;
END;
"""

# -- UpdateTimeToLive / DescribeTimeToLive ------------------------------------------------------------------
def _specification(request: dict[str, Any]) -> tuple[bool, str]:
    spec = request.get("TimeToLiveSpecification")
    where = "timeToLiveSpecification"
    if not isinstance(spec, dict):
        raise validation(f"1 validation error detected: Value null at '{where}' failed to satisfy "
                         "constraint: Member must not be null")
    enabled, attribute = spec.get("Enabled"), spec.get("AttributeName")
    if not isinstance(enabled, bool):
        raise validation(f"1 validation error detected: Value null at '{where}.enabled' failed to satisfy "
                         "constraint: Member must not be null")
    if not isinstance(attribute, str):
        raise validation(f"1 validation error detected: Value null at '{where}.attributeName' failed to "
                         "satisfy constraint: Member must not be null")
    if not 1 <= len(attribute) <= MAX_ATTRIBUTE_NAME:
        bound = f"less than or equal to {MAX_ATTRIBUTE_NAME}" if attribute else "greater than or equal to 1"
        raise validation(f"1 validation error detected: Value '{attribute}' at '{where}.attributeName' "
                         f"failed to satisfy constraint: Member must have length {bound}")
    return enabled, attribute


def _check_transition(current: dict[str, Any] | None, enabled: bool, attribute: str) -> None:
    if enabled and current is not None:
        raise validation("TimeToLive is already enabled")
    if not enabled and current is None:
        raise validation("TimeToLive is already disabled")
    if not enabled and current is not None and current["AttributeName"] != attribute:
        raise validation(f"TimeToLive is active on a different AttributeName: current AttributeName is "
                         f"{current['AttributeName']}")


def _track(conn: sqlite3.Connection, tid: int, attribute: str | None) -> None:
    """Start (attribute given: index the existing items) or stop tracking a table's expiry times."""
    conn.execute("DELETE FROM ttl_config WHERE tid = ?", (tid,))
    conn.execute("DELETE FROM ttl_index WHERE tid = ?", (tid,))
    if attribute is not None:
        conn.execute("INSERT INTO ttl_config(tid, attribute) VALUES (?, ?)", (tid, attribute))
        conn.execute("INSERT INTO ttl_index(tid, phash, hk, rk, expires) "
                     + _EXPIRES.format(src="items", rows="items, ") + " AND items.tid = ?", (tid,))


def update_time_to_live(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    enabled, attribute = _specification(request)
    with engine.storage.write() as conn:
        row = conn.execute("SELECT description FROM catalog WHERE tid = ?", (table.tid,)).fetchone()
        if row is None:
            raise resource_not_found()
        description = orjson.loads(row[0])
        _check_transition(description.get("_ttl"), enabled, attribute)
        if enabled:
            description["_ttl"] = {"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}
        else:
            del description["_ttl"]
        _track(conn, table.tid, attribute if enabled else None)
        conn.execute("UPDATE catalog SET description = ? WHERE tid = ?",
                     (orjson.dumps(description), table.tid))
        engine.catalog_changed(conn)
    return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}


def describe_time_to_live(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    return {"TimeToLiveDescription": table.description.get("_ttl", {"TimeToLiveStatus": "DISABLED"})}


OPERATIONS: dict[str, Operation] = {
    "UpdateTimeToLive": update_time_to_live,
    "DescribeTimeToLive": describe_time_to_live,
}


# -- the sweeper ----------------------------------------------------------------------------------------
class TimeToLive:
    """The TTL sweeper: `sweep()` deletes expired items now (the leader's loop sweeps every second: see
    `leadership`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sweep(self, batch: int = SWEEP_BATCH) -> int:
        """Delete every item whose TTL has passed (but by at most five years); return how many."""
        now = self.engine.clock()
        conn = self.engine.storage.connection()
        tracked = conn.execute("SELECT k.tid, k.description FROM ttl_config c JOIN catalog k ON k.tid = c.tid"
                               ).fetchall()
        deleted = 0
        for tid, description in tracked:
            table = Table.from_description(tid, orjson.loads(description))
            while True:
                done = self._sweep_batch(table, now, batch)
                deleted += done
                if done < batch:
                    break
        return deleted

    def _sweep_batch(self, table: Table, now: float, batch: int) -> int:
        """Delete up to `batch` expired items of one table in one write transaction (free, service stream)."""
        engine = self.engine
        done = 0
        with engine.storage.write() as conn:
            rows = conn.execute("SELECT phash, hk, rk FROM ttl_index WHERE tid = ? "
                                "AND expires BETWEEN ? AND ? LIMIT ?",
                                (table.tid, now - FIVE_YEARS, now, batch)).fetchall()
            for phash, hk, rk in rows:
                key = (phash, bytes(hk), bytes(rk))
                old = load(conn, table, key)
                if old is not None:
                    commit(engine, conn, table, key, old, None, 0, None, service=True)
                    done += 1
        return done
