"""Durable checkpoints of a stream consumer, one item per shard in a table of the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import Transport
from .tables import ensure_table

DEFAULT_TABLE = "dynamokit-checkpoints"


@dataclass
class Checkpoint:
    """Where a consumer is in one shard: after sequence number `after` (None: nothing read), `done` when the
    shard is closed and fully handled."""

    after: str | None = None
    done: bool = False


class Checkpoints:
    """The checkpoints of consumer `consumer` (e.g. "runner-name|stream-arn") in table `table`."""

    def __init__(self, transport: Transport, table: str | None, consumer: str) -> None:
        self.transport, self.table, self.consumer = transport, table or DEFAULT_TABLE, consumer
        ensure_table(transport, self.table)

    def load(self) -> dict[str, Checkpoint]:
        out: dict[str, Checkpoint] = {}
        request: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True,
                                   "KeyConditionExpression": "pk = :c",
                                   "ExpressionAttributeValues": {":c": {"S": self.consumer}}}
        while True:
            page = self.transport.call("Query", request)
            for item in page["Items"]:
                out[item["sk"]["S"]] = Checkpoint(item.get("after", {}).get("S"), item["done"]["BOOL"])
            if "LastEvaluatedKey" not in page:
                return out
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def save(self, shard_id: str, point: Checkpoint) -> None:
        item: dict[str, Any] = {"pk": {"S": self.consumer}, "sk": {"S": shard_id}, "done": {"BOOL": point.done}}
        if point.after is not None:
            item["after"] = {"S": point.after}
        self.transport.call("PutItem", {"TableName": self.table, "Item": item})
