"""ParallelizationFactor: concurrent batches per shard, per-key order, and a checkpoint that never passes an
unhandled record."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.streams import LocalRunner
from dynamokit.streams._checkpoints import Checkpoints

from .conftest import create_source

KEYS = [f"k{i:02d}" for i in range(12)]


@pytest.fixture
def one_shard(engine: Engine) -> str:
    """A table whose stream has a single shard, so concurrency is within one shard."""
    engine.streams.shard_count = 1
    create_source(engine, "one")
    return "one"


def newest(engine: Engine, table: str) -> str | None:
    """The sequence number of the table's newest stream record."""
    arn = engine.call("DescribeTable", {"TableName": table})["Table"]["LatestStreamArn"]
    return engine.streams.wait(arn, "0" * 21, timeout=0)


def write(engine: Engine, table: str, keys: list[str], versions: range) -> list[str]:
    """Put every key at each version, interleaved; the records' sequence numbers."""
    out = []
    for n in versions:
        for key in keys:
            engine.call("PutItem", {"TableName": table, "Item": {"pk": {"S": key}, "n": {"N": str(n)}}})
            out.append(str(newest(engine, table)))
    return out


def versions_of(event: dict[str, Any]) -> list[tuple[str, int]]:
    images = [r["dynamodb"]["NewImage"] for r in event["Records"]]
    return [(image["pk"]["S"], int(image["n"]["N"])) for image in images]


class Concurrent:
    """A handler whose first two invocations must run at once (they meet at a barrier), which checks that no
    key is in two running batches and keeps what it was given."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(2, timeout=10)
        self.calls = 0
        self.running: set[str] = set()
        self.clashes: list[str] = []
        self.threads: set[int] = set()
        self.met = 0
        self.seen: list[tuple[str, int]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        given = versions_of(event)
        keys = {key for key, _ in given}
        with self.lock:
            self.calls += 1
            meet = self.calls <= 2
            self.clashes += sorted(keys & self.running)
            self.running |= keys
            self.threads.add(threading.get_ident())
        if meet:
            self.barrier.wait()  # BrokenBarrierError (a failed batch) unless another batch runs meanwhile
            with self.lock:
                self.met += 1
        with self.lock:
            self.seen += given
            self.running -= keys
        return {"batchItemFailures": []}


def test_factor_four_runs_batches_at_once_and_keeps_each_key_in_order(engine: Engine, one_shard: str) -> None:
    write(engine, one_shard, KEYS, range(8))
    handler = Concurrent()
    runner = LocalRunner(engine, one_shard, handler, batch_size=3, parallelization_factor=4, max_retries=0)
    metrics = runner.run_until_caught_up(30)
    assert handler.met == 2 and len(handler.threads) >= 2  # two batches of one shard overlapped
    assert handler.clashes == []  # a key is never in two running batches
    per_key: dict[str, list[int]] = {}
    for key, n in handler.seen:
        per_key.setdefault(key, []).append(n)
    assert per_key == {key: list(range(8)) for key in KEYS}  # every record once, each key in order
    assert metrics.parked == 0 and metrics.processed == 96
    assert list(runner.positions().values()) == [newest(engine, one_shard)]  # checkpointed to the end


def test_the_checkpoint_waits_for_a_failing_record_while_others_go_on(engine: Engine, one_shard: str) -> None:
    write(engine, one_shard, ["first"], range(1))
    sequence = write(engine, one_shard, ["bad"], range(1))[0]
    write(engine, one_shard, KEYS, range(3))
    release = threading.Event()
    progressed = threading.Condition()
    later: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failed = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]
                  if r["dynamodb"]["Keys"]["pk"]["S"] == "bad" and not release.is_set()]
        with progressed:
            later.extend(r["dynamodb"]["SequenceNumber"] for r in event["Records"]
                         if int(r["dynamodb"]["SequenceNumber"]) > int(sequence))
            progressed.notify_all()
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}

    runner = LocalRunner(engine, one_shard, handler, batch_size=2, parallelization_factor=4, name="par").start()
    stored = Checkpoints(engine, None, f"par|{runner.stream_arn}")
    try:
        with progressed:
            assert progressed.wait_for(lambda: len(later) >= 12, timeout=30)  # other lanes went on
        assert all(int(p.after or 0) < int(sequence) for p in stored.load().values())  # ...the checkpoint not
        release.set()
        runner.run_until_caught_up(30)
    finally:
        runner.stop()
    (point,) = stored.load().values()
    assert point.after == newest(engine, one_shard)
    again: list[str] = []
    LocalRunner(engine, one_shard, lambda e, c: again.extend(r["dynamodb"]["SequenceNumber"] for r in e["Records"]),
                parallelization_factor=4, name="par").run_until_caught_up(30)
    assert again == []  # a restart replays nothing: every record was handled and checkpointed


def test_settings_are_validated(engine: Engine) -> None:
    for bad in (0, 11, 2.5):
        with pytest.raises(ValueError, match="parallelization_factor"):
            LocalRunner(engine, "src", lambda e, c: None, parallelization_factor=bad)  # type: ignore[arg-type]
