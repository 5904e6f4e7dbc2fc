"""The control plane: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import orjson

from . import indexes, resource_policies
from .errors import DynamoDBError, invalid_parameter, resource_in_use, resource_not_found, validation
from .schema import (
    MAX_GSIS,
    MAX_LSIS,
    Table,
    check_attribute_definitions,
    check_key_schema,
    check_name,
    check_projection,
)
from .tags import store as store_tags

if TYPE_CHECKING:
    from .core import Engine

_BILLING_MODES = ("PROVISIONED", "PAY_PER_REQUEST")


def _throughput(request: dict[str, Any], billing: str, where: str = "") -> dict[str, int]:
    given = request.get("ProvisionedThroughput")
    if billing == "PAY_PER_REQUEST":
        if given is not None:
            raise invalid_parameter("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                                    "BillingMode is PAY_PER_REQUEST")
        return {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if not isinstance(given, dict) or "ReadCapacityUnits" not in given or "WriteCapacityUnits" not in given:
        if where:
            raise invalid_parameter(f"ProvisionedThroughput must be specified for index: {where}")
        raise invalid_parameter("ReadCapacityUnits and WriteCapacityUnits must both be specified when "
                                "BillingMode is PROVISIONED")
    read, write = given["ReadCapacityUnits"], given["WriteCapacityUnits"]
    for value, name in ((read, "readCapacityUnits"), (write, "writeCapacityUnits")):
        if not isinstance(value, int) or value < 1:
            raise validation(f"1 validation error detected: Value '{value}' at 'provisionedThroughput.{name}' "
                             "failed to satisfy constraint: Member must have value greater than or equal to 1")
    return {"ReadCapacityUnits": read, "WriteCapacityUnits": write}


def _throughput_description(units: dict[str, int]) -> dict[str, Any]:
    return {"NumberOfDecreasesToday": 0, **units}


def check_stream_specification(spec: Any) -> dict[str, Any] | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("StreamEnabled"), bool):
        raise validation("1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed "
                         "to satisfy constraint: Member must not be null")
    view = spec.get("StreamViewType")
    if spec["StreamEnabled"]:
        if view not in ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"):
            raise invalid_parameter("You must specify a StreamViewType when enabling a stream"
                                    if view is None else f"Invalid StreamViewType: {view}")
        return {"StreamEnabled": True, "StreamViewType": view}
    if view is not None:
        raise invalid_parameter("You cannot specify a StreamViewType when disabling a stream")
    return {"StreamEnabled": False}


def _indexes(engine: Engine, request: dict[str, Any], types: dict[str, str], billing: str,
             table_key: list[dict[str, str]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    used: set[str] = set()
    names: set[str] = set()
    out: dict[str, list[dict[str, Any]]] = {"GlobalSecondaryIndexes": [], "LocalSecondaryIndexes": []}
    iid = 0
    for kind, where, limit in (("GlobalSecondaryIndexes", "globalSecondaryIndexes", MAX_GSIS),
                               ("LocalSecondaryIndexes", "localSecondaryIndexes", MAX_LSIS)):
        specs = request.get(kind)
        if specs is None:
            continue
        if not isinstance(specs, list) or not specs:
            raise invalid_parameter(f"List of {kind} is empty")
        if len(specs) > limit:
            raise DynamoDBError("LimitExceededException",
                                f"Subscriber limit exceeded: {kind} count exceeds the maximum of {limit}")
        for n, spec in enumerate(specs, 1):
            here = f"{where}.{n}.member"
            name = check_name(spec.get("IndexName") if isinstance(spec, dict) else None, f"{here}.indexName")
            if name in names:
                raise invalid_parameter(f"Duplicate index name: {name}")
            names.add(name)
            key = check_key_schema(spec.get("KeySchema"), f"{here}.keySchema", types,
                                   multi=kind == "GlobalSecondaryIndexes")
            if kind == "LocalSecondaryIndexes":
                if len(key) != 2:
                    raise invalid_parameter(f"Index KeySchema does not have a range key for index: {name}")
                if key[0]["AttributeName"] != table_key[0]["AttributeName"]:
                    raise invalid_parameter("Index KeySchema does not have the same leading hash key as table "
                                            f"KeySchema for index: {name}. index hash key: "
                                            f"{key[0]['AttributeName']}, table hash key: "
                                            f"{table_key[0]['AttributeName']}")
                if len(table_key) != 2:
                    raise invalid_parameter("Table KeySchema does not have a range key, which is required when "
                                            "specifying a LocalSecondaryIndex")
            iid += 1
            described: dict[str, Any] = {
                "IndexName": name,
                "KeySchema": key,
                "Projection": check_projection(spec.get("Projection"), here),
                "_iid": iid,
            }
            if kind == "GlobalSecondaryIndexes":
                described["IndexStatus"] = "ACTIVE"
                described["ProvisionedThroughput"] = _throughput_description(
                    _throughput(spec, billing, where=name))
            used.update(e["AttributeName"] for e in key)
            out[kind].append(described)
    return out["GlobalSecondaryIndexes"], out["LocalSecondaryIndexes"], used


def create_table(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    name = check_name(request.get("TableName"), "tableName")
    types = check_attribute_definitions(request.get("AttributeDefinitions"))
    key_schema = request.get("KeySchema")
    if isinstance(key_schema, list):
        missing = [e.get("AttributeName") for e in key_schema
                   if isinstance(e, dict) and e.get("AttributeName") not in types]
        if missing:
            raise invalid_parameter("Some index key attributes are not defined in AttributeDefinitions. Keys: "
                                    f"[{', '.join(map(str, missing))}], AttributeDefinitions: "
                                    f"[{', '.join(types)}]")
    key = check_key_schema(key_schema, "keySchema", types)
    billing = request.get("BillingMode", "PROVISIONED")
    if billing not in _BILLING_MODES:
        raise validation(f"1 validation error detected: Value '{billing}' at 'billingMode' failed to satisfy "
                         "constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]")
    throughput = _throughput(request, billing)
    gsis, lsis, used = _indexes(engine, request, types, billing, key)
    used.update(e["AttributeName"] for e in key)
    if set(types) != used:
        if len(types) > len(used) and not gsis and not lsis:
            raise invalid_parameter("Number of attributes in KeySchema does not exactly match number of "
                                    "attributes defined in AttributeDefinitions")
        raise invalid_parameter(f"Some AttributeDefinitions are not used. AttributeDefinitions: "
                                f"[{', '.join(sorted(types))}], keys used: [{', '.join(sorted(used))}]")
    stream = check_stream_specification(request.get("StreamSpecification"))
    arn = engine.table_arn(name)
    now = engine.clock()
    description: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in types.items()],
        "TableName": name,
        "KeySchema": key,
        "TableStatus": "ACTIVE",
        "CreationDateTime": now,
        "ProvisionedThroughput": _throughput_description(throughput),
        "TableArn": arn,
        "TableId": str(uuid.uuid4()),
        "DeletionProtectionEnabled": bool(request.get("DeletionProtectionEnabled", False)),
    }
    if billing == "PAY_PER_REQUEST":
        description["BillingModeSummary"] = {"BillingMode": billing, "LastUpdateToPayPerRequestDateTime": now}
    for kind, specs in (("GlobalSecondaryIndexes", gsis), ("LocalSecondaryIndexes", lsis)):
        for spec in specs:
            spec["IndexArn"] = f"{arn}/index/{spec['IndexName']}"
        if specs:
            description[kind] = specs
    if stream and stream["StreamEnabled"]:
        description["StreamSpecification"] = stream
    tags = request.get("Tags")
    with engine.storage.write() as conn:
        if conn.execute("SELECT 1 FROM catalog WHERE name = ?", (name,)).fetchone():
            raise resource_in_use(f"Table already exists: {name}")
        tid = engine.storage.next_counter(conn, "table_id")
        if stream and stream["StreamEnabled"]:
            engine.streams.enable(conn, tid, description)
        conn.execute("INSERT INTO catalog(name, tid, description) VALUES (?, ?, ?)",
                     (name, tid, orjson.dumps(description)))
        if tags:
            store_tags(conn, arn, tags)
        engine.catalog_changed(conn)
    return {"TableDescription": public_description(description, 0, 0)}


def public_description(description: dict[str, Any], count: int, size: int,
                       index_stats: dict[int, tuple[int, int]] | None = None) -> dict[str, Any]:
    """The DescribeTable shape of a stored description, with live counts and sizes."""
    out = {k: v for k, v in description.items() if not k.startswith("_")}
    out["ItemCount"] = count
    out["TableSizeBytes"] = size
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if kind in out:
            shown = []
            for spec in out[kind]:
                stats = (index_stats or {}).get(spec["_iid"], (0, 0))
                shown.append({**{k: v for k, v in spec.items() if not k.startswith("_")},
                              "ItemCount": stats[0], "IndexSizeBytes": stats[1]})
            out[kind] = shown
    return out


def describe(engine: Engine, table: Table) -> dict[str, Any]:
    with engine.storage.snapshot() as conn:
        count, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM items WHERE tid = ?",
                                   (table.tid,)).fetchone()
        stats = {}
        if table.indexes:
            for iid, n, total in conn.execute(
                "SELECT e.iid, COUNT(*), COALESCE(SUM(i.size), 0) FROM index_entries e JOIN items i "
                "ON i.tid = e.tid AND i.phash = e.tphash AND i.hk = e.hk AND i.rk = e.rk "
                "WHERE e.tid = ? GROUP BY e.iid", (table.tid,)):
                stats[iid] = (n, total)
    return public_description(table.description, count, size, stats)


def describe_table(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    name = request.get("TableName")
    table = engine.table(name, missing=f"Requested resource not found: Table: {name} not found")
    return {"Table": describe(engine, table)}


def list_tables(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    limit = request.get("Limit", 100)
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        raise validation(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                         "constraint: Member must have value less than or equal to 100"
                         if isinstance(limit, int) and limit > 100 else
                         f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                         "constraint: Member must have value greater than or equal to 1")
    start = request.get("ExclusiveStartTableName") or ""
    with engine.storage.snapshot() as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM catalog WHERE name > ? ORDER BY name LIMIT ?", (start, limit + 1))]
    out: dict[str, Any] = {"TableNames": names[:limit]}
    if len(names) > limit:
        out["LastEvaluatedTableName"] = names[limit - 1]
    return out


# DynamoDB's DeleteTable answer leaves these out (AWS's own CLI examples and tutorials show it).
_NOT_SHOWN_ON_DELETE = ("AttributeDefinitions", "KeySchema", "CreationDateTime", "GlobalSecondaryIndexes",
                        "LocalSecondaryIndexes")


def delete_table(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    name = request.get("TableName")
    table = engine.table(name)
    if table.description.get("DeletionProtectionEnabled"):
        raise invalid_parameter("Resource cannot be deleted as it is currently protected against deletion. "
                                "Disable deletion protection first.")
    shown = describe(engine, table)
    with engine.storage.write() as conn:
        if not conn.execute("DELETE FROM catalog WHERE tid = ?", (table.tid,)).rowcount:
            raise resource_not_found()
        conn.execute("DELETE FROM items WHERE tid = ?", (table.tid,))
        conn.execute("DELETE FROM index_entries WHERE tid = ?", (table.tid,))
        engine.streams.drop(conn, table)
        resource_policies.forget(conn, table)
        engine.catalog_changed(conn)
    shown["TableStatus"] = "DELETING"
    for field in _NOT_SHOWN_ON_DELETE:
        shown.pop(field, None)
    return {"TableDescription": shown}


def update_table(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    description = orjson.loads(orjson.dumps(table.description))
    changed = False
    billing = request.get("BillingMode")
    current = description.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing is not None:
        if billing not in _BILLING_MODES:
            raise validation(f"1 validation error detected: Value '{billing}' at 'billingMode' failed to "
                             "satisfy constraint: Member must satisfy enum value set: "
                             "[PROVISIONED, PAY_PER_REQUEST]")
        if billing == "PAY_PER_REQUEST":
            description["BillingModeSummary"] = {"BillingMode": billing,
                                                 "LastUpdateToPayPerRequestDateTime": engine.clock()}
            description["ProvisionedThroughput"] = _throughput_description(_throughput({}, billing))
            for gsi in description.get("GlobalSecondaryIndexes", []):
                gsi["ProvisionedThroughput"] = _throughput_description(_throughput({}, billing))
        else:
            description.pop("BillingModeSummary", None)
        current = billing
        changed = True
    if "ProvisionedThroughput" in request:
        description["ProvisionedThroughput"] = _throughput_description(_throughput(request, current))
        changed = True
    elif billing == "PROVISIONED":
        description["ProvisionedThroughput"] = _throughput_description(_throughput(request, billing))
    if "DeletionProtectionEnabled" in request:
        description["DeletionProtectionEnabled"] = bool(request["DeletionProtectionEnabled"])
        changed = True
    created: list[str] = []
    if "AttributeDefinitions" in request or "GlobalSecondaryIndexUpdates" in request:
        created = indexes.plan_updates(engine, table, description, request,
                                       lambda spec, name: _throughput_description(_throughput(spec, current, name)))
        changed = True
    stream = check_stream_specification(request.get("StreamSpecification"))
    if stream is not None:
        enabled = description.get("StreamSpecification", {}).get("StreamEnabled", False)
        if stream["StreamEnabled"] == enabled and enabled:
            raise invalid_parameter(f"Table already has an enabled stream: {table.description['TableArn']}")
        if not stream["StreamEnabled"] and not enabled:
            raise invalid_parameter("No stream is enabled on this table")
        changed = True
    if not changed:
        raise validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                         "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required")
    with engine.storage.write() as conn:
        if stream is not None:
            if stream["StreamEnabled"]:
                description["StreamSpecification"] = stream
                engine.streams.enable(conn, table.tid, description)
            else:
                description.pop("StreamSpecification", None)
                engine.streams.disable(conn, table.tid, description)
        indexes.drop_entries(conn, table, description)
        conn.execute("UPDATE catalog SET description = ? WHERE tid = ?", (orjson.dumps(description), table.tid))
        engine.catalog_changed(conn)
    out = describe(engine, engine.table(table.name))
    for name in created:
        engine.leadership.run(*indexes.job(engine, table.name, name))
    return {"TableDescription": out}
