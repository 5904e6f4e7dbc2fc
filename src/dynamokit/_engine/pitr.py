"""Point-in-time recovery: UpdateContinuousBackups, DescribeContinuousBackups, RestoreTableToPointInTime.

Enabling PITR copies the table's items into `pitr_base` (the state at `base_at`); from then on the one write
path (`commit.commit`) appends every change of the table's items to `pitr_log` in the change's own transaction (the
item's new value, or a deletion, with the engine time). The table at an instant T (base_at <= T <= now) is
the base overlaid with, per key, the last logged change at or before T; a restore writes that state into a
backup file from one read snapshot and restores it like an on-demand backup (`backups.begin_restore`).
Storage stays bounded by the recovery period: `compact` folds changes older than it into the base (from the
leader's background loop, see `leadership`, and whenever PITR is described, changed or restored), moving `base_at`,
the earliest restorable time, forward.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from . import backups
from .errors import DynamoDBError, validation
from .schema import Table, check_name

if TYPE_CHECKING:
    from .core import Engine, Operation

MAX_RECOVERY_DAYS = 35
COMPACT_CHUNK = 5000

SCHEMA = """
CREATE TABLE IF NOT EXISTS pitr_base (
  tid INTEGER NOT NULL, phash INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
  size INTEGER NOT NULL, item BLOB NOT NULL,
  PRIMARY KEY (tid, phash, hk, rk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pitr_log (
  id INTEGER PRIMARY KEY, tid INTEGER NOT NULL, at REAL NOT NULL,
  phash INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL, size INTEGER NOT NULL, item BLOB
);
CREATE INDEX IF NOT EXISTS pitr_log_key ON pitr_log(tid, phash, hk, rk, id);
CREATE TRIGGER IF NOT EXISTS pitr_table_dropped AFTER DELETE ON catalog
BEGIN
  DELETE FROM pitr_base WHERE tid = OLD.tid;
  DELETE FROM pitr_log WHERE tid = OLD.tid;
END;
"""


# -- settings ------------------------------------------------------------------------------------------------

def _table(engine: Engine, name: Any) -> Table:
    """The table of a PITR call (DynamoDB names a missing one TableNotFoundException)."""
    try:
        return engine.table(name)
    except DynamoDBError as error:
        if error.code == "ResourceNotFoundException":
            raise DynamoDBError("TableNotFoundException", f"Table not found: {name}") from None
        raise


def _window(engine: Engine, table: Table) -> tuple[float, float] | None:
    """(earliest, latest) restorable times, or None without PITR."""
    pitr = table.description.get("_pitr")
    return None if pitr is None else (pitr["base_at"], max(pitr["base_at"], engine.clock()))


def _continuous(engine: Engine, table: Table) -> dict[str, Any]:
    window = _window(engine, table)
    if window is None:
        return {"ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}
    return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": {
        "PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": table.description["_pitr"]["days"],
        "EarliestRestorableDateTime": window[0], "LatestRestorableDateTime": window[1]}}


def describe_continuous_backups(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = _table(engine, request.get("TableName"))
    compact(engine, table.name)
    return {"ContinuousBackupsDescription": _continuous(engine, engine.table(table.name))}


def update_continuous_backups(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    name = request.get("TableName")
    table = _table(engine, name)
    spec = request.get("PointInTimeRecoverySpecification")
    if not isinstance(spec, dict) or type(spec.get("PointInTimeRecoveryEnabled")) is not bool:
        raise validation("1 validation error detected: Value null at 'pointInTimeRecoverySpecification."
                         "pointInTimeRecoveryEnabled' failed to satisfy constraint: Member must not be null")
    days = spec.get("RecoveryPeriodInDays", MAX_RECOVERY_DAYS)
    if type(days) is not int or not 1 <= days <= MAX_RECOVERY_DAYS:
        raise validation(f"1 validation error detected: Value '{days}' at 'pointInTimeRecoverySpecification."
                         f"recoveryPeriodInDays' failed to satisfy constraint: Member must have value between 1 "
                         f"and {MAX_RECOVERY_DAYS}")
    with engine.storage.write() as conn:
        raw = conn.execute("SELECT description FROM catalog WHERE tid = ?", (table.tid,)).fetchone()
        if raw is None:
            raise DynamoDBError("TableNotFoundException", f"Table not found: {name}")
        description = orjson.loads(raw[0])
        current = description.get("_pitr")
        if spec["PointInTimeRecoveryEnabled"]:
            if current is None:
                conn.execute("INSERT INTO pitr_base SELECT tid, phash, hk, rk, size, item FROM items WHERE tid = ?",
                             (table.tid,))
                current = {"base_at": engine.clock()}
            description["_pitr"] = {**current, "days": days}
        elif current is not None:
            del description["_pitr"]
            conn.execute("DELETE FROM pitr_base WHERE tid = ?", (table.tid,))
            conn.execute("DELETE FROM pitr_log WHERE tid = ?", (table.tid,))
        conn.execute("UPDATE catalog SET description = ? WHERE tid = ?", (orjson.dumps(description), table.tid))
        engine.catalog_changed(conn)
    return {"ContinuousBackupsDescription": _continuous(engine, engine.table(table.name))}


# -- restoring ---------------------------------------------------------------------------------------------------

def restore_table_to_point_in_time(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    source_name = request.get("SourceTableName", request.get("SourceTableArn"))
    if source_name is None:
        raise validation("Either SourceTableName or SourceTableArn must be specified")
    target = check_name(request.get("TargetTableName"), "targetTableName")
    table = _table(engine, source_name)
    compact(engine, table.name)
    table = engine.table(table.name)
    window = _window(engine, table)
    if window is None:
        raise DynamoDBError("PointInTimeRecoveryUnavailableException",
                            f"Point in time recovery is not enabled for table '{table.name}'")
    latest = request.get("UseLatestRestorableTime") is True
    at = window[1] if latest else request.get("RestoreDateTime")
    if type(at) not in (int, float):
        raise validation("RestoreDateTime must be specified when UseLatestRestorableTime is not true")
    if not window[0] <= at <= window[1]:
        raise DynamoDBError("InvalidRestoreTimeException",
                            f"Restore time {_iso(at)} is not within the restorable window "
                            f"[{_iso(window[0])}, {_iso(window[1])}]")
    file = backups.snapshot_file(engine, f"pitr-{uuid.uuid4().hex}")
    try:
        description, _, _ = backups.copy_into_file(engine.storage.path, file, _STATE_AT, (
            table.tid, table.tid, at, table.tid, at, at), lambda conn: _description(conn, table))
        summary = {"SourceTableArn": table.description["TableArn"], "RestoreDateTime": at}
        return backups.begin_restore(engine, target, description, request, {"file": file, "temporary": True},
                                     summary)
    except BaseException:
        backups.remove_file(file)
        raise


# The table's items at an instant: base items no change touched by then, and each key's last change by then.
_STATE_AT = """
SELECT b.phash, b.hk, b.rk, b.size, b.item FROM main.pitr_base b
 WHERE b.tid = ? AND NOT EXISTS (SELECT 1 FROM main.pitr_log l INDEXED BY pitr_log_key
                     WHERE l.tid = ? AND l.phash = b.phash AND l.hk = b.hk AND l.rk = b.rk AND l.at <= ?)
UNION ALL
SELECT l.phash, l.hk, l.rk, l.size, l.item FROM main.pitr_log l
 WHERE l.tid = ? AND l.at <= ? AND l.item IS NOT NULL
   AND l.id = (SELECT MAX(m.id) FROM main.pitr_log m INDEXED BY pitr_log_key WHERE m.tid = l.tid AND m.phash = l.phash AND m.hk = l.hk
                                                        AND m.rk = l.rk AND m.at <= ?)
"""


def _description(conn: sqlite3.Connection, table: Table) -> dict[str, Any]:
    row = conn.execute("SELECT description FROM main.catalog WHERE tid = ?", (table.tid,)).fetchone()
    if row is None:
        raise DynamoDBError("TableNotFoundException", f"Table not found: {table.name}")
    return orjson.loads(row[0])  # type: ignore[no-any-return]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


# -- bounded storage ------------------------------------------------------------------------------------------

def compact(engine: Engine, table_name: str | None = None) -> None:
    """Fold the changes older than each PITR table's recovery period into its base, in chunked transactions."""
    names = [table_name] if table_name else [t.name for t in engine.tables().values() if "_pitr" in t.description]
    for name in names:
        while _compact_chunk(engine, name):
            pass


def _compact_chunk(engine: Engine, name: str) -> bool:
    """Fold one chunk; True while more remain."""
    with engine.storage.write() as conn:
        row = conn.execute("SELECT tid, description FROM catalog WHERE name = ?", (name,)).fetchone()
        if row is None:
            return False
        tid, description = row[0], orjson.loads(row[1])
        pitr = description.get("_pitr")
        if pitr is None:
            return False
        cutoff = engine.clock() - pitr["days"] * 86400
        if cutoff <= pitr["base_at"]:
            return False
        changes = conn.execute("SELECT id, phash, hk, rk, size, item FROM pitr_log NOT INDEXED WHERE tid = ? AND at < ? "
                               "ORDER BY id LIMIT ?", (tid, cutoff, COMPACT_CHUNK)).fetchall()
        for _, phash, hk, rk, size, item in changes:
            if item is None:
                conn.execute("DELETE FROM pitr_base WHERE tid = ? AND phash = ? AND hk = ? AND rk = ?",
                             (tid, phash, hk, rk))
            else:
                conn.execute("INSERT OR REPLACE INTO pitr_base(tid, phash, hk, rk, size, item) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (tid, phash, hk, rk, size, item))
        if changes:
            conn.execute("DELETE FROM pitr_log WHERE tid = ? AND at < ? AND id <= ?", (tid, cutoff, changes[-1][0]))
        more = len(changes) == COMPACT_CHUNK
        if not more:
            pitr["base_at"] = cutoff
            conn.execute("UPDATE catalog SET description = ? WHERE tid = ?", (orjson.dumps(description), tid))
            engine.catalog_changed(conn)
        return more


OPERATIONS: dict[str, Operation] = {
    "DescribeContinuousBackups": describe_continuous_backups,
    "UpdateContinuousBackups": update_continuous_backups,
    "RestoreTableToPointInTime": restore_table_to_point_in_time,
}

__all__ = ["OPERATIONS", "SCHEMA", "compact"]
