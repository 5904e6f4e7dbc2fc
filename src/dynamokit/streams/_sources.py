"""Where a LocalRunner reads a table's stream: the embedded engine (tailing its stream store as records
commit) or any DynamoDB Streams endpoint through boto3 clients (AWS, a dynamokit server, DynamoDB Local),
polled with a short idle sleep."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._engine import Engine
from .._engine.dynamodbstreams import iterators, store
from .._errors import DynamoDBError
from ..model import Transport
from ..model._transport import BotoTransport

log = logging.getLogger("dynamokit.streams")
ZERO = "0" * store.SEQUENCE_DIGITS


@dataclass
class Cursor:
    """A reader's place in one shard: after sequence number `after` (None: from the trim horizon), the open
    iterator, and `ended` once the shard is closed and read to its end."""

    stream_arn: str
    shard_id: str
    after: str | None = None
    iterator: str | None = None
    ended: bool = False


class StreamSource:
    """Reads streams through wire-shaped transports: `tables` answers DescribeTable (and is where a runner
    keeps its own tables unless told otherwise), `streams` DescribeStream, GetShardIterator and GetRecords.
    With nothing to read, `wait` sleeps `poll_interval` seconds: subclasses may tail instead."""

    def __init__(self, tables: Transport, streams: Transport, *, clock: Callable[[], float] = time.time,
                 poll_interval: float = 0.05) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self.tables, self.streams, self.clock, self.poll_interval = tables, streams, clock, poll_interval

    def describe(self, table_name: str) -> tuple[str, str]:
        """The table's latest stream ARN and its partition key attribute (ValueError: no stream)."""
        table = self.tables.call("DescribeTable", {"TableName": table_name})["Table"]
        if "LatestStreamArn" not in table:
            raise ValueError(f"table {table_name} has no stream")
        hash_key = next(k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH")
        return str(table["LatestStreamArn"]), str(hash_key)

    def shards(self, stream_arn: str) -> list[dict[str, Any]]:
        """Every shard of the stream (DescribeStream, all pages)."""
        out: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": stream_arn}
        while True:
            description = self.streams.call("DescribeStream", request)["StreamDescription"]
            out += description["Shards"]
            if "LastEvaluatedShardId" not in description:
                return out
            request["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def latest(self, stream_arn: str, shard_id: str) -> str | None:
        """The shard's newest sequence number now (None: no record), a position LATEST can be stored as.
        Found by reading the shard to its tip: the Streams API names no position otherwise."""
        cursor = Cursor(stream_arn, shard_id)
        while self.read(cursor, 1000):
            pass
        return cursor.after

    def read(self, cursor: Cursor, limit: int) -> list[dict[str, Any]]:
        """One GetRecords page (at most `limit` records) after the cursor, moving it past them. An expired
        iterator is reopened after the last record read; a trimmed position restarts at the trim horizon."""
        while not cursor.ended:
            if cursor.iterator is None:
                cursor.iterator = self._open(cursor)
            try:
                request = {"ShardIterator": cursor.iterator, "Limit": min(limit, 1000)}
                page = self.streams.call("GetRecords", request)
            except DynamoDBError as error:
                if error.code == "ExpiredIteratorException":
                    cursor.iterator = None
                elif error.code == "TrimmedDataAccessException":
                    self._trimmed(cursor)
                    cursor.iterator = self._horizon(cursor)
                else:
                    raise
                continue
            records = [self._record(r) for r in page["Records"]]
            cursor.iterator = page.get("NextShardIterator")
            cursor.ended = cursor.iterator is None
            if records:
                cursor.after = records[-1]["dynamodb"]["SequenceNumber"]
            return records
        return []

    def newest(self, stream_arn: str) -> int | None:
        """The stream's newest committed sequence number (0: none), or None when the source cannot tell."""
        return None

    def wait(self, stream_arn: str, after: str, timeout: float, stop: threading.Event) -> str | None:
        """Block until the stream may hold a record newer than `after`, at most `timeout` seconds (less once
        `stop` is set); the newest sequence number when known to be newer, else None."""
        stop.wait(min(timeout, self.poll_interval))
        return None

    # -- helpers ---------------------------------------------------------------------------------------
    def _open(self, cursor: Cursor) -> str:
        if cursor.after is None:
            return self._horizon(cursor)
        try:
            return self._iterator(cursor, "AFTER_SEQUENCE_NUMBER", SequenceNumber=cursor.after)
        except DynamoDBError as error:
            if error.code != "TrimmedDataAccessException":
                raise
            self._trimmed(cursor)
            return self._horizon(cursor)

    def _horizon(self, cursor: Cursor) -> str:
        return self._iterator(cursor, "TRIM_HORIZON")

    def _iterator(self, cursor: Cursor, kind: str, **extra: str) -> str:
        request = {"StreamArn": cursor.stream_arn, "ShardId": cursor.shard_id, "ShardIteratorType": kind, **extra}
        return str(self.streams.call("GetShardIterator", request)["ShardIterator"])

    @staticmethod
    def _trimmed(cursor: Cursor) -> None:
        log.warning("records of %s after %s were trimmed: reading on from the trim horizon", cursor.shard_id,
                    cursor.after)

    @staticmethod
    def _record(record: dict[str, Any]) -> dict[str, Any]:
        """A record in wire shape: SDKs parse ApproximateCreationDateTime to a datetime; Lambda sends epoch
        seconds."""
        created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        if isinstance(created, dt.datetime):
            seconds = created.timestamp()
            record["dynamodb"]["ApproximateCreationDateTime"] = int(seconds) if seconds.is_integer() else seconds
        return record


class EngineSource(StreamSource):
    """The embedded engine's streams, on its clock: `wait` blocks in the stream tail (woken as records
    commit, no polling) and `newest` and `latest` read the stream store directly."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, engine, clock=engine.clock)
        self.engine = engine

    def latest(self, stream_arn: str, shard_id: str) -> str | None:
        iterator = self._iterator(Cursor(stream_arn, shard_id), "LATEST")
        return store.sequence_text(iterators.decode(iterator).after)

    def newest(self, stream_arn: str) -> int | None:
        return int(self.engine.streams.wait(stream_arn, ZERO, timeout=0) or 0)

    def wait(self, stream_arn: str, after: str, timeout: float, stop: threading.Event) -> str | None:
        began = time.monotonic()
        newest = self.engine.streams.wait(stream_arn, after, timeout=timeout)
        if newest is None:  # timed out, or at once when the stream has ended
            stop.wait(max(0.0, timeout - (time.monotonic() - began)))
        return newest


class RemoteSource(StreamSource):
    """Any DynamoDB Streams endpoint through boto3 clients: `dynamodb` (DescribeTable; the runner's own
    tables) and `dynamodbstreams`, each made for `endpoint_url` and `region_name` unless given. `clock`
    (epoch seconds) dates lag, watermarks and tumbling-window ends."""

    def __init__(self, dynamodb: Any = None, dynamodbstreams: Any = None, *, endpoint_url: str | None = None,
                 region_name: str | None = None, clock: Callable[[], float] = time.time,
                 poll_interval: float = 0.05) -> None:
        if dynamodb is None or dynamodbstreams is None:
            import boto3  # type: ignore[import-untyped]

            session = boto3.session.Session()
            dynamodb = dynamodb or session.client("dynamodb", endpoint_url=endpoint_url, region_name=region_name)
            dynamodbstreams = dynamodbstreams or session.client("dynamodbstreams", endpoint_url=endpoint_url,
                                                                region_name=region_name)
        super().__init__(BotoTransport(dynamodb), BotoTransport(dynamodbstreams), clock=clock,
                         poll_interval=poll_interval)
