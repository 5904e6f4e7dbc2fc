"""A runner feeding Views: one view request per batch, each key in order under lanes, a failing record isolated
while the others are applied exactly once, and a crash after a view commit resumed from the checkpoints."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.streams import Change, LocalRunner, StreamProcessor, View
from dynamokit.streams._faults import Crash

from .conftest import create_source

KEYS = [f"k{i:02d}" for i in range(12)]
BIG = "x" * 150_000  # an item of three of these is over DynamoDB's 400 KB


class Recording:
    """The engine as a Transport, keeping the operation of every call (and able to crash once after the Nth
    TransactWriteItems has committed)."""

    def __init__(self, engine: Engine, crash_after: int | None = None) -> None:
        self.engine, self.crash_after = engine, crash_after
        self.calls: list[str] = []

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        response = self.engine.call(operation, request)
        self.calls.append(operation)
        if operation == "TransactWriteItems" and self.calls.count(operation) == self.crash_after:
            raise Crash("died after the view commit, before the checkpoint")
        return response


class Projection:
    """Each change's `n` upserted into a View (version-guarded) and, when `counting`, counted once per event
    (an exact counter); notes the versions of each key in the order its handler sees them."""

    def __init__(self, view: View, fail: tuple[str, int] | None = None, counting: bool = True) -> None:
        self.view, self.fail, self.counting = view, fail, counting
        self.processor = StreamProcessor(ordering="per_key")
        self.processor.on("*")(self.project)
        self.seen: dict[str, list[int]] = {}
        self.lock = threading.Lock()

    def project(self, change: Change[Any]) -> None:
        key, n = change.keys["pk"], int(change.new["n"])
        with self.lock:
            self.seen.setdefault(key, []).append(n)
        blob = {"blob": change.new["blob"] * 3} if "blob" in change.new else {}
        self.view.upsert({"pk": key, "sk": "-"}, {"n": n, **blob}, change.version)
        if self.counting:
            self.view.add({"pk": key, "sk": "count"}, "count", 1, change.event_id)
        if (key, n) == self.fail:
            raise ValueError("handler failed after writing")  # its deferred writes are dropped

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        """As a function that errors when any record failed (so Lambda bisects the batch)."""
        response = self.processor.lambda_handler(event, context)
        if response["batchItemFailures"]:
            raise RuntimeError(f"{len(response['batchItemFailures'])} record(s) failed")
        return response


def write(engine: Engine, table: str, keys: list[str], versions: range, extra: dict[tuple[str, int], Any]) -> None:
    for n in versions:
        for key in keys:
            item = {"pk": {"S": key}, "n": {"N": str(n)}, **extra.get((key, n), {})}
            engine.call("PutItem", {"TableName": table, "Item": item})


def state(view: View, keys: list[str]) -> dict[str, tuple[int, int]]:
    """Each key's (n, count) in the view."""
    out = {}
    for key in keys:
        item, counter = view.get({"pk": key, "sk": "-"}), view.get({"pk": key, "sk": "count"})
        out[key] = (int(item["n"]) if item else -1, int(counter["count"]) if counter else 0)
    return out


def test_one_view_request_per_batch_and_each_key_in_order_on_four_lanes(engine: Engine) -> None:
    engine.streams.shard_count = 1
    create_source(engine, "one")
    write(engine, "one", KEYS, range(8), {})
    transport = Recording(engine)
    projection = Projection(View(transport, "views"), counting=False)
    runner = LocalRunner(engine, "one", projection, batch_size=10, parallelization_factor=4)
    metrics = runner.run_until_caught_up(30)
    assert projection.seen == {key: list(range(8)) for key in KEYS}  # every record once, each key in order
    assert state(projection.view, KEYS) == {key: (7, 0) for key in KEYS}
    writes = [c for c in transport.calls if c in ("PutItem", "TransactWriteItems")]
    assert len(writes) == metrics.batches  # one request per batch, not one per record
    assert list(runner.positions().values()) == [engine.streams.wait(runner.stream_arn, "0" * 21, timeout=0)]


def test_a_failing_record_is_isolated_and_the_others_are_applied_once(engine: Engine, view: View) -> None:
    oversized = {("k05", 2): {"blob": {"S": BIG}}}  # its view write fails at commit (over 400 KB)
    write(engine, "src", KEYS, range(3), oversized)
    projection = Projection(view, fail=("k03", 1))  # its handler fails after writing
    runner = LocalRunner(engine, "src", projection, bisect_on_error=True, max_retries=0, on_failure_table="parked")
    runner.run_until_caught_up(30)
    parked = engine.call("Scan", {"TableName": "parked"})["Items"]
    records = [json.loads(p["record"]["S"])["dynamodb"] for p in parked]
    assert sorted((r["Keys"]["pk"]["S"], int(r["NewImage"]["n"]["N"])) for r in records) == [("k03", 1), ("k05", 2)]
    expected = {key: (2, 3) for key in KEYS} | {"k03": (2, 2), "k05": (1, 2)}  # the failed ones never counted
    assert state(view, KEYS) == expected  # replays of bisected halves counted nothing twice


def test_a_crash_after_a_view_commit_resumes_from_the_checkpoints(engine: Engine) -> None:
    write(engine, "src", KEYS, range(6), {})
    crashing = Recording(engine, crash_after=3)
    first = Projection(View(crashing, "views"))
    with pytest.raises(Crash):
        LocalRunner(engine, "src", first, batch_size=5, parallelization_factor=2, name="v").run_until_caught_up(30)
    again = Projection(View(engine, "views"))
    LocalRunner(engine, "src", again, batch_size=5, parallelization_factor=2, name="v").run_until_caught_up(30)
    assert state(again.view, KEYS) == {key: (5, 6) for key in KEYS}  # nothing lost, nothing counted twice
    for key in KEYS:  # the restart went on from the checkpoint: each key in order, from where it stood
        resumed = again.seen.get(key, [])
        assert resumed == sorted(resumed) and resumed[-1:] == [5]
        assert set(first.seen.get(key, [])) | set(resumed) == set(range(6))
