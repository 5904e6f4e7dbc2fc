"""Global secondary indexes added to or deleted from a live table (UpdateTable), with online backfill."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from .capacity import write_units
from .commit import index_key
from .errors import DynamoDBError, invalid_parameter, resource_not_found, validation
from .schema import (
    MAX_GSIS,
    Table,
    check_attribute_definitions,
    check_key_schema,
    check_name,
    check_projection,
)

if TYPE_CHECKING:
    from .core import Engine
    from .leadership import Job

BACKFILL_CHUNK = 2000


def plan_updates(engine: Engine, table: Table, description: dict[str, Any], request: dict[str, Any],
                 throughput: Any) -> list[str]:
    """Apply GlobalSecondaryIndexUpdates to `description`; return the names of indexes to backfill."""
    updates = request.get("GlobalSecondaryIndexUpdates")
    definitions = request.get("AttributeDefinitions")
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    if definitions is not None:
        for name, kind in check_attribute_definitions(definitions).items():
            if types.get(name, kind) != kind:
                raise invalid_parameter(f"Cannot change the type of attribute {name}")
            types[name] = kind
    if not isinstance(updates, list):
        if updates is None:
            return []
        raise validation("GlobalSecondaryIndexUpdates must be a list")
    if not updates:
        raise validation("1 validation error detected: Value '[]' at 'globalSecondaryIndexUpdates' failed to "
                         "satisfy constraint: Member must have length greater than or equal to 1")
    if definitions is None and any(isinstance(u, dict) and "Create" in u for u in updates):
        raise invalid_parameter("Some index key attributes are not defined in AttributeDefinitions: "
                                "AttributeDefinitions must be given to create a global secondary index")
    gsis: list[dict[str, Any]] = description.setdefault("GlobalSecondaryIndexes", [])
    created: list[str] = []
    structural = sum(1 for u in updates if isinstance(u, dict) and ("Create" in u or "Delete" in u))
    if structural > 1:
        raise DynamoDBError("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be "
                            "created or deleted simultaneously per table")
    for n, update in enumerate(updates, 1):
        if not isinstance(update, dict) or len(update) != 1:
            raise validation("One or more parameter values were invalid: One of Create, Update or Delete must "
                             "be specified in each GlobalSecondaryIndexUpdate")
        ((action, spec),) = update.items()
        where = f"globalSecondaryIndexUpdates.{n}.member.{action[0].lower() + action[1:]}"
        name = check_name(spec.get("IndexName") if isinstance(spec, dict) else None, f"{where}.indexName")
        existing = next((g for g in gsis if g["IndexName"] == name), None)
        if action == "Create":
            if existing is not None or name in table.indexes:
                raise invalid_parameter(f"Attempting to create an index which already exists: {name}")
            if len(gsis) >= MAX_GSIS:
                raise DynamoDBError("LimitExceededException",
                                    f"Subscriber limit exceeded: GlobalSecondaryIndexes count exceeds the "
                                    f"maximum of {MAX_GSIS}")
            key = check_key_schema(spec.get("KeySchema"), f"{where}.keySchema", types, multi=True)
            iid = max([g["_iid"] for g in gsis] + [g["_iid"] for g in description.get("LocalSecondaryIndexes", [])]
                      + [0]) + 1
            gsis.append({
                "IndexName": name, "KeySchema": key, "Projection": check_projection(spec.get("Projection"), where),
                "IndexStatus": "CREATING", "Backfilling": True, "ProvisionedThroughput": throughput(spec, name),
                "IndexArn": f"{description['TableArn']}/index/{name}", "_iid": iid, "_cursor": None,
            })
            created.append(name)
        elif action == "Delete":
            if existing is None:
                raise resource_not_found("Requested resource not found")
            gsis.remove(existing)
        elif action == "Update":
            if existing is None:
                raise resource_not_found("Requested resource not found")
            existing["ProvisionedThroughput"] = throughput(spec, name)
        else:
            raise validation(f"Unknown GlobalSecondaryIndexUpdate action: {action}")
    if not gsis:
        description.pop("GlobalSecondaryIndexes")
    description["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": t} for a, t in types.items()
                                           if _attribute_used(description, a)]
    return created


def _attribute_used(description: dict[str, Any], name: str) -> bool:
    schemas = [description["KeySchema"]] + [s["KeySchema"] for kind in ("GlobalSecondaryIndexes",
                                                                        "LocalSecondaryIndexes")
                                            for s in description.get(kind, [])]
    return any(e["AttributeName"] == name for schema in schemas for e in schema)


def drop_entries(conn: Any, table: Table, description: dict[str, Any]) -> None:
    """Delete the stored entries of indexes that `description` no longer has."""
    kept = {s["_iid"] for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            for s in description.get(kind, [])}
    for index in table.indexes.values():
        if index.iid not in kept:
            conn.execute("DELETE FROM index_entries WHERE tid = ? AND iid = ?", (table.tid, index.iid))


def backfill(engine: Engine, table_name: str, index_name: str) -> None:
    """Index every existing item in chunked write transactions, then mark the index ACTIVE.

    Writes made meanwhile maintain the CREATING index themselves; entries are inserted idempotently, and the
    cursor is stored with the index so another engine on the same file can resume an interrupted backfill.
    Each entry is charged as DynamoDB bills a backfill: a write of the item's size (1 KB units) on the index,
    reported apart from request capacity (`Engine.online_index_wcu`).
    """
    while True:
        with engine.storage.write() as conn:
            row = conn.execute("SELECT tid, description FROM catalog WHERE name = ?", (table_name,)).fetchone()
            if row is None:
                return
            tid, description = row[0], orjson.loads(row[1])
            spec = next((g for g in description.get("GlobalSecondaryIndexes", [])
                         if g["IndexName"] == index_name and g.get("IndexStatus") == "CREATING"), None)
            if spec is None:
                return
            table = Table.from_description(tid, description)
            index = table.indexes[index_name]
            cursor = spec.get("_cursor")
            sql = "SELECT phash, hk, rk, item, size FROM items WHERE tid = ?"
            args: list[Any] = [tid]
            if cursor is not None:
                sql += " AND (phash, hk, rk) > (?, ?, ?)"
                args += [cursor[0], bytes.fromhex(cursor[1]), bytes.fromhex(cursor[2])]
            rows = conn.execute(sql + " ORDER BY phash, hk, rk LIMIT ?", (*args, BACKFILL_CHUNK)).fetchall()
            units = 0.0
            for phash, hk, rk, raw, size in rows:
                try:
                    where = index_key(table, index, orjson.loads(raw))
                except DynamoDBError:
                    continue  # an item whose attribute has the wrong type for the new key is not indexed
                if where is not None:
                    added = conn.execute("INSERT OR IGNORE INTO index_entries(tid, iid, phash, ihk, irk, tphash, "
                                         "hk, rk) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                         (tid, index.iid, *where, phash, hk, rk)).rowcount
                    units += write_units(0, size) if added else 0.0
            if len(rows) == BACKFILL_CHUNK:
                last = rows[-1]
                spec["_cursor"] = [last[0], last[1].hex(), last[2].hex()]
            else:
                spec["IndexStatus"] = "ACTIVE"
                spec.pop("Backfilling", None)
                spec.pop("_cursor", None)
            conn.execute("UPDATE catalog SET description = ? WHERE tid = ?", (orjson.dumps(description), tid))
            engine.catalog_changed(conn)
        engine.usage.add_online_index(table_name, index_name, units)
        if spec["IndexStatus"] == "ACTIVE":
            return


def job(engine: Engine, table_name: str, index_name: str) -> Job:
    """The backfill of an index as a job (see `leadership`): its lease name and what runs it."""
    return f"backfill:{table_name}:{index_name}", partial(backfill, engine, table_name, index_name)


def pending(engine: Engine) -> Iterator[Job]:
    """The backfill of every index still CREATING."""
    for table in list(engine.tables().values()):
        for spec in table.description.get("GlobalSecondaryIndexes", []):
            if spec.get("IndexStatus") == "CREATING":
                yield job(engine, table.name, spec["IndexName"])
