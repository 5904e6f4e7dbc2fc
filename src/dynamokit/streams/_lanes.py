"""Shard and lane scheduling: a shard's records are sorted onto lanes (Lambda's ParallelizationFactor) by a
hash of their partition key, so one key's records always go to one lane, in order; each lane runs one job (a
batch, or a tumbling window's final invoke) at a time, on worker threads when there are several lanes."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from ._checkpoints import Progress
from ._sources import Cursor

Job = Callable[[], None]
POOL_SHARDS = 4  # shards whose concurrent batches may all run at once (the engine opens 4 shards at a time)


@dataclass
class Lane:
    """One of a shard's concurrent batch streams: the records of the partition keys hashed to it, in order,
    one job at a time; with tumbling windows, its own window and state."""

    queue: deque[dict[str, Any]] = field(default_factory=deque)
    job: Future[None] | None = None
    window: tuple[float, float] | None = None  # the open tumbling window (start, end), epoch seconds
    state: dict[str, Any] = field(default_factory=dict)
    state_bytes: int = 0  # the size of the state as JSON
    held: list[str] = field(default_factory=list)  # handled in the open window: checkpointed at its end


@dataclass
class Shard:
    """A shard being read: where (`cursor`), how far handled (`progress`), and its lanes."""

    shard_id: str
    parent_id: str | None
    progress: Progress
    cursor: Cursor
    lanes: list[Lane]
    at_tip: bool = False  # the last read found nothing new

    @property
    def busy(self) -> bool:
        """Records are queued or a job runs on some lane."""
        return any(lane.queue or lane.job is not None for lane in self.lanes)


def lane_of(key: Any, lanes: int) -> int:
    """The lane of a partition key value (wire shape): stable across runs, and independent of the engine's
    shard hash (a CRC-32 too, which would put a shard's keys all on one lane)."""
    if lanes == 1:
        return 0
    text = orjson.dumps(key, option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "big") % lanes


def new_lanes(count: int) -> list[Lane]:
    return [Lane() for _ in range(count)]


class Scheduler:
    """Runs lane jobs: on a pool of worker threads while `running` with several lanes, else inline."""

    def __init__(self, lanes: int, name: str) -> None:
        self.lanes, self.name = lanes, name
        self._pool: ThreadPoolExecutor | None = None

    @contextmanager
    def running(self) -> Iterator[None]:
        if self.lanes > 1:
            self._pool = ThreadPoolExecutor(self.lanes * POOL_SHARDS, thread_name_prefix=f"dynamokit-runner-{self.name}")
        try:
            yield
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def submit(self, job: Job) -> Future[None]:
        """Run a job on a worker thread, or here and now."""
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
    def reap(shard: Shard) -> bool:
        """Free the lanes whose job is done; a job's escaping error (a crash, a timeout) is raised here."""
        reaped = False
        for lane in shard.lanes:
            if lane.job is not None and lane.job.done():
                job, lane.job = lane.job, None
                job.result()
                reaped = True
        return reaped

    @staticmethod
    def jobs(shards: list[Shard]) -> list[Future[None]]:
        return [lane.job for shard in shards for lane in shard.lanes if lane.job is not None]

    @staticmethod
    def wait_any(jobs: list[Future[None]], timeout: float) -> None:
        wait_for(jobs, timeout=timeout, return_when=FIRST_COMPLETED)

    @staticmethod
    def wait_all(jobs: list[Future[None]]) -> None:
        wait_for(jobs)
