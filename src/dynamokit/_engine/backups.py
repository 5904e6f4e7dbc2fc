"""On-demand backups: CreateBackup, DescribeBackup, ListBackups, DeleteBackup, RestoreTableFromBackup (and the
restore machinery point-in-time recovery uses too, see `pitr`).

A backup is a SQLite file of its own beside the database (`<database>.backups/<id>.db`): the table's
description and a copy of its item rows, taken in one read transaction of the database (a WAL snapshot, so
writers go on) that writes only the backup file. The `backups` table of the database is their catalog. A
restore creates the target table CREATING, then copies the rows and builds their index entries in chunked
write transactions from a background thread (writers of other tables interleave; an engine that stops
mid-restore resumes it on start), and marks the table ACTIVE. As in DynamoDB, streams, TTL, tags and
policies are not restored.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from . import control
from .commit import index_key
from .errors import DynamoDBError, resource_not_found, validation
from .resources import parse_arn
from .schema import Table, check_name
from .storage import BUSY_TIMEOUT

if TYPE_CHECKING:
    from .core import Engine, Operation
    from .leadership import Job

T = TypeVar("T")
RESTORE_CHUNK = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS backups (
  arn TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  table_name TEXT NOT NULL,
  created REAL NOT NULL,
  size INTEGER NOT NULL,
  items INTEGER NOT NULL,
  source BLOB NOT NULL,
  file TEXT NOT NULL
);
"""


def _not_found(arn: Any) -> DynamoDBError:
    return DynamoDBError("BackupNotFoundException", f"Backup not found: {arn}")


def snapshot_file(engine: Engine, name: str) -> str:
    """The path of a backup file called `name`, beside the database."""
    folder = engine.storage.path + ".backups"
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name + ".db")


# -- taking a backup -------------------------------------------------------------------------------------------

def create_backup(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    name = check_name(request.get("BackupName"), "backupName")
    created = engine.clock()
    arn = f"{table.description['TableArn']}/backup/{int(created * 1000):014d}-{uuid.uuid4().hex[:8]}"
    file = snapshot_file(engine, arn.rsplit("/", 1)[1])
    try:
        source, count, size = _snapshot(engine.storage.path, table, file)
        with engine.storage.write() as conn:
            conn.execute("INSERT INTO backups(arn, name, table_name, created, size, items, source, file) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (arn, name, table.name, created, size, count, source, file))
    except BaseException:
        remove_file(file)
        raise
    details = _details(arn, name, created, size)
    details["BackupStatus"] = "CREATING"  # as DynamoDB answers; DescribeBackup says AVAILABLE from now on
    return {"BackupDetails": details}


def _snapshot(database: str, table: Table, file: str) -> tuple[bytes, int, int]:
    """Copy the table's description and item rows into a new backup file, from one read snapshot."""
    def description(conn: sqlite3.Connection) -> bytes:
        row = conn.execute("SELECT description FROM main.catalog WHERE tid = ?", (table.tid,)).fetchone()
        if row is None:
            raise resource_not_found(f"Table not found: {table.name}")
        return bytes(row[0])

    found, count, size = copy_into_file(database, file, "SELECT phash, hk, rk, size, item FROM main.items "
                                        "WHERE tid = ? ORDER BY phash, hk, rk", (table.tid,), description)
    return found, count, size


def copy_into_file(database: str, file: str, select: str, args: tuple[Any, ...],
                   read: Callable[[sqlite3.Connection], T]) -> tuple[T, int, int]:
    """Create the backup file `file` holding the rows (phash, hk, rk, size, item) that `select` reads from the
    database, and `read`'s result, both from one read snapshot: the transaction writes only the new file (on
    a connection of its own), so no writer of the database waits. Returns (read's result, rows, bytes)."""
    conn = sqlite3.connect(database, isolation_level=None, timeout=BUSY_TIMEOUT)
    try:
        conn.execute("ATTACH DATABASE ? AS backup", (file,))
        conn.execute("CREATE TABLE backup.items (phash INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL, "
                     "size INTEGER NOT NULL, item BLOB NOT NULL)")
        conn.execute("BEGIN")
        found = read(conn)
        conn.execute("INSERT INTO backup.items " + select, args)
        count, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM backup.items").fetchone()
        conn.execute("COMMIT")
        return found, count, size
    finally:
        conn.close()


def remove_file(file: str) -> None:
    for path in (file, file + "-journal", file + "-wal", file + "-shm"):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


# -- describing, listing, deleting -------------------------------------------------------------------------------

def _details(arn: str, name: str, created: float, size: int) -> dict[str, Any]:
    return {"BackupArn": arn, "BackupName": name, "BackupSizeBytes": size, "BackupStatus": "AVAILABLE",
            "BackupType": "USER", "BackupCreationDateTime": created}


def _row(conn: sqlite3.Connection, arn: Any) -> tuple[Any, ...]:
    if not isinstance(arn, str) or not 37 <= len(arn) <= 1024:
        raise validation(f"1 validation error detected: Value '{arn}' at 'backupArn' failed to satisfy "
                         "constraint: Member must have length between 37 and 1024")
    if parse_arn(arn, "BackupArn").backup is None:
        raise validation(f"Invalid BackupArn: Invalid ResourceArn provided as input {arn}")
    row = conn.execute("SELECT arn, name, table_name, created, size, items, source, file FROM backups "
                       "WHERE arn = ?", (arn,)).fetchone()
    if row is None:
        raise _not_found(arn)
    return tuple(row)


def _description(row: tuple[Any, ...]) -> dict[str, Any]:
    arn, name, table_name, created, size, count, source, _ = row
    table = orjson.loads(source)
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    throughput = {k: v for k, v in table["ProvisionedThroughput"].items()
                  if k in ("ReadCapacityUnits", "WriteCapacityUnits")}
    features: dict[str, Any] = {}
    for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        if table.get(kind):
            features[kind] = [{k: v for k, v in spec.items() if k in ("IndexName", "KeySchema", "Projection",
                                                                       "ProvisionedThroughput")}
                              for spec in table[kind]]
    if "StreamSpecification" in table:
        features["StreamDescription"] = table["StreamSpecification"]
    return {
        "BackupDetails": _details(arn, name, created, size),
        "SourceTableDetails": {
            "TableName": table_name, "TableId": table["TableId"], "TableArn": table["TableArn"],
            "TableSizeBytes": size, "KeySchema": table["KeySchema"],
            "TableCreationDateTime": table["CreationDateTime"], "ProvisionedThroughput": throughput,
            "ItemCount": count, "BillingMode": billing,
        },
        "SourceTableFeatureDetails": features,
    }


def describe_backup(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    with engine.storage.snapshot() as conn:
        return {"BackupDescription": _description(_row(conn, request.get("BackupArn")))}


def delete_backup(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    with engine.storage.write() as conn:
        row = _row(conn, request.get("BackupArn"))
        if any(spec.get("_restore", {}).get("backup") == row[0] for spec in _restoring(conn)):
            raise DynamoDBError("BackupInUseException", f"Backup is being used to restore a table: {row[0]}")
        conn.execute("DELETE FROM backups WHERE arn = ?", (row[0],))
    remove_file(row[7])
    described = _description(row)
    described["BackupDetails"]["BackupStatus"] = "DELETED"
    return {"BackupDescription": described}


def list_backups(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    limit = request.get("Limit", 100)
    if type(limit) is not int or not 1 <= limit <= 100:
        raise validation(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                         "Member must have value between 1 and 100")
    kind = request.get("BackupType", "ALL")
    if kind not in ("USER", "SYSTEM", "AWS_BACKUP", "ALL"):
        raise validation(f"1 validation error detected: Value '{kind}' at 'backupType' failed to satisfy "
                         "constraint: Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]")
    sql = "SELECT arn, name, table_name, created, size, source FROM backups WHERE 1"
    args: list[Any] = []
    if request.get("TableName") is not None:
        sql += " AND table_name = ?"
        args.append(engine.resource(request["TableName"]).table)
    for parameter, operator in (("TimeRangeLowerBound", ">="), ("TimeRangeUpperBound", "<")):
        bound = request.get(parameter)
        if bound is not None:
            if type(bound) not in (int, float):
                raise DynamoDBError("SerializationException", f"{parameter} must be a timestamp")
            sql += f" AND created {operator} ?"
            args.append(bound)
    start = request.get("ExclusiveStartBackupArn")
    with engine.storage.snapshot() as conn:
        if start is not None:
            begin = _row(conn, start)
            sql += " AND (created, arn) > (?, ?)"
            args += [begin[3], begin[0]]
        rows = conn.execute(sql + " ORDER BY created, arn LIMIT ?", (*args, limit + 1)).fetchall()
    if kind in ("SYSTEM", "AWS_BACKUP"):
        rows = []
    summaries = []
    for arn, name, table_name, created, size, source in rows[:limit]:
        table = orjson.loads(source)
        summaries.append({"TableName": table_name, "TableId": table["TableId"], "TableArn": table["TableArn"],
                          **_details(arn, name, created, size)})
    out: dict[str, Any] = {"BackupSummaries": summaries}
    if len(rows) > limit:
        out["LastEvaluatedBackupArn"] = summaries[-1]["BackupArn"]
    return out


# -- restoring ------------------------------------------------------------------------------------------------

def restore_table_from_backup(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    target = check_name(request.get("TargetTableName"), "targetTableName")
    with engine.storage.snapshot() as conn:
        row = _row(conn, request.get("BackupArn"))
    source = orjson.loads(row[6])
    summary = {"SourceBackupArn": row[0], "SourceTableArn": source["TableArn"], "RestoreDateTime": row[3]}
    return begin_restore(engine, target, source, request, {"backup": row[0], "file": row[7]}, summary)


def begin_restore(engine: Engine, target: str, source: dict[str, Any], request: dict[str, Any],
                  state: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """Create `target` (CREATING) like the `source` description with the request's overrides, and start
    copying the rows of the backup file `state["file"]` into it (`state["temporary"]`: remove the file after)."""
    with engine.storage.snapshot() as conn:
        if conn.execute("SELECT 1 FROM catalog WHERE name = ?", (target,)).fetchone():
            raise DynamoDBError("TableAlreadyExistsException", f"Table already exists: {target}")
    try:
        control.create_table(engine, _create_request(source, target, request))
    except DynamoDBError as error:
        if error.code == "ResourceInUseException":
            raise DynamoDBError("TableAlreadyExistsException", f"Table already exists: {target}") from None
        raise
    with engine.storage.write() as conn:
        tid, raw = conn.execute("SELECT tid, description FROM catalog WHERE name = ?", (target,)).fetchone()
        description = orjson.loads(raw)
        description["TableStatus"] = "CREATING"
        description["RestoreSummary"] = {**summary, "RestoreInProgress": True}
        description["_restore"] = {**state, "cursor": 0}
        conn.execute("UPDATE catalog SET description = ? WHERE tid = ?", (orjson.dumps(description), tid))
        engine.catalog_changed(conn)
    out = control.describe(engine, engine.table(target))
    engine.leadership.run(*job(engine, target))
    return {"TableDescription": out}


def _create_request(source: dict[str, Any], target: str, request: dict[str, Any]) -> dict[str, Any]:
    """The CreateTable request of a restore: the source's keys and indexes, with the request's overrides."""
    billing = request.get("BillingModeOverride") or source.get("BillingModeSummary", {}).get(
        "BillingMode", "PROVISIONED")
    provisioned = billing == "PROVISIONED"

    def units(spec: dict[str, Any]) -> dict[str, Any]:
        found = spec.get("ProvisionedThroughput", {})
        return {"ReadCapacityUnits": max(1, found.get("ReadCapacityUnits", 0) or 1),
                "WriteCapacityUnits": max(1, found.get("WriteCapacityUnits", 0) or 1)}

    create: dict[str, Any] = {"TableName": target, "KeySchema": source["KeySchema"], "BillingMode": billing}
    if provisioned:
        create["ProvisionedThroughput"] = request.get("ProvisionedThroughputOverride") or units(source)
    for kind, override in (("GlobalSecondaryIndexes", "GlobalSecondaryIndexOverride"),
                           ("LocalSecondaryIndexes", "LocalSecondaryIndexOverride")):
        specs = request.get(override)
        if specs is None:
            specs = [{"IndexName": s["IndexName"], "KeySchema": s["KeySchema"], "Projection": s["Projection"],
                      **({"ProvisionedThroughput": units(s)} if provisioned and kind[0] == "G" else {})}
                     for s in source.get(kind, [])]
        if specs:
            create[kind] = specs
    used = {e["AttributeName"] for e in create["KeySchema"]}
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for spec in create.get(kind, []):
            if isinstance(spec, dict) and isinstance(spec.get("KeySchema"), list):
                used.update(e.get("AttributeName") for e in spec["KeySchema"] if isinstance(e, dict))
    create["AttributeDefinitions"] = [a for a in source["AttributeDefinitions"] if a["AttributeName"] in used]
    if request.get("SSESpecificationOverride") is not None:
        create["SSESpecification"] = request["SSESpecificationOverride"]
    return create


def _restoring(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Descriptions of the tables being restored."""
    return [d for d in (orjson.loads(r[0]) for r in conn.execute("SELECT description FROM catalog")) if "_restore" in d]


def restore(engine: Engine, table_name: str) -> None:
    """Copy a backup's rows into the CREATING table `table_name`, with their index entries, in chunked write
    transactions (resumable: the cursor is stored with the table); then mark the table ACTIVE."""
    backup: sqlite3.Connection | None = None
    try:
        while True:
            with engine.storage.write() as conn:
                row = conn.execute("SELECT tid, description FROM catalog WHERE name = ?", (table_name,)).fetchone()
                if row is None:
                    return  # deleted meanwhile
                tid, description = row[0], orjson.loads(row[1])
                state = description.get("_restore")
                if state is None:
                    return
                if backup is None:
                    backup = sqlite3.connect(f"file:{state['file']}?mode=ro", uri=True)
                table = Table.from_description(tid, description)
                rows = backup.execute("SELECT rowid, phash, hk, rk, size, item FROM items WHERE rowid > ? "
                                      "ORDER BY rowid LIMIT ?", (state["cursor"], RESTORE_CHUNK)).fetchall()
                for _, phash, hk, rk, size, raw in rows:
                    conn.execute("INSERT OR IGNORE INTO items(tid, phash, hk, rk, size, item) VALUES (?, ?, ?, ?, ?, ?)",
                                 (tid, phash, hk, rk, size, raw))
                    if table.indexes:
                        item = orjson.loads(raw)
                        for index in table.indexes.values():
                            where = _index_key(table, index, item)
                            if where is not None:
                                conn.execute("INSERT OR IGNORE INTO index_entries(tid, iid, phash, ihk, irk, "
                                             "tphash, hk, rk) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                             (tid, index.iid, *where, phash, hk, rk))
                if len(rows) == RESTORE_CHUNK:
                    state["cursor"] = rows[-1][0]
                else:
                    del description["_restore"]
                    if state.get("temporary"):
                        remove_file(state["file"])
                    description["TableStatus"] = "ACTIVE"
                    description["RestoreSummary"]["RestoreInProgress"] = False
                conn.execute("UPDATE catalog SET description = ? WHERE tid = ?", (orjson.dumps(description), tid))
                engine.catalog_changed(conn)
                if "_restore" not in description:
                    return
    finally:
        if backup is not None:
            backup.close()


def _index_key(table: Table, index: Any, item: dict[str, Any]) -> Any:
    try:
        return index_key(table, index, item)
    except DynamoDBError:  # an override index whose key attribute has another type in this item: not indexed
        return None


def job(engine: Engine, table_name: str) -> Job:
    """The restore into `table_name` as a job (see `leadership`): its lease name and what runs it."""
    return f"restore:{table_name}", partial(restore, engine, table_name)


def pending(engine: Engine) -> list[Job]:
    """The restores not finished yet."""
    with engine.storage.snapshot() as conn:
        names = [d["TableName"] for d in _restoring(conn)]
    return [job(engine, name) for name in names]


OPERATIONS: dict[str, Operation] = {
    "CreateBackup": create_backup,
    "DescribeBackup": describe_backup,
    "ListBackups": list_backups,
    "DeleteBackup": delete_backup,
    "RestoreTableFromBackup": restore_table_from_backup,
}

__all__ = ["OPERATIONS", "SCHEMA", "begin_restore", "copy_into_file", "pending", "remove_file",
           "snapshot_file"]
