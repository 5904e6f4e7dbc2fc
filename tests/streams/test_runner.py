"""The local event-source runner: Lambda's event source mapping settings, lineage and durable checkpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.streams import LocalRunner, Metrics

from .conftest import Clock


def put(engine: Engine, pk: str, **values: Any) -> None:
    item = {"pk": {"S": pk}, **{k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in values.items()}}
    engine.call("PutItem", {"TableName": "src", "Item": item})


class Recorder:
    """A Lambda handler that records what it is given and can fail on chosen keys."""

    def __init__(self, fail: set[str] | None = None, partial: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail, self.partial = fail or set(), partial

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        self.batches.append(keys)
        bad = [r for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] in self.fail]
        if bad and self.partial:
            return {"batchItemFailures": [{"itemIdentifier": bad[0]["dynamodb"]["SequenceNumber"]}]}
        if bad:
            raise RuntimeError("bad record")
        return {"batchItemFailures": []}

    @property
    def seen(self) -> list[str]:
        return [k for b in self.batches for k in b]


def test_batches_and_restart_without_replay(engine: Engine) -> None:
    for i in range(25):
        put(engine, f"k{i:02d}", n=i)
    first = Recorder()
    LocalRunner(engine, "src", first, batch_size=10).run_until_caught_up(5)
    assert sorted(first.seen) == [f"k{i:02d}" for i in range(25)]
    assert max(len(b) for b in first.batches) <= 10
    put(engine, "late", n=1)
    again = Recorder()
    LocalRunner(engine, "src", again, batch_size=10).run_until_caught_up(5)  # a restart: same name
    assert again.seen == ["late"]


def test_follows_shard_lineage_in_order(engine: Engine, clock: Clock) -> None:
    engine.streams.shard_period = 60
    for n in range(6):
        put(engine, "a", n=n)
        clock.advance(45)
    seen: list[int] = []
    runner = LocalRunner(engine, "src", lambda e, c: seen.extend(
        int(r["dynamodb"]["NewImage"]["n"]["N"]) for r in e["Records"]), batch_size=2)
    runner.run_until_caught_up(5)
    assert seen == list(range(6))


def test_partial_failure_retries_from_the_failed_record(engine: Engine) -> None:
    for pk in ("a", "b", "c"):
        put(engine, pk)
    handler = Recorder(fail={"b"}, partial=True)
    runner = LocalRunner(engine, "src", handler, max_retries=2, on_failure_table="parked")
    runner.run_until_caught_up(5)
    order = sorted(handler.seen[:3])
    assert order == ["a", "b", "c"]
    assert runner.metrics.parked >= 1 and runner.metrics.retries == 3
    parked = engine.call("Scan", {"TableName": "parked"})["Items"]
    assert {json.loads(p["record"]["S"])["dynamodb"]["Keys"]["pk"]["S"] for p in parked} <= {"b", "c"}
    assert any(json.loads(p["record"]["S"])["dynamodb"]["Keys"]["pk"]["S"] == "b" for p in parked)


def test_bisect_isolates_the_bad_record(engine: Engine) -> None:
    for i in range(8):
        put(engine, f"k{i}")
    handler = Recorder(fail={"k5"})
    runner = LocalRunner(engine, "src", handler, bisect_on_error=True, max_retries=0, on_failure_table="parked")
    runner.run_until_caught_up(5)
    parked = engine.call("Scan", {"TableName": "parked"})["Items"]
    assert [json.loads(p["record"]["S"])["dynamodb"]["Keys"]["pk"]["S"] for p in parked] == ["k5"]
    assert runner.metrics.processed == 7


def test_filter_criteria_and_record_age(engine: Engine, clock: Clock) -> None:
    put(engine, "old", kind="x")
    clock.advance(120)
    put(engine, "keep", kind="x")
    put(engine, "drop", kind="y")
    engine.call("DeleteItem", {"TableName": "src", "Key": {"pk": {"S": "keep"}}})
    handler = Recorder()
    criteria = {"Filters": [{"Pattern": json.dumps({"dynamodb": {"NewImage": {"kind": {"S": ["x"]}}}})}]}
    runner = LocalRunner(engine, "src", handler, filter_criteria=criteria, max_record_age=60)
    runner.run_until_caught_up(5)
    assert handler.seen == ["keep"]  # REMOVE dropped by the NewImage filter, "old" too old
    assert runner.metrics.filtered == 2 and runner.metrics.parked == 1


def test_latest_starts_now_and_keeps_its_position(engine: Engine) -> None:
    put(engine, "before")
    handler = Recorder()
    runner = LocalRunner(engine, "src", handler, starting_position="LATEST")
    runner.positions()
    put(engine, "after1")
    LocalRunner(engine, "src", handler, starting_position="LATEST").run_until_caught_up(5)  # restarted
    assert handler.seen == ["after1"]


def test_background_runner_lag_and_watermark(engine: Engine) -> None:
    real = Engine()
    real.call("CreateTable", {"TableName": "src", "BillingMode": "PAY_PER_REQUEST",
                              "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                              "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                              "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}})
    handler = Recorder()
    runner = LocalRunner(real, "src", handler).start()
    try:
        for i in range(50):
            put(real, f"k{i}")
        runner.run_until_caught_up(5)
    finally:
        runner.stop()
        real.close()
    metrics = runner.metrics.snapshot()
    assert metrics["processed"] == 50 and metrics["watermark"] is not None
    assert metrics["lag_p50_ms"] < 1000


def test_settings_are_validated(engine: Engine) -> None:
    with pytest.raises(ValueError):
        LocalRunner(engine, "src", Recorder(), batch_size=0)
    with pytest.raises(ValueError):
        LocalRunner(engine, "views", Recorder())  # no stream


def test_runner_reused_after_a_crash_mid_batch_loses_nothing(engine: Engine) -> None:
    """A crash escaping a batch must not skip it: the same runner, run again, re-reads from its checkpoint."""
    from dynamokit.streams._faults import Crash

    for i in range(12):
        put(engine, f"k{i:02d}", n=i)
    handled: list[str] = []
    crashes = [True]

    def handler(event: dict[str, Any], context: Any) -> Any:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        if "k05" in keys and crashes:
            crashes.pop()
            raise Crash("process died mid-batch")
        handled.extend(keys)
        return {"batchItemFailures": []}

    runner = LocalRunner(engine, "src", handler, batch_size=4)
    with pytest.raises(Crash):
        runner.run_until_caught_up(5)
    runner.run_until_caught_up(5)
    assert sorted(set(handled)) == [f"k{i:02d}" for i in range(12)]


def test_fresh_metrics_assigned_to_a_runner_count_what_follows(engine: Engine) -> None:
    """`runner.metrics = Metrics()` starts the counts anew (the demo does so after its load): the records
    handled afterwards are counted in the new object, not in one the runner no longer shows."""
    handler = Recorder()
    runner = LocalRunner(engine, "src", handler)
    put(engine, "a", n=1)
    runner.run_until_caught_up(5)
    runner.metrics = fresh = Metrics()
    put(engine, "b", n=2)
    runner.run_until_caught_up(5)
    assert handler.seen == ["a", "b"] and runner.metrics is fresh and fresh.processed == 1
