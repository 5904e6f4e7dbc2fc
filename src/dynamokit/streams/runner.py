"""LocalRunner: a local event-source mapping that feeds a table's stream to a Lambda-style handler with
Lambda's semantics (batch size and window, retries, bisect, record age, on-failure parking, filters,
starting position, shard lineage) and durable checkpoints."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ..engine import Engine
from ..engine.errors import DynamoDBError
from ..engine.streams import iterators, store
from .changes import epoch_seconds
from .checkpoints import Checkpoint, Checkpoints
from .events import lambda_record
from .filters import Filters
from .metrics import Metrics
from .processor import StreamProcessor
from .tables import ensure_table

log = logging.getLogger("dynamokit.streams")
LambdaHandler = Callable[[dict[str, Any], Any], Any]
_ZERO = "0" * store.SEQUENCE_DIGITS
_IDLE_WAIT = 0.1  # seconds a background runner blocks in the stream tail before looking again


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    point: Checkpoint
    iterator: str | None = None
    ended: bool = False  # the shard is closed and every record of it has been read
    drained: bool = False  # the last read found nothing new
    buffer: list[dict[str, Any]] = field(default_factory=list)


class LocalRunner:
    """Reads `table_name`'s stream and invokes `processor` (a StreamProcessor or any `fn(event, context)`)
    as Lambda's event source mapping would. Checkpoints live in `checkpoint_table` (created if missing), so
    a restart resumes after the last acknowledged batch; records given up on (retries or age exhausted)
    are parked in full in `on_failure_table`."""

    def __init__(self, engine: Engine, table_name: str, processor: StreamProcessor | LambdaHandler, *,
                 batch_size: int = 100, batching_window: float = 0.0, max_retries: int = -1,
                 bisect_on_error: bool = False, max_record_age: float = -1,
                 starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON",
                 filter_criteria: dict[str, Any] | None = None, on_failure_table: str | None = None,
                 checkpoint_table: str | None = None, name: str | None = None) -> None:
        if not 1 <= batch_size <= 10_000 or not 0 <= batching_window <= 300:
            raise ValueError("batch_size must be 1-10000 and batching_window 0-300 seconds")
        if max_retries < -1 or starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError("max_retries must be -1 or more; starting_position TRIM_HORIZON or LATEST")
        self.engine, self.table_name = engine, table_name
        self.handler: LambdaHandler = getattr(processor, "lambda_handler", processor)
        self.batch_size, self.batching_window = batch_size, batching_window
        self.max_retries, self.bisect_on_error, self.max_record_age = max_retries, bisect_on_error, max_record_age
        self.starting_position = starting_position
        self.filters = Filters(filter_criteria)
        self.on_failure_table = on_failure_table
        if on_failure_table is not None:
            ensure_table(engine, on_failure_table)
        table = engine.call("DescribeTable", {"TableName": table_name})["Table"]
        if "LatestStreamArn" not in table:
            raise ValueError(f"table {table_name} has no stream")
        self.stream_arn: str = table["LatestStreamArn"]
        self.name = name or f"{table_name}-runner"
        self.checkpoints = Checkpoints(engine, checkpoint_table, f"{self.name}|{self.stream_arn}")
        self.metrics = Metrics()
        self._saved: dict[str, Checkpoint] | None = None
        self._shards: dict[str, _Shard] = {}
        self._seen = _ZERO  # the newest sequence number read, for the stream tail
        self._idle_since = 0.0  # engine time the stream was last seen with nothing new
        self._covered = 0  # every record with a sequence number up to this one has been handled
        self._state = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # -- control -------------------------------------------------------------------------------------------
    def start(self) -> LocalRunner:
        """Run in a background thread until `stop()`."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"dynamokit-runner-{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def run_until_caught_up(self, timeout: float | None = None) -> Metrics:
        """Handle every record committed so far: in this thread, or by waiting for the background one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        target = self._newest()
        if self._thread is not None and self._thread.is_alive():
            with self._state:
                while self._covered < target and self._error is None:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError(f"runner {self.name} not caught up after {timeout}s")
                    self._state.wait(left)
        else:
            while self._cycle(deadline) and self._covered < target:
                pass
        if self._error is not None:
            raise self._error
        return self.metrics

    def positions(self) -> dict[str, str | None]:
        """Each unfinished shard's checkpoint (the sequence number handled last; None: from the start),
        taking and storing the starting positions on first use."""
        self._refresh()
        return {s.shard_id: s.point.after for s in self._shards.values() if not s.point.done}

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._cycle(None):
                    began = time.monotonic()
                    if self.engine.streams.wait(self.stream_arn, self._seen, timeout=_IDLE_WAIT) is not None:
                        self._idle_since = self.engine.clock()
                    else:
                        self._stop.wait(max(0.0, _IDLE_WAIT - (time.monotonic() - began)))
        except BaseException as error:
            log.exception("runner %s stopped", self.name)
            with self._state:
                self._error = error
                self._state.notify_all()

    # -- one pass over the shards ----------------------------------------------------------------------------
    def _newest(self) -> int:
        """The sequence number of the stream's newest committed record (0: none)."""
        return int(self.engine.streams.wait(self.stream_arn, _ZERO, timeout=0) or 0)

    def _cycle(self, deadline: float | None) -> bool:
        """Read and handle one batch from every ready shard; False when nothing at all was new."""
        began, newest = self.engine.clock(), self._newest()
        self._refresh()
        busy = False
        covered = newest
        for shard in list(self._shards.values()):
            if shard.point.done or not self._ready(shard):
                continue  # an unready child's records all come after its unfinished parent's
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"runner {self.name} not caught up")
            busy |= self._step(shard, deadline)
            if not shard.drained and not shard.point.done:
                covered = min(covered, int(shard.point.after or 0))
        if not busy:
            self._idle_since = began
            self.metrics.watermark = began
        with self._state:
            self._covered = max(self._covered, covered)
            self._state.notify_all()
        return busy

    def _refresh(self) -> None:
        """Learn the stream's shards (DescribeStream also rolls due shards over) and where to start each."""
        if self._saved is None:
            self._saved = self.checkpoints.load()
        fresh = not self._saved and not self._shards
        request: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.engine.call("DescribeStream", request)["StreamDescription"]
            for shape in description["Shards"]:
                shard_id = shape["ShardId"]
                if shard_id not in self._shards:
                    self._shards[shard_id] = self._shard(shape, fresh)
            if "LastEvaluatedShardId" not in description:
                return
            request["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def _shard(self, shape: dict[str, Any], fresh: bool) -> _Shard:
        shard_id = shape["ShardId"]
        assert self._saved is not None
        point = self._saved.get(shard_id)
        if point is None:
            point = Checkpoint()
            if fresh and self.starting_position == "LATEST":  # positions taken now, and kept
                closed = "EndingSequenceNumber" in shape["SequenceNumberRange"]
                point = Checkpoint(done=True) if closed else Checkpoint(self._latest(shard_id))
                self.checkpoints.save(shard_id, point)
        return _Shard(shard_id, shape.get("ParentShardId"), point)

    def _latest(self, shard_id: str) -> str:
        iterator = self.engine.call("GetShardIterator", {"StreamArn": self.stream_arn, "ShardId": shard_id,
                                                         "ShardIteratorType": "LATEST"})["ShardIterator"]
        return store.sequence_text(iterators.decode(iterator).after)

    def _ready(self, shard: _Shard) -> bool:
        """A shard is read only once its parent (when still listed) is finished."""
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return parent is None or parent.point.done

    # -- reading -------------------------------------------------------------------------------------------
    def _iterator(self, shard: _Shard) -> str:
        request = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id, "ShardIteratorType": "TRIM_HORIZON"}
        if shard.point.after is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.point.after)
        try:
            return str(self.engine.call("GetShardIterator", request)["ShardIterator"])
        except DynamoDBError as error:
            if error.code != "TrimmedDataAccessException":
                raise
            log.warning("runner %s: records of %s after %s were trimmed", self.name, shard.shard_id,
                        shard.point.after)
            request.pop("SequenceNumber")
            request["ShardIteratorType"] = "TRIM_HORIZON"
            return str(self.engine.call("GetShardIterator", request)["ShardIterator"])

    def _read(self, shard: _Shard, limit: int) -> None:
        """Append up to `limit` more records of the shard to its buffer."""
        while limit > 0 and not shard.ended:
            if shard.iterator is None:
                shard.iterator = self._iterator(shard)
            try:
                page = self.engine.call("GetRecords", {"ShardIterator": shard.iterator, "Limit": min(limit, 1000)})
            except DynamoDBError as error:
                if error.code != "ExpiredIteratorException":
                    raise
                shard.iterator = None  # reopened after the last record read
                continue
            records = page["Records"]
            shard.iterator = page.get("NextShardIterator")
            shard.ended = shard.iterator is None
            if not records:
                return
            shard.buffer += records
            limit -= len(records)
            newest = records[-1]["dynamodb"]["SequenceNumber"]
            self._seen = max(self._seen, newest, key=int)

    def _step(self, shard: _Shard, deadline: float | None) -> bool:
        """Read one batch (waiting up to the batching window for it to fill) and deliver it."""
        self._read(shard, self.batch_size - len(shard.buffer))
        shard.drained = not shard.buffer
        if shard.buffer and self.batching_window > 0 and not shard.ended:
            until = time.monotonic() + self.batching_window
            while len(shard.buffer) < self.batch_size and not shard.ended:
                left = until - time.monotonic()
                if left <= 0 or self.engine.streams.wait(self.stream_arn, self._seen, timeout=left) is None:
                    break
                self._read(shard, self.batch_size - len(shard.buffer))
        if not shard.buffer:
            if shard.ended:
                shard.point = Checkpoint(shard.point.after, done=True)
                self.checkpoints.save(shard.shard_id, shard.point)
                return True
            return False
        batch, shard.buffer = shard.buffer, []
        try:
            self._deliver(shard, batch, deadline)
        except BaseException:
            # Whatever escapes (a crash, a timeout) must not skip the batch: read again from the checkpoint.
            shard.iterator, shard.ended = None, False
            raise
        return True

    # -- delivering ----------------------------------------------------------------------------------------
    def _deliver(self, shard: _Shard, records: list[dict[str, Any]], deadline: float | None) -> None:
        events = [lambda_record(r, self.stream_arn) for r in records]
        admitted = [e for e in events if self.filters.admits(e)]
        self.metrics.filtered += len(events) - len(admitted)
        if admitted:
            self._invoke(shard, admitted, deadline)
        self._checkpoint(shard, records[-1])

    def _invoke(self, shard: _Shard, batch: list[dict[str, Any]], deadline: float | None) -> None:
        """Invoke the handler until the batch is handled or given up on (Lambda's retry rules)."""
        attempts = 0
        while batch:
            batch = self._drop_expired(shard, batch)
            if not batch:
                return
            try:
                failed = self._first_failure(batch, self.handler({"Records": batch}, None))
            except Exception:
                log.exception("runner %s: handler failed on a batch of %d", self.name, len(batch))
                failed = 0
                if self.bisect_on_error and len(batch) > 1:  # halves are retried on their own
                    half = len(batch) // 2
                    self._invoke(shard, batch[:half], deadline)
                    self._invoke(shard, batch[half:], deadline)
                    return
            if failed is None:
                self._applied(shard, batch)
                return
            if failed:
                self._applied(shard, batch[:failed])
                batch = batch[failed:]
            attempts += 1
            self.metrics.retries += 1
            if 0 <= self.max_retries < attempts:
                self._park(shard, batch, "MaximumRetryAttempts exhausted")
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"runner {self.name}: batch still failing")
            self._stop.wait(min(0.001 * 2 ** min(attempts, 10), 1.0))

    @staticmethod
    def _first_failure(batch: list[dict[str, Any]], response: Any) -> int | None:
        """The index of the lowest reported failure (None: all succeeded); an unknown or empty identifier
        fails the whole batch, as in Lambda."""
        failures = (response or {}).get("batchItemFailures") if isinstance(response, dict) else None
        if not failures:
            return None
        where = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        found = [where.get(f.get("itemIdentifier")) for f in failures]
        return 0 if None in found else min(i for i in found if i is not None)

    def _drop_expired(self, shard: _Shard, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.max_record_age < 0:
            return batch
        now = self.engine.clock()
        old = [r for r in batch if now - epoch_seconds(r["dynamodb"]["ApproximateCreationDateTime"]) > self.max_record_age]
        if old:
            self._park(shard, old, "MaximumRecordAgeInSeconds exceeded")
        return [r for r in batch if r not in old] if old else batch

    def _applied(self, shard: _Shard, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        now, idle = self.engine.clock(), self._idle_since
        lags = [(now - max(epoch_seconds(r["dynamodb"]["ApproximateCreationDateTime"]), idle)) * 1000 for r in batch]
        self.metrics.applied(lags, batch[-1]["dynamodb"]["SequenceNumber"])
        self._checkpoint(shard, batch[-1])

    def _checkpoint(self, shard: _Shard, record: dict[str, Any]) -> None:
        after = record["dynamodb"]["SequenceNumber"]
        if shard.point.after != after:
            shard.point = Checkpoint(after)
            self.checkpoints.save(shard.shard_id, shard.point)

    def _park(self, shard: _Shard, batch: list[dict[str, Any]], reason: str) -> None:
        """Give up on records: store them in full in the on-failure table (or log them)."""
        self.metrics.parked += len(batch)
        log.warning("runner %s: parking %d record(s) of %s: %s", self.name, len(batch), shard.shard_id, reason)
        if self.on_failure_table is None:
            return
        for record in batch:
            self.engine.call("PutItem", {"TableName": self.on_failure_table, "Item": {
                "pk": {"S": f"{self.name}|{shard.shard_id}"}, "sk": {"S": record["dynamodb"]["SequenceNumber"]},
                "reason": {"S": reason}, "record": {"S": orjson.dumps(record).decode()},
                "parked_at": {"N": str(self.engine.clock())}}})
