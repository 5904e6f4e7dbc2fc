"""Missing GSIs of a live table: UpdateTable (one index per call, as DynamoDB requires), then wait for ACTIVE."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..._errors import DynamoDBError
from .._steps import Steps, call, sleep
from .._table import GSI, Table

WAIT_LIMIT = 3600.0  # seconds a new index may take to become ACTIVE


def create_index(table: Table, gsi: GSI, description: dict[str, Any]) -> Steps[None]:
    from .._schema import _attributes, _key_schema  # schema imports the App, which imports migrations

    types = _attributes(table)
    names = [a for a in (gsi.pk_attr, gsi.sk_attr) if a]
    create: dict[str, Any] = {
        "IndexName": gsi.name,
        "KeySchema": _key_schema(gsi.pk_attr, gsi.sk_attr),
        "Projection": {"ProjectionType": gsi.projection},
    }
    throughput = description.get("ProvisionedThroughput", {})
    if description.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED" and (
        throughput.get("ReadCapacityUnits")
    ):
        create["ProvisionedThroughput"] = {
            "ReadCapacityUnits": throughput["ReadCapacityUnits"],
            "WriteCapacityUnits": throughput["WriteCapacityUnits"],
        }
    request = {
        "TableName": table.name,
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": types[n]} for n in names],
        "GlobalSecondaryIndexUpdates": [{"Create": create}],
    }
    yield from call("UpdateTable", request)


def wait_active(
    table: str, index: str | None = None, clock: Callable[[], float] = time.monotonic
) -> Steps[None]:
    """Poll DescribeTable until the table (and `index`) are ACTIVE."""
    deadline, pause = clock() + WAIT_LIMIT, 0.05
    while True:
        described = (yield from call("DescribeTable", {"TableName": table}))["Table"]
        statuses = [described.get("TableStatus", "ACTIVE")]
        if index is not None:
            statuses += [
                g.get("IndexStatus", "ACTIVE")
                for g in described.get("GlobalSecondaryIndexes", [])
                if g["IndexName"] == index
            ] or ["MISSING"]
        if all(s == "ACTIVE" for s in statuses):
            return
        if clock() > deadline:
            raise DynamoDBError(
                "LimitExceededException", f"{table} {index or ''} is not ACTIVE after {WAIT_LIMIT}s"
            )
        yield from sleep(pause)
        pause = min(pause * 2, 5.0)


def add_indexes(table: Table, missing: list[GSI], description: dict[str, Any]) -> Steps[list[str]]:
    """Create each missing GSI and wait until it is ACTIVE (and any the model declares that is still being
    created, e.g. by a run that was stopped); returns the names of those created."""
    for gsi in missing:
        yield from wait_active(table.name)
        yield from create_index(table, gsi, description)
        yield from wait_active(table.name, gsi.name)
    creating = [
        g["IndexName"]
        for g in description.get("GlobalSecondaryIndexes", [])
        if g.get("IndexStatus", "ACTIVE") != "ACTIVE" and g["IndexName"] in table.indexes
    ]
    for name in creating:
        yield from wait_active(table.name, name)
    return [g.name for g in missing]
