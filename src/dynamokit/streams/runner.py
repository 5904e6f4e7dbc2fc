"""LocalRunner: a local event-source mapping that feeds a table's stream to a Lambda-style handler with
Lambda's semantics (batch size and window, parallelization factor, tumbling windows, retries, bisect, record
age, on-failure parking, filters, starting position, shard lineage) and durable checkpoints."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ..engine import Engine
from ..model import Transport
from .changes import epoch_seconds
from .checkpoints import Checkpoint, Checkpoints
from .events import lambda_record
from .filters import Filters
from .mapping import EventSourceMapping, load_handler
from .metrics import Metrics
from .processor import StreamProcessor
from .sources import ZERO, Cursor, EngineSource, RemoteSource, StreamSource
from .tables import ensure_table

log = logging.getLogger("dynamokit.streams")
LambdaHandler = Callable[[dict[str, Any], Any], Any]
Job = Callable[[], None]
_IDLE_WAIT = 0.1  # seconds a background runner waits for the stream (or a running batch) before looking again
_REFRESH_EVERY = 5.0  # seconds between DescribeStream calls while no shard ends
_POOL_SHARDS = 4  # shards whose concurrent batches may all run at once (the engine opens 4 shards at a time)
_STATE_LIMIT = 1 << 20  # a tumbling window's state beyond this many bytes ends the window early, as in Lambda


@dataclass
class _Lane:
    """One of a shard's concurrent batch streams (ParallelizationFactor): the records of the partition keys
    hashed to it, in order, one batch at a time; with tumbling windows, its own window and state."""

    queue: deque[dict[str, Any]] = field(default_factory=deque)
    job: Future[None] | None = None
    window: tuple[float, float] | None = None  # the open tumbling window (start, end), epoch seconds
    state: dict[str, Any] = field(default_factory=dict)
    state_bytes: int = 0  # the size of the state as JSON
    held: list[str] = field(default_factory=list)  # handled in the open window: checkpointed at its end


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    point: Checkpoint
    cursor: Cursor
    lanes: list[_Lane]
    pending: deque[str] = field(default_factory=deque)  # read and not yet checkpointed, in stream order
    settled: set[str] = field(default_factory=set)  # handled, but behind a pending earlier record
    at_tip: bool = False  # the last read found nothing new
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Stopped(Exception):
    """Raised in a batch still failing when the runner stops: it is abandoned, and read again next time."""


class LocalRunner:
    """Reads `table_name`'s stream from `source` (an Engine, or a StreamSource such as RemoteSource for any
    Streams endpoint) and invokes `processor` (a StreamProcessor or any `fn(event, context)`) as Lambda's
    event source mapping would. Checkpoints live in `checkpoint_table` (created if missing) behind `store`
    (default: the source's endpoint), so a restart resumes after the last acknowledged batch; records given
    up on (retries or age exhausted) are parked in full in `on_failure_table`."""

    def __init__(self, source: Engine | StreamSource, table_name: str,
                 processor: StreamProcessor | LambdaHandler, *, batch_size: int = 100, batching_window: float = 0.0, max_retries: int = -1,
                 bisect_on_error: bool = False, max_record_age: float = -1,
                 starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON",
                 filter_criteria: dict[str, Any] | None = None, on_failure_table: str | None = None,
                 checkpoint_table: str | None = None, name: str | None = None, parallelization_factor: int = 1,
                 tumbling_window: int = 0, report_batch_item_failures: bool = True,
                 store: Transport | None = None) -> None:
        self.settings = EventSourceMapping(  # every setting checked there, once, as the export checks it
            table=table_name, batch_size=batch_size, batching_window=batching_window, max_retries=max_retries,
            bisect_on_error=bisect_on_error, max_record_age=max_record_age, starting_position=starting_position,
            filter_criteria=filter_criteria, on_failure=on_failure_table,
            parallelization_factor=parallelization_factor, tumbling_window=tumbling_window,
            report_batch_item_failures=report_batch_item_failures)
        self.source = EngineSource(source) if isinstance(source, Engine) else source
        self.table_name = table_name
        self.handler: LambdaHandler = getattr(processor, "lambda_handler", processor)
        self.batch_size, self.batching_window = batch_size, batching_window
        self.max_retries, self.bisect_on_error, self.max_record_age = max_retries, bisect_on_error, max_record_age
        self.starting_position = starting_position
        self.parallelization_factor, self.tumbling_window = parallelization_factor, tumbling_window
        self.report_batch_item_failures = report_batch_item_failures
        self.filters = Filters(filter_criteria)
        self.store = store if store is not None else self.source.tables
        self.on_failure_table = on_failure_table
        if on_failure_table is not None:
            ensure_table(self.store, on_failure_table)
        self.stream_arn, self.hash_key = self.source.describe(table_name)
        self.name = name or f"{table_name}-runner"
        self.checkpoints = Checkpoints(self.store, checkpoint_table, f"{self.name}|{self.stream_arn}")
        self.metrics = Metrics()
        self._saved: dict[str, Checkpoint] | None = None
        self._shards: dict[str, _Shard] = {}
        self._stale = True  # the shard list needs a DescribeStream
        self._refreshed = 0.0  # monotonic time of the last DescribeStream
        self._seen = ZERO  # the newest sequence number read, for the stream tail
        self._idle_since = 0.0  # source time the stream was last seen with nothing new
        self._covered = 0  # every record with a sequence number up to this one has been handled
        self._synced = 0.0  # every record committed before this monotonic time has been handled
        self._pool: ThreadPoolExecutor | None = None
        self._counting = threading.Lock()
        self._state = threading.Condition()
        self._stop = threading.Event()
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
        runner = cls(source, mapping.table, processor, batch_size=mapping.batch_size,
                   batching_window=mapping.batching_window, max_retries=mapping.max_retries,
                   bisect_on_error=mapping.bisect_on_error, max_record_age=mapping.max_record_age,
                   starting_position=mapping.starting_position, filter_criteria=mapping.filter_criteria,
                   on_failure_table=mapping.on_failure, parallelization_factor=mapping.parallelization_factor,
                   tumbling_window=mapping.tumbling_window,
                   report_batch_item_failures=mapping.report_batch_item_failures,
                   checkpoint_table=checkpoint_table, name=name, store=store)
        runner.settings = runner.settings.with_options(handler=mapping.handler)
        return runner

    @classmethod
    def remote(cls, table_name: str, processor: StreamProcessor | LambdaHandler, *, dynamodb: Any = None,
               dynamodbstreams: Any = None, endpoint_url: str | None = None, region_name: str | None = None,
               **options: Any) -> LocalRunner:
        """A runner over any DynamoDB Streams endpoint, through boto3 clients (made for `endpoint_url` and
        `region_name` unless given); checkpoints live behind the same endpoint unless `store=` says."""
        source = RemoteSource(dynamodb, dynamodbstreams, endpoint_url=endpoint_url, region_name=region_name)
        return cls(source, table_name, processor, **options)

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
        return {s.shard_id: s.point.after for s in self._shards.values() if not s.point.done}

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
        except _Stopped:
            pass  # a failing batch was abandoned, and every shard rewound to its checkpoint
        except BaseException as error:
            log.exception("runner %s stopped", self.name)
            with self._state:
                self._error = error
                self._state.notify_all()

    @contextmanager
    def _running(self) -> Iterator[None]:
        """Worker threads for concurrent batches while running; every batch is finished on the way out."""
        if self.parallelization_factor > 1:
            self._pool = ThreadPoolExecutor(self.parallelization_factor * _POOL_SHARDS,
                                            thread_name_prefix=f"dynamokit-runner-{self.name}")
        try:
            yield
            self._finish_jobs()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

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
                if shard.point.done:
                    continue
                if not self._ready(shard):  # its records all come after its unfinished parent's
                    covered = min(covered, int(shard.point.after or 0))
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"runner {self.name} not caught up")
                progress |= self._step(shard, began, deadline)
                if shard.point.done:
                    self._stale = True  # its children are read next
                elif not self._idle(shard):
                    covered = min(covered, int(shard.point.after or 0))
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

    def _shard(self, shape: dict[str, Any], fresh: bool) -> _Shard:
        shard_id = shape["ShardId"]
        assert self._saved is not None
        point = self._saved.get(shard_id)
        if point is None:
            point = Checkpoint()
            if fresh and self.starting_position == "LATEST":  # positions taken now, and kept
                closed = "EndingSequenceNumber" in shape["SequenceNumberRange"]
                latest = None if closed else self.source.latest(self.stream_arn, shard_id)
                point = Checkpoint(latest, done=closed)
                self.checkpoints.save(shard_id, point)
        cursor = Cursor(self.stream_arn, shard_id, point.after)
        return _Shard(shard_id, shape.get("ParentShardId"), point, cursor, self._lanes())

    def _lanes(self) -> list[_Lane]:
        return [_Lane() for _ in range(self.parallelization_factor)]

    def _ready(self, shard: _Shard) -> bool:
        """A shard is read only once its parent (when still listed) is finished."""
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return parent is None or parent.point.done

    @staticmethod
    def _idle(shard: _Shard) -> bool:
        """Everything read from the shard is handled and the last read found nothing new."""
        return shard.at_tip and all(not lane.queue and lane.job is None for lane in shard.lanes)

    def _step(self, shard: _Shard, now: float, deadline: float | None) -> bool:
        """Reap the shard's finished batches, read more, start a batch on every free lane; True on progress."""
        progress = self._reap(shard)
        progress |= self._fill(shard)
        progress |= self._dispatch(shard, now, deadline)
        progress |= self._reap(shard)
        if self._finished(shard):
            shard.point = Checkpoint(shard.point.after, done=True)
            self.checkpoints.save(shard.shard_id, shard.point)
            progress = True
        return progress

    @staticmethod
    def _finished(shard: _Shard) -> bool:
        return shard.cursor.ended and not shard.pending and all(
            not lane.queue and lane.job is None and lane.window is None for lane in shard.lanes)

    # -- reading -------------------------------------------------------------------------------------------
    def _fill(self, shard: _Shard) -> bool:
        """Read records until the shard's lanes hold a batch each (waiting up to the batching window for
        them), sorting them onto lanes by partition key; filtered-out records are settled at once."""
        room = self.batch_size * self.parallelization_factor - sum(len(lane.queue) for lane in shard.lanes)
        reading = room > 0 and not shard.cursor.ended
        records = self._read(shard, room) if reading else []
        if records and self.batching_window > 0:
            records += self._gather(shard, room - len(records))
        shard.at_tip = not records and (reading or shard.cursor.ended)
        if not records:
            return False
        with shard.lock:
            shard.pending.extend(r["dynamodb"]["SequenceNumber"] for r in records)
        skipped = []
        for record in records:
            event = lambda_record(record, self.stream_arn)
            if self.filters.admits(event):
                shard.lanes[self._lane_of(record)].queue.append(event)
            else:
                skipped.append(record["dynamodb"]["SequenceNumber"])
        self._count("filtered", len(skipped))
        self._settle(shard, skipped)
        return True

    def _read(self, shard: _Shard, limit: int) -> list[dict[str, Any]]:
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

    def _gather(self, shard: _Shard, limit: int) -> list[dict[str, Any]]:
        """More records for a filling batch, until `limit` or the batching window ends."""
        records: list[dict[str, Any]] = []
        until, mark = time.monotonic() + self.batching_window, self._seen
        while len(records) < limit and not shard.cursor.ended:
            left = until - time.monotonic()
            if left <= 0:
                break
            mark = self.source.wait(self.stream_arn, mark, left, self._stop) or mark
            records += self._read(shard, limit - len(records))
        return records

    def _lane_of(self, record: dict[str, Any]) -> int:
        """The lane of a record's partition key: stable across runs, and independent of the engine's shard
        hash (a CRC-32 too, which would put a shard's keys all on one lane)."""
        if self.parallelization_factor == 1:
            return 0
        key = orjson.dumps(record["dynamodb"]["Keys"].get(self.hash_key), option=orjson.OPT_SORT_KEYS)
        return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") % self.parallelization_factor

    # -- dispatching -------------------------------------------------------------------------------------------
    def _dispatch(self, shard: _Shard, now: float, deadline: float | None) -> bool:
        """Start the next job (a batch, or a window's final invoke) on every free lane of the shard."""
        started = False
        for lane in shard.lanes:
            if lane.job is None and (job := self._next_job(shard, lane, now, deadline)) is not None:
                lane.job = self._submit(job)
                started = True
        return started

    def _next_job(self, shard: _Shard, lane: _Lane, now: float, deadline: float | None) -> Job | None:
        if lane.window is not None and self._window_over(shard, lane, now):
            return lambda: self._close_window(shard, lane, deadline)
        if not lane.queue:
            return None
        batch = self._take(lane)
        if self.tumbling_window:
            lane.window = self._window_of(batch[0])
        return lambda: self._run_batch(shard, lane, batch, deadline)

    def _take(self, lane: _Lane) -> list[dict[str, Any]]:
        """The lane's next batch: up to batch_size records, all of one tumbling window."""
        window = self._window_of(lane.queue[0]) if self.tumbling_window else None
        batch: list[dict[str, Any]] = []
        while lane.queue and len(batch) < self.batch_size and (
                window is None or self._window_of(lane.queue[0]) == window):
            batch.append(lane.queue.popleft())
        return batch

    def _submit(self, job: Job) -> Future[None]:
        """Run a job on a worker thread (parallelization factor above 1) or here and now."""
        if self._pool is not None:
            return self._pool.submit(job)
        done: Future[None] = Future()
        try:
            job()
            done.set_result(None)
        except BaseException as error:  # noqa: BLE001 - re-raised when the job is reaped
            done.set_exception(error)
        return done

    @staticmethod
    def _reap(shard: _Shard) -> bool:
        """Free the lanes whose job is done; a job's escaping error (a crash, a timeout) is raised here."""
        reaped = False
        for lane in shard.lanes:
            if lane.job is not None and lane.job.done():
                job, lane.job = lane.job, None
                job.result()
                reaped = True
        return reaped

    def _jobs(self) -> list[Future[None]]:
        return [lane.job for shard in self._shards.values() for lane in shard.lanes if lane.job is not None]

    def _await_jobs(self, progress: bool) -> bool:
        """Whether batches are running; with nothing else to do, wait (briefly) for one to finish."""
        jobs = self._jobs()
        if jobs and not progress:
            wait_for(jobs, timeout=_IDLE_WAIT, return_when=FIRST_COMPLETED)
        return bool(jobs)

    def _finish_jobs(self) -> None:
        """Wait for every running batch and reap it."""
        wait_for(self._jobs())
        try:
            for shard in list(self._shards.values()):
                self._reap(shard)
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        """After an escaping error nothing read but unhandled may be skipped: once running batches end, every
        shard reads again from its checkpoint (open windows start over too)."""
        wait_for(self._jobs())
        for shard in self._shards.values():
            shard.cursor = Cursor(self.stream_arn, shard.shard_id, shard.point.after)
            shard.lanes = self._lanes()
            with shard.lock:
                shard.pending.clear()
                shard.settled.clear()
            shard.at_tip = False

    # -- delivering ----------------------------------------------------------------------------------------
    def _run_batch(self, shard: _Shard, lane: _Lane, batch: list[dict[str, Any]],
                   deadline: float | None) -> None:
        self._invoke(shard, lane, batch, deadline)
        if self.tumbling_window and lane.state_bytes > _STATE_LIMIT:
            self._close_window(shard, lane, deadline, early=True)

    def _invoke(self, shard: _Shard, lane: _Lane, batch: list[dict[str, Any]], deadline: float | None) -> None:
        """Invoke the handler until the batch is handled or given up on (Lambda's retry rules)."""
        attempts = 0
        while batch:
            batch = self._drop_expired(shard, batch)
            if not batch:
                return
            try:
                response = self._call(shard, lane, batch)
                failed = self._first_failure(batch, response) if self.report_batch_item_failures else None
            except Exception:
                log.exception("runner %s: handler failed on a batch of %d", self.name, len(batch))
                failed = 0
                if self.bisect_on_error and len(batch) > 1:  # halves are retried on their own
                    half = len(batch) // 2
                    self._invoke(shard, lane, batch[:half], deadline)
                    self._invoke(shard, lane, batch[half:], deadline)
                    return
            if failed is None:
                self._applied(shard, lane, batch)
                return
            if failed:
                self._applied(shard, lane, batch[:failed])
                batch = batch[failed:]
            attempts += 1
            if self._exhausted(attempts, deadline):
                self._park(shard, batch, "MaximumRetryAttempts exhausted")
                return

    def _exhausted(self, attempts: int, deadline: float | None) -> bool:
        """Count a retry: True when MaximumRetryAttempts is used up, else back off (raising past `deadline`,
        or once the runner is stopping)."""
        if self._stop.is_set():
            raise _Stopped(f"runner {self.name} stopped")
        self._count("retries", 1)
        if 0 <= self.max_retries < attempts:
            return True
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"runner {self.name}: batch still failing")
        self._stop.wait(min(0.001 * 2 ** min(attempts, 10), 1.0))
        return False

    def _call(self, shard: _Shard, lane: _Lane, batch: list[dict[str, Any]], final: bool = False,
              early: bool = False) -> Any:
        """One invocation; with tumbling windows the event carries the window and its state, and the response
        must carry the new state (else the invocation failed, as in Lambda)."""
        if not self.tumbling_window:
            return self.handler({"Records": batch}, None)
        assert lane.window is not None
        start, end = lane.window
        response = self.handler({
            "Records": batch, "window": {"start": _iso(start), "end": _iso(end)},
            "state": copy.deepcopy(lane.state), "shardId": shard.shard_id, "eventSourceARN": self.stream_arn,
            "isFinalInvokeForWindow": final, "isWindowTerminatedEarly": early}, None)
        state = response.get("state") if isinstance(response, dict) else None
        if not isinstance(state, dict):
            raise TypeError("with tumbling windows the handler must return {'state': {...}, ...}")
        lane.state_bytes = len(orjson.dumps(state))  # and the state must be JSON
        lane.state = state
        return response

    def _close_window(self, shard: _Shard, lane: _Lane, deadline: float | None, early: bool = False) -> None:
        """The window's final invoke (no records, the accumulated state), retried until it succeeds or retries
        are used up; then its records are checkpointed and the state starts afresh (in the same window when
        the state outgrew its limit)."""
        attempts = 0
        while True:
            try:
                self._call(shard, lane, [], final=True, early=early)
                break
            except Exception:
                log.exception("runner %s: final invoke of window %s failed", self.name, lane.window)
            attempts += 1
            if self._exhausted(attempts, deadline):
                log.warning("runner %s: giving up the final invoke of window %s", self.name, lane.window)
                break
        self._settle(shard, lane.held)
        lane.held, lane.state, lane.state_bytes = [], {}, 0
        if not early:
            lane.window = None

    def _window_of(self, event: dict[str, Any]) -> tuple[float, float]:
        """The tumbling window of a record: aligned to multiples of its length since the epoch."""
        created = epoch_seconds(event["dynamodb"]["ApproximateCreationDateTime"])
        start = math.floor(created / self.tumbling_window) * self.tumbling_window
        return start, start + self.tumbling_window

    def _window_over(self, shard: _Shard, lane: _Lane, now: float) -> bool:
        """The lane's window has all its records: a later window's record is next, the shard ended, or its
        end has passed and the shard was read to its tip since."""
        if lane.queue:
            return self._window_of(lane.queue[0]) != lane.window
        assert lane.window is not None
        return shard.cursor.ended or (lane.window[1] <= now and shard.at_tip)

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
        now = self.source.clock()
        old = [r for r in batch if now - epoch_seconds(r["dynamodb"]["ApproximateCreationDateTime"]) > self.max_record_age]
        if old:
            self._park(shard, old, "MaximumRecordAgeInSeconds exceeded")
        return [r for r in batch if r not in old] if old else batch

    def _applied(self, shard: _Shard, lane: _Lane, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        now, idle = self.source.clock(), self._idle_since
        lags = [(now - max(epoch_seconds(r["dynamodb"]["ApproximateCreationDateTime"]), idle)) * 1000 for r in batch]
        self.metrics.applied(lags, batch[-1]["dynamodb"]["SequenceNumber"])
        done = [r["dynamodb"]["SequenceNumber"] for r in batch]
        if self.tumbling_window:
            lane.held += done
        else:
            self._settle(shard, done)

    def _settle(self, shard: _Shard, sequence_numbers: list[str]) -> None:
        """Mark records handled; the checkpoint moves past every record whose predecessors are all handled."""
        if not sequence_numbers:
            return
        with shard.lock:
            shard.settled.update(sequence_numbers)
            last = None
            while shard.pending and shard.pending[0] in shard.settled:
                last = shard.pending.popleft()
                shard.settled.discard(last)
            if last is not None:
                shard.point = Checkpoint(last)
                self.checkpoints.save(shard.shard_id, shard.point)

    def _park(self, shard: _Shard, batch: list[dict[str, Any]], reason: str) -> None:
        """Give up on records: store them in full in the on-failure table (or log them)."""
        self._count("parked", len(batch))
        log.warning("runner %s: parking %d record(s) of %s: %s", self.name, len(batch), shard.shard_id, reason)
        for record in batch if self.on_failure_table is not None else ():
            self.store.call("PutItem", {"TableName": self.on_failure_table, "Item": {
                "pk": {"S": f"{self.name}|{shard.shard_id}"}, "sk": {"S": record["dynamodb"]["SequenceNumber"]},
                "reason": {"S": reason}, "record": {"S": orjson.dumps(record).decode()},
                "parked_at": {"N": str(self.source.clock())}}})
        self._settle(shard, [r["dynamodb"]["SequenceNumber"] for r in batch])

    def _count(self, counter: str, n: int) -> None:
        """Add to a metrics counter (batches on several threads count at once)."""
        if n:
            with self._counting:
                setattr(self.metrics, counter, getattr(self.metrics, counter) + n)


def _iso(seconds: float) -> str:
    """Epoch seconds as ISO-8601 UTC, as Lambda writes window bounds (`2020-12-09T07:04:00Z`)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
