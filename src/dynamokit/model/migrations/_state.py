"""Durable migration state in a small table of its own (default `dynamokit_migrations`, id + part keys):

- `state`: the model version a table's items are at, and the key templates they were written with;
- `run#<to>`: a run towards version <to> (its segment count and source version);
- `run#<to>#seg#<n>`: a segment's checkpoint (LastEvaluatedKey, done, counts);
- `run#<to>#parked#<key>`: an item the run could not migrate, with the error.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._errors import DynamoDBError
from .._steps import Steps, call, sleep
from .._values import from_av, to_av

STATE_TABLE = "dynamokit_migrations"
COUNTS = ("scanned", "migrated", "skipped", "retried", "parked")


@dataclass
class Checkpoint:
    """Where one Scan segment of a run stopped."""

    segment: int
    start: dict[str, Any] | None = None  # the ExclusiveStartKey of its next chunk
    done: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))


@dataclass
class Stored:
    """A table's recorded migration state: its model version and key templates (None: never recorded)."""

    version: int | None = None
    keys: dict[str, dict[str, str]] = field(default_factory=dict)


def ensure_table(name: str) -> Steps[None]:
    """Create the state table if it does not exist, and wait until it is ACTIVE."""
    try:
        described = yield from call("DescribeTable", {"TableName": name})
    except DynamoDBError as error:
        if error.code != "ResourceNotFoundException":
            raise
        request = {
            "TableName": name,
            "KeySchema": [
                {"AttributeName": "id", "KeyType": "HASH"},
                {"AttributeName": "part", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "part", "AttributeType": "S"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }
        try:
            described = {"Table": (yield from call("CreateTable", request))["TableDescription"]}
        except DynamoDBError as error:  # created meanwhile by another run
            if error.code != "ResourceInUseException":
                raise
            described = yield from call("DescribeTable", {"TableName": name})
    deadline = time.monotonic() + 300
    while described["Table"].get("TableStatus", "ACTIVE") != "ACTIVE":
        if time.monotonic() > deadline:
            raise DynamoDBError("ResourceInUseException", f"table {name} did not become ACTIVE")
        yield from sleep(0.2)
        described = yield from call("DescribeTable", {"TableName": name})


def _key(table: str, part: str) -> dict[str, Any]:
    return {"id": {"S": table}, "part": {"S": part}}


def _get(name: str, table: str, part: str) -> Steps[dict[str, Any] | None]:
    response = yield from call(
        "GetItem", {"TableName": name, "Key": _key(table, part), "ConsistentRead": True}
    )
    item: dict[str, Any] | None = response.get("Item")
    return item


def read_state(name: str, table: str) -> Steps[Stored]:
    item = yield from _get(name, table, "state")
    if item is None:
        return Stored()
    return Stored(int(item["version"]["N"]), from_av(item["keys"]) if "keys" in item else {})


def write_state(name: str, table: str, version: int, keys: Mapping[str, Mapping[str, str]]) -> Steps[None]:
    item = {**_key(table, "state"), "version": {"N": str(version)}, "keys": to_av(dict(keys))}
    yield from call("PutItem", {"TableName": name, "Item": item})


def read_run(name: str, table: str, target: int) -> Steps[dict[str, Any] | None]:
    item = yield from _get(name, table, f"run#{target}")
    return None if item is None else {k: from_av(v) for k, v in item.items()}


def start_run(name: str, table: str, source: int, target: int, segments: int) -> Steps[None]:
    item = {
        **_key(table, f"run#{target}"),
        "source": {"N": str(source)},
        "segments": {"N": str(segments)},
        "started": {"N": str(int(time.time()))},
    }
    yield from call("PutItem", {"TableName": name, "Item": item})


def finish_run(name: str, table: str, target: int) -> Steps[None]:
    yield from call(
        "UpdateItem",
        {
            "TableName": name,
            "Key": _key(table, f"run#{target}"),
            "UpdateExpression": "SET finished = :now",
            "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
        },
    )


def _query(name: str, table: str, prefix: str) -> Steps[list[dict[str, Any]]]:
    request: dict[str, Any] = {
        "TableName": name,
        "KeyConditionExpression": "id = :id AND begins_with(part, :prefix)",
        "ExpressionAttributeValues": {":id": {"S": table}, ":prefix": {"S": prefix}},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        response = yield from call("Query", request)
        items += response.get("Items", [])
        if not response.get("LastEvaluatedKey"):
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def read_checkpoints(name: str, table: str, target: int) -> Steps[dict[int, Checkpoint]]:
    out = {}
    for item in (yield from _query(name, table, f"run#{target}#seg#")):
        segment = int(item["segment"]["N"])
        counts = {k: int(item[k]["N"]) if k in item else 0 for k in COUNTS}
        start = item["start"]["M"] if "start" in item else None
        out[segment] = Checkpoint(segment, start, item.get("done", {}).get("BOOL", False), counts)
    return out


def save_checkpoint(name: str, table: str, target: int, checkpoint: Checkpoint) -> Steps[None]:
    item = {
        **_key(table, f"run#{target}#seg#{checkpoint.segment:04d}"),
        "segment": {"N": str(checkpoint.segment)},
        "done": {"BOOL": checkpoint.done},
        **{k: {"N": str(v)} for k, v in checkpoint.counts.items()},
    }
    if checkpoint.start is not None:
        item["start"] = {"M": checkpoint.start}
    yield from call("PutItem", {"TableName": name, "Item": item})


def _ident(key: Mapping[str, Any]) -> str:
    return "#".join(f"{k}={next(iter(v.values()))}" for k, v in sorted(key.items()))


def park(name: str, table: str, target: int, key: dict[str, Any], entity: str, error: str) -> Steps[None]:
    item = {
        **_key(table, f"run#{target}#parked#{_ident(key)}"),
        "key": {"M": key},
        "entity": {"S": entity},
        "error": {"S": error[:2000]},
        "at": {"N": str(int(time.time()))},
    }
    yield from call("PutItem", {"TableName": name, "Item": item})


def unpark(name: str, table: str, target: int, key: dict[str, Any]) -> Steps[None]:
    yield from call(
        "DeleteItem", {"TableName": name, "Key": _key(table, f"run#{target}#parked#{_ident(key)}")}
    )


@dataclass(frozen=True)
class Parked:
    """An item a run could not migrate: its key, entity and error."""

    key: dict[str, Any]
    entity: str
    error: str


def read_parked(name: str, table: str, target: int) -> Steps[list[Parked]]:
    items = yield from _query(name, table, f"run#{target}#parked#")
    return [Parked(i["key"]["M"], i["entity"]["S"], i["error"]["S"]) for i in items]
