"""Delivery: invoking the handler with a batch under Lambda's rules: partial-batch failures, retries with
backoff, bisection on error, record age, parking of records given up on, and tumbling windows (the window
and its state in each event, a final invoke per window)."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from ..model import Transport
from ._changes import epoch_seconds
from ._lanes import Lane, Shard
from ._mapping import EventSourceMapping
from ._metrics import Metrics
from ._sources import StreamSource

log = logging.getLogger("dynamokit.streams")
LambdaHandler = Callable[[dict[str, Any], Any], Any]
Settle = Callable[[Shard, list[str]], None]
STATE_LIMIT = 1 << 20  # a tumbling window's state beyond this many bytes ends the window early, as in Lambda


class Stopped(Exception):
    """Raised in a batch still failing when the runner stops: it is abandoned, and read again next time."""


class Delivery:
    """Delivers batches of one runner (`name`) to `handler`; handled records go to `settle`, records given
    up on are parked in full in the `on_failure` table behind `store` (or logged)."""

    def __init__(self, settings: EventSourceMapping, handler: LambdaHandler, *, source: StreamSource,
                 store: Transport, stream_arn: str, name: str, metrics: Metrics, stop: threading.Event,
                 settle: Settle, idle_since: Callable[[], float]) -> None:
        self.settings, self.handler, self.source, self.store = settings, handler, source, store
        self.stream_arn, self.name, self.metrics, self.stop = stream_arn, name, metrics, stop
        self.settle, self.idle_since = settle, idle_since

    def run_batch(self, shard: Shard, lane: Lane, batch: list[dict[str, Any]], deadline: float | None) -> None:
        self.invoke(shard, lane, batch, deadline)
        if self.settings.tumbling_window and lane.state_bytes > STATE_LIMIT:
            self.close_window(shard, lane, deadline, early=True)

    def invoke(self, shard: Shard, lane: Lane, batch: list[dict[str, Any]], deadline: float | None) -> None:
        """Invoke the handler until the batch is handled or given up on (Lambda's retry rules)."""
        attempts = 0
        while batch:
            batch = self._drop_expired(shard, batch)
            if not batch:
                return
            try:
                response = self._call(shard, lane, batch)
                failed = _first_failure(batch, response) if self.settings.report_batch_item_failures else None
            except Exception:
                log.exception("runner %s: handler failed on a batch of %d", self.name, len(batch))
                failed = 0
                if self.settings.bisect_on_error and len(batch) > 1:  # halves are retried on their own
                    half = len(batch) // 2
                    self.invoke(shard, lane, batch[:half], deadline)
                    self.invoke(shard, lane, batch[half:], deadline)
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
        if self.stop.is_set():
            raise Stopped(f"runner {self.name} stopped")
        self.metrics.count("retries", 1)
        if 0 <= self.settings.max_retries < attempts:
            return True
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"runner {self.name}: batch still failing")
        self.stop.wait(min(0.001 * 2 ** min(attempts, 10), 1.0))
        return False

    def _call(self, shard: Shard, lane: Lane, batch: list[dict[str, Any]], final: bool = False,
              early: bool = False) -> Any:
        """One invocation; with tumbling windows the event carries the window and its state, and the response
        must carry the new state (else the invocation failed, as in Lambda)."""
        if not self.settings.tumbling_window:
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

    # -- tumbling windows ----------------------------------------------------------------------------------
    def close_window(self, shard: Shard, lane: Lane, deadline: float | None, early: bool = False) -> None:
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
        self.settle(shard, lane.held)
        lane.held, lane.state, lane.state_bytes = [], {}, 0
        if not early:
            lane.window = None

    def window_of(self, event: dict[str, Any]) -> tuple[float, float]:
        """The tumbling window of a record: aligned to multiples of its length since the epoch."""
        length = self.settings.tumbling_window
        start = math.floor(epoch_seconds(event["dynamodb"]["ApproximateCreationDateTime"]) / length) * length
        return start, start + length

    def window_over(self, shard: Shard, lane: Lane, now: float) -> bool:
        """The lane's window has all its records: a later window's record is next, the shard ended, or its
        end has passed and the shard was read to its tip since."""
        if lane.queue:
            return self.window_of(lane.queue[0]) != lane.window
        assert lane.window is not None
        return shard.cursor.ended or (lane.window[1] <= now and shard.at_tip)

    # -- outcomes ------------------------------------------------------------------------------------------
    def _drop_expired(self, shard: Shard, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.settings.max_record_age < 0:
            return batch
        now = self.source.clock()
        old = [r for r in batch
               if now - epoch_seconds(r["dynamodb"]["ApproximateCreationDateTime"]) > self.settings.max_record_age]
        if old:
            self._park(shard, old, "MaximumRecordAgeInSeconds exceeded")
        return [r for r in batch if r not in old] if old else batch

    def _applied(self, shard: Shard, lane: Lane, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        now, idle = self.source.clock(), self.idle_since()
        lags = [(now - max(epoch_seconds(r["dynamodb"]["ApproximateCreationDateTime"]), idle)) * 1000 for r in batch]
        self.metrics.applied(lags, batch[-1]["dynamodb"]["SequenceNumber"])
        done = [r["dynamodb"]["SequenceNumber"] for r in batch]
        if self.settings.tumbling_window:
            lane.held += done
        else:
            self.settle(shard, done)

    def _park(self, shard: Shard, batch: list[dict[str, Any]], reason: str) -> None:
        """Give up on records: store them in full in the on-failure table (or log them)."""
        self.metrics.count("parked", len(batch))
        log.warning("runner %s: parking %d record(s) of %s: %s", self.name, len(batch), shard.shard_id, reason)
        table = self.settings.on_failure
        for record in batch if table is not None else ():
            self.store.call("PutItem", {"TableName": table, "Item": {
                "pk": {"S": f"{self.name}|{shard.shard_id}"}, "sk": {"S": record["dynamodb"]["SequenceNumber"]},
                "reason": {"S": reason}, "record": {"S": orjson.dumps(record).decode()},
                "parked_at": {"N": str(self.source.clock())}}})
        self.settle(shard, [r["dynamodb"]["SequenceNumber"] for r in batch])


def _first_failure(batch: list[dict[str, Any]], response: Any) -> int | None:
    """The index of the lowest reported failure (None: all succeeded); an unknown or empty identifier fails
    the whole batch, as in Lambda."""
    failures = (response or {}).get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return None
    where = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
    found = [where.get(f.get("itemIdentifier")) for f in failures]
    return 0 if None in found else min(i for i in found if i is not None)


def _iso(seconds: float) -> str:
    """Epoch seconds as ISO-8601 UTC, as Lambda writes window bounds (`2020-12-09T07:04:00Z`)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
