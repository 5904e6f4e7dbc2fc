"""LocalRunner: a local event-source mapping that feeds a table's stream to a Lambda-style handler with
Lambda's semantics and durable checkpoints. Its settings are an `EventSourceMapping` (the one a deployment
exports); lanes and their jobs are scheduled by `lanes`, batches delivered (retries, bisection, parking,
tumbling windows) by `delivery`, and checkpoints moved by `checkpoints.Progress`. This module reads the
shards (lineage, starting positions, batching window) and drives the passes over them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._engine import Engine
from ..model import Transport
from ._checkpoints import Checkpoint, Checkpoints, Progress
from ._delivery import Delivery, LambdaHandler, Stopped
from ._events import lambda_record
from ._filters import Filters
from ._lanes import Job, Lane, Scheduler, Shard, lane_of, new_lanes
from ._mapping import EventSourceMapping, load_handler
from ._metrics import Metrics
from ._processor import StreamProcessor
from ._sources import ZERO, Cursor, EngineSource, RemoteSource, StreamSource
from ._tables import ensure_table

log = logging.getLogger("dynamokit.streams")
_IDLE_WAIT = 0.1  # seconds a background runner waits for the stream (or a running batch) before looking again
_REFRESH_EVERY = 5.0  # seconds between DescribeStream calls while no shard ends


class LocalRunner:
    """Reads a table's stream from `source` (an Engine, or a StreamSource such as RemoteSource for any
    Streams endpoint) and invokes `processor` (a StreamProcessor or any `fn(event, context)`) as Lambda's
    event source mapping would. `mapping` is the settings (an EventSourceMapping), or the table's name with
    the settings as keywords (EventSourceMapping's names; `on_failure_table` is `on_failure`). Checkpoints
    live in `checkpoint_table` (created if missing) behind `store` (default: the source's endpoint), so a
    restart resumes after the last acknowledged batch; records given up on (retries or age exhausted) are
    parked in full in the `on_failure` table."""

    def __init__(self, source: Engine | StreamSource, mapping: EventSourceMapping | str,
                 processor: StreamProcessor | LambdaHandler, *, checkpoint_table: str | None = None,
                 name: str | None = None, store: Transport | None = None, **options: Any) -> None:
        if "on_failure_table" in options:
            options["on_failure"] = options.pop("on_failure_table")
        self.settings = (EventSourceMapping(table=mapping, **options) if isinstance(mapping, str)
                         else mapping.with_options(**options))  # every setting checked there, as the export checks it
        self.source = EngineSource(source) if isinstance(source, Engine) else source
        self.table_name = self.settings.table
        self.filters = Filters(self.settings.filter_criteria)
        self.store = store if store is not None else self.source.tables
        if self.settings.on_failure is not None:
            ensure_table(self.store, self.settings.on_failure)
        self.stream_arn, self.hash_key = self.source.describe(self.table_name)
        self.name = name or f"{self.table_name}-runner"
        self.checkpoints = Checkpoints(self.store, checkpoint_table, f"{self.name}|{self.stream_arn}")
        self._stop = threading.Event()
        self.delivery = Delivery(self.settings, getattr(processor, "lambda_handler", processor),
                                 source=self.source, store=self.store, stream_arn=self.stream_arn, name=self.name,
                                 metrics=Metrics(), stop=self._stop, settle=self._settle,
                                 idle_since=lambda: self._idle_since)
        self.scheduler = Scheduler(self.settings.parallelization_factor, self.name)
        self._saved: dict[str, Checkpoint] | None = None
        self._shards: dict[str, Shard] = {}
        self._stale = True  # the shard list needs a DescribeStream
        self._refreshed = 0.0  # monotonic time of the last DescribeStream
        self._seen = ZERO  # the newest sequence number read, for the stream tail
        self._idle_since = 0.0  # source time the stream was last seen with nothing new
        self._covered = 0  # every record with a sequence number up to this one has been handled
        self._synced = 0.0  # every record committed before this monotonic time has been handled
        self._state = threading.Condition()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @classmethod
    def from_mapping(cls, source: Engine | StreamSource, mapping: EventSourceMapping,
                     processor: StreamProcessor | LambdaHandler | None = None, *, checkpoint_table: str | None = None,
                     name: str | None = None, store: Transport | None = None) -> LocalRunner:
        """The runner of a deployment's event source mapping: the same settings as the deployed one, and its
        handler (`mapping.handler`, imported) unless `processor` is given."""
        if processor is None:
            if mapping.handler is None:
                raise ValueError(f"the mapping of table {mapping.table!r} names no handler: pass processor=")
            processor = load_handler(mapping.handler)
        return cls(source, mapping, processor, checkpoint_table=checkpoint_table, name=name, store=store)

    @classmethod
    def remote(cls, table_name: str, processor: StreamProcessor | LambdaHandler, *, dynamodb: Any = None,
               dynamodbstreams: Any = None, endpoint_url: str | None = None, region_name: str | None = None,
               **options: Any) -> LocalRunner:
        """A runner over any DynamoDB Streams endpoint, through boto3 clients (made for `endpoint_url` and
        `region_name` unless given); checkpoints live behind the same endpoint unless `store=` says."""
        source = RemoteSource(dynamodb, dynamodbstreams, endpoint_url=endpoint_url, region_name=region_name)
        return cls(source, table_name, processor, **options)

    # -- control -------------------------------------------------------------------------------------------
    @property
    def metrics(self) -> Metrics:
        """The runner's counters (kept by its delivery); assign a fresh `Metrics()` to count anew."""
        return self.delivery.metrics

    @metrics.setter
    def metrics(self, metrics: Metrics) -> None:
        self.delivery.metrics = metrics

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
        mark = time.monotonic(), self.source.newest(self.stream_arn)
        if self._thread is not None and self._thread.is_alive():
            with self._state:
                while not self._caught_up(mark) and self._error is None:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError(f"runner {self.name} not caught up after {timeout}s")
                    self._state.wait(left)
        else:
            self._stop.clear()
            with self._running():
                while self._cycle(deadline) and not self._caught_up(mark):
                    pass
        if self._error is not None:
            raise self._error
        return self.metrics

    def positions(self) -> dict[str, str | None]:
        """Each unfinished shard's checkpoint (the sequence number handled last; None: from the start),
        taking and storing the starting positions on first use."""
        self._refresh()
        return {s.shard_id: s.progress.point.after for s in self._shards.values() if not s.progress.point.done}

    def _caught_up(self, mark: tuple[float, int | None]) -> bool:
        """Whether everything committed at `mark` (monotonic time, newest sequence number) is handled: an idle
        pass began since, or (when the source can tell) the records up to that number are handled."""
        began, newest = mark
        return self._synced >= began or (newest is not None and self._covered >= newest)

    def _run(self) -> None:
        try:
            with self._running():
                while not self._stop.is_set():
                    if not self._cycle(None) and self.source.wait(
                            self.stream_arn, self._seen, _IDLE_WAIT, self._stop) is not None:
                        self._idle_since = self.source.clock()
        except Stopped:
            pass  # a failing batch was abandoned, and every shard rewound to its checkpoint
        except BaseException as error:
            log.exception("runner %s stopped", self.name)
            with self._state:
                self._error = error
                self._state.notify_all()

    @contextmanager
    def _running(self) -> Iterator[None]:
        """Worker threads for concurrent batches while running; every batch is finished on the way out."""
        with self.scheduler.running():
            yield
            self._finish_jobs()

    # -- one pass over the shards ----------------------------------------------------------------------------
    def _cycle(self, deadline: float | None) -> bool:
        """Reap finished batches, read and dispatch more on every ready shard; False when nothing at all was
        new, running or due."""
        began, started = self.source.clock(), time.monotonic()
        newest = self.source.newest(self.stream_arn)
        if self._stale or started - self._refreshed > _REFRESH_EVERY:
            self._refresh()
        progress, covered = False, newest or 0
        try:
            for shard in list(self._shards.values()):
                if shard.progress.point.done:
                    continue
                if not self._ready(shard):  # its records all come after its unfinished parent's
                    covered = min(covered, int(shard.progress.point.after or 0))
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"runner {self.name} not caught up")
                progress |= self._step(shard, began, deadline)
                if shard.progress.point.done:
                    self._stale = True  # its children are read next
                elif not self._idle(shard):
                    covered = min(covered, int(shard.progress.point.after or 0))
            running = self._await_jobs(progress)
        except BaseException:
            self._abort()
            raise
        busy = progress or running or self._stale
        if not busy:
            self._idle_since = began
            self.metrics.watermark = began
        with self._state:
            if not busy:
                self._synced = started
            if newest is not None and not self._stale:
                self._covered = max(self._covered, covered)
            self._state.notify_all()
        return busy

    def _refresh(self) -> None:
        """Learn the stream's shards (DescribeStream also rolls due shards over) and where to start each."""
        if self._saved is None:
            self._saved = self.checkpoints.load()
        fresh = not self._saved and not self._shards
        for shape in self.source.shards(self.stream_arn):
            if shape["ShardId"] not in self._shards:
                self._shards[shape["ShardId"]] = self._shard(shape, fresh)
        self._stale, self._refreshed = False, time.monotonic()

    def _shard(self, shape: dict[str, Any], fresh: bool) -> Shard:
        shard_id = shape["ShardId"]
        assert self._saved is not None
        point = self._saved.get(shard_id)
        if point is None:
            point = Checkpoint()
            if fresh and self.settings.starting_position == "LATEST":  # positions taken now, and kept
                closed = "EndingSequenceNumber" in shape["SequenceNumberRange"]
                latest = None if closed else self.source.latest(self.stream_arn, shard_id)
                point = Checkpoint(latest, done=closed)
                self.checkpoints.save(shard_id, point)
        cursor = Cursor(self.stream_arn, shard_id, point.after)
        return Shard(shard_id, shape.get("ParentShardId"), Progress(point), cursor,
                     new_lanes(self.settings.parallelization_factor))

    def _ready(self, shard: Shard) -> bool:
        """A shard is read only once its parent (when still listed) is finished."""
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return parent is None or parent.progress.point.done

    @staticmethod
    def _idle(shard: Shard) -> bool:
        """Everything read from the shard is handled and the last read found nothing new."""
        return shard.at_tip and not shard.busy

    def _step(self, shard: Shard, now: float, deadline: float | None) -> bool:
        """Reap the shard's finished batches, read more, start a batch on every free lane; True on progress."""
        progress = self.scheduler.reap(shard)
        progress |= self._fill(shard)
        progress |= self._dispatch(shard, now, deadline)
        progress |= self.scheduler.reap(shard)
        if self._finished(shard):
            shard.progress.point = Checkpoint(shard.progress.point.after, done=True)
            self.checkpoints.save(shard.shard_id, shard.progress.point)
            progress = True
        return progress

    @staticmethod
    def _finished(shard: Shard) -> bool:
        return shard.cursor.ended and not shard.progress.pending and all(
            not lane.queue and lane.job is None and lane.window is None for lane in shard.lanes)

    # -- reading -------------------------------------------------------------------------------------------
    def _fill(self, shard: Shard) -> bool:
        """Read records until the shard's lanes hold a batch each (waiting up to the batching window for
        them), sorting them onto lanes by partition key; filtered-out records are settled at once."""
        settings = self.settings
        room = settings.batch_size * settings.parallelization_factor - sum(len(lane.queue) for lane in shard.lanes)
        reading = room > 0 and not shard.cursor.ended
        records = self._read(shard, room) if reading else []
        if records and settings.batching_window > 0:
            records += self._gather(shard, room - len(records))
        shard.at_tip = not records and (reading or shard.cursor.ended)
        if not records:
            return False
        shard.progress.read(r["dynamodb"]["SequenceNumber"] for r in records)
        skipped, lanes = [], settings.parallelization_factor
        for record in records:
            event = lambda_record(record, self.stream_arn)
            if self.filters.admits(event):
                shard.lanes[lane_of(record["dynamodb"]["Keys"].get(self.hash_key), lanes)].queue.append(event)
            else:
                skipped.append(record["dynamodb"]["SequenceNumber"])
        self.metrics.count("filtered", len(skipped))
        self._settle(shard, skipped)
        return True

    def _read(self, shard: Shard, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` more records of the shard (fewer at its tip)."""
        records: list[dict[str, Any]] = []
        while len(records) < limit and not shard.cursor.ended:
            page = self.source.read(shard.cursor, limit - len(records))
            if not page:
                break
            records += page
        if records:
            self._seen = max(self._seen, records[-1]["dynamodb"]["SequenceNumber"], key=int)
        return records

    def _gather(self, shard: Shard, limit: int) -> list[dict[str, Any]]:
        """More records for a filling batch, until `limit` or the batching window ends."""
        records: list[dict[str, Any]] = []
        until, mark = time.monotonic() + self.settings.batching_window, self._seen
        while len(records) < limit and not shard.cursor.ended:
            left = until - time.monotonic()
            if left <= 0:
                break
            mark = self.source.wait(self.stream_arn, mark, left, self._stop) or mark
            records += self._read(shard, limit - len(records))
        return records

    # -- dispatching ---------------------------------------------------------------------------------------
    def _dispatch(self, shard: Shard, now: float, deadline: float | None) -> bool:
        """Start the next job (a batch, or a window's final invoke) on every free lane of the shard."""
        started = False
        for lane in shard.lanes:
            if lane.job is None and (job := self._next_job(shard, lane, now, deadline)) is not None:
                lane.job = self.scheduler.submit(job)
                started = True
        return started

    def _next_job(self, shard: Shard, lane: Lane, now: float, deadline: float | None) -> Job | None:
        delivery = self.delivery
        if lane.window is not None and delivery.window_over(shard, lane, now):
            return lambda: delivery.close_window(shard, lane, deadline)
        if not lane.queue:
            return None
        batch = self._take(lane)
        if self.settings.tumbling_window:
            lane.window = delivery.window_of(batch[0])
        return lambda: delivery.run_batch(shard, lane, batch, deadline)

    def _take(self, lane: Lane) -> list[dict[str, Any]]:
        """The lane's next batch: up to batch_size records, all of one tumbling window."""
        window_of = self.delivery.window_of if self.settings.tumbling_window else None
        window = window_of(lane.queue[0]) if window_of else None
        batch: list[dict[str, Any]] = []
        while lane.queue and len(batch) < self.settings.batch_size and (
                window_of is None or window_of(lane.queue[0]) == window):
            batch.append(lane.queue.popleft())
        return batch

    def _await_jobs(self, progress: bool) -> bool:
        """Whether batches are running; with nothing else to do, wait (briefly) for one to finish."""
        jobs = self.scheduler.jobs(list(self._shards.values()))
        if jobs and not progress:
            self.scheduler.wait_any(jobs, _IDLE_WAIT)
        return bool(jobs)

    def _finish_jobs(self) -> None:
        """Wait for every running batch and reap it."""
        self.scheduler.wait_all(self.scheduler.jobs(list(self._shards.values())))
        try:
            for shard in list(self._shards.values()):
                self.scheduler.reap(shard)
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        """After an escaping error nothing read but unhandled may be skipped: once running batches end, every
        shard reads again from its checkpoint (open windows start over too)."""
        self.scheduler.wait_all(self.scheduler.jobs(list(self._shards.values())))
        for shard in self._shards.values():
            shard.cursor = Cursor(self.stream_arn, shard.shard_id, shard.progress.point.after)
            shard.lanes = new_lanes(self.settings.parallelization_factor)
            shard.progress.rewind()
            shard.at_tip = False

    def _settle(self, shard: Shard, sequence_numbers: list[str]) -> None:
        """Mark records handled; the checkpoint moves past every record whose predecessors are all handled."""
        shard.progress.settle(sequence_numbers, lambda point: self.checkpoints.save(shard.shard_id, point))
