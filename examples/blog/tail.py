"""A small DynamoDB Streams consumer on the embedded engine: every shard, from the trim horizon, in batches.

Stands in for `dynamokit.streams.LocalRunner` until that lands: it follows a table's stream with
GetShardIterator / GetRecords and sleeps in `engine.streams.wait` (woken by the next write) when idle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dynamokit import Engine

Handler = Callable[[list[dict[str, Any]]], None]


class Tail:
    """Hands the records of `table`'s stream to `handle`, one batch per poll, in order within each key."""

    def __init__(self, engine: Engine, table: str, handle: Handler, batch_size: int = 1000) -> None:
        self.engine, self.handle, self.batch_size = engine, handle, batch_size
        self.arn: str = engine.call("DescribeTable", {"TableName": table})["Table"]["LatestStreamArn"]
        self.iterators: dict[str, str | None] = {}
        self.last: str | None = None  # sequence number of the newest record handled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: Exception | None = None

    def _discover(self) -> None:
        shards = self.engine.call("DescribeStream", {"StreamArn": self.arn})["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self.iterators:
                self.iterators[shard["ShardId"]] = self.engine.call(
                    "GetShardIterator",
                    {
                        "StreamArn": self.arn,
                        "ShardId": shard["ShardId"],
                        "ShardIteratorType": "TRIM_HORIZON",
                    },
                )["ShardIterator"]

    def poll(self) -> int:
        """Read each shard once and handle what came; returns the number of records."""
        if not self.iterators or None in self.iterators.values():
            self._discover()
        batch: list[dict[str, Any]] = []
        for shard, iterator in self.iterators.items():
            if iterator is None:
                continue
            response = self.engine.call("GetRecords", {"ShardIterator": iterator, "Limit": self.batch_size})
            batch += response["Records"]
            self.iterators[shard] = response.get("NextShardIterator")
        if batch:
            self.handle(batch)
            self.last = max((r["dynamodb"]["SequenceNumber"] for r in batch), key=int)
        return len(batch)

    def run_until_caught_up(self) -> None:
        """Handle records until a pass over every shard finds none."""
        while self.poll():
            pass

    def _follow(self) -> None:
        try:
            while not self._stop.is_set():
                if not self.poll():
                    self.engine.streams.wait(self.arn, self.last, timeout=0.1)
        except Exception as error:  # noqa: BLE001 - re-raised by stop()
            self.error = error

    def start(self) -> None:
        """Follow the stream in a background thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="blog-tail", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (after the batch in hand); re-raises a failure of the background thread."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self.error is not None:
            raise self.error
