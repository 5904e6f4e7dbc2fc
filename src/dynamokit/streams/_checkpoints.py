"""Durable checkpoints of a stream consumer, one item per shard in a table of the engine, and the progress that
moves them past handled records only."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..model import Transport
from ._tables import ensure_table

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


@dataclass
class Progress:
    """A shard's checkpoint and the records read past it: the checkpoint moves past a record only once it and
    every earlier record of the shard is handled, in whatever order concurrent lanes finish."""

    point: Checkpoint
    pending: deque[str] = field(default_factory=deque)  # read and not yet checkpointed, in stream order
    settled: set[str] = field(default_factory=set)  # handled, but behind a pending earlier record
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, sequence_numbers: Iterable[str]) -> None:
        with self.lock:
            self.pending.extend(sequence_numbers)

    def settle(self, sequence_numbers: list[str], save: Callable[[Checkpoint], None]) -> None:
        """Mark records handled; when the checkpoint moves, `save` it (under the lock, so saves keep order)."""
        if not sequence_numbers:
            return
        with self.lock:
            self.settled.update(sequence_numbers)
            last = None
            while self.pending and self.pending[0] in self.settled:
                last = self.pending.popleft()
                self.settled.discard(last)
            if last is not None:
                self.point = Checkpoint(last)
                save(self.point)

    def rewind(self) -> None:
        """Forget what was read past the checkpoint (it is read again)."""
        with self.lock:
            self.pending.clear()
            self.settled.clear()
