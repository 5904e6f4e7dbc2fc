"""Tumbling windows: aligned windows on the engine's clock, state carried between invocations, a final
invoke at the window's end, checkpoints held until it succeeds, and early termination of oversized state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.streams import LocalRunner

from ..conftest import START
from .conftest import Clock, create_source

WINDOW = 60
FIRST = START - START % WINDOW  # the window holding START, aligned to the epoch


@pytest.fixture
def table(engine: Engine) -> str:
    """A table whose stream has one shard, so there is one window state at a time."""
    engine.streams.shard_count = 1
    create_source(engine, "one")
    return "one"


def put(engine: Engine, table: str, key: str, n: int) -> None:
    engine.call("PutItem", {"TableName": table, "Item": {"pk": {"S": key}, "n": {"N": str(n)}}})


class Summer:
    """A windowed handler summing `n` per window; keeps every event it was given."""

    def __init__(self, respond: bool = True) -> None:
        self.events: list[dict[str, Any]] = []
        self.respond = respond

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(json.loads(json.dumps(event)))
        state = event["state"]
        for record in event["Records"]:
            state["sum"] = state.get("sum", 0) + int(record["dynamodb"]["NewImage"]["n"]["N"])
            state["count"] = state.get("count", 0) + 1
        return {"state": state, "batchItemFailures": []} if self.respond else {"batchItemFailures": []}

    @property
    def finals(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["isFinalInvokeForWindow"]]


def iso(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_state_is_carried_through_the_window_and_handed_over_at_its_end(engine: Engine, clock: Clock,
                                                                         table: str) -> None:
    clock.now = FIRST + 5
    for n in (1, 2, 3):
        put(engine, table, f"k{n}", n)
    clock.advance(30)
    put(engine, table, "k4", 4)
    handler = Summer()
    runner = LocalRunner(engine, table, handler, batch_size=2, tumbling_window=WINDOW)
    runner.run_until_caught_up(10)
    assert [len(e["Records"]) for e in handler.events] == [2, 2] and handler.finals == []
    first, second = handler.events
    assert first["window"] == second["window"] == {"start": iso(FIRST), "end": iso(FIRST + WINDOW)}
    assert first["state"] == {} and second["state"] == {"sum": 3, "count": 2}
    assert first["shardId"] and first["eventSourceARN"] == runner.stream_arn
    assert first["isWindowTerminatedEarly"] is False

    clock.now = FIRST + WINDOW  # the window has ended: its final invoke carries the whole state, no records
    runner.run_until_caught_up(10)
    (final,) = handler.finals
    assert final["Records"] == [] and final["state"] == {"sum": 10, "count": 4}
    assert final["window"]["start"] == iso(FIRST)

    put(engine, table, "k5", 5)  # the next window starts with a fresh state
    runner.run_until_caught_up(10)
    assert handler.events[-1]["state"] == {} and handler.events[-1]["window"]["start"] == iso(FIRST + WINDOW)


def test_a_later_window_record_closes_the_window_before_it_is_delivered(engine: Engine, clock: Clock,
                                                                        table: str) -> None:
    clock.now = FIRST + 50
    put(engine, table, "a", 1)
    clock.advance(20)  # the next window
    put(engine, table, "b", 2)
    handler = Summer()
    LocalRunner(engine, table, handler, tumbling_window=WINDOW).run_until_caught_up(10)
    shapes = [(e["window"]["start"], len(e["Records"]), e["isFinalInvokeForWindow"], e["state"])
              for e in handler.events]
    assert shapes == [(iso(FIRST), 1, False, {}), (iso(FIRST), 0, True, {"sum": 1, "count": 1}),
                      (iso(FIRST + WINDOW), 1, False, {})]


def test_a_restart_mid_window_rebuilds_the_state_from_the_checkpoint(engine: Engine, clock: Clock,
                                                                     table: str) -> None:
    clock.now = FIRST + 1
    put(engine, table, "a", 1)
    put(engine, table, "b", 2)
    LocalRunner(engine, table, Summer(), tumbling_window=WINDOW, name="w").run_until_caught_up(10)
    clock.now = FIRST + WINDOW + 1  # the first runner stopped before the window ended
    handler = Summer()
    LocalRunner(engine, table, handler, tumbling_window=WINDOW, name="w").run_until_caught_up(10)
    assert [e["Records"] != [] for e in handler.events] == [True, False]  # redelivered, then the final
    assert handler.finals[0]["state"] == {"sum": 3, "count": 2}
    again = Summer()
    LocalRunner(engine, table, again, tumbling_window=WINDOW, name="w").run_until_caught_up(10)
    assert again.events == []  # checkpointed once the final invoke succeeded


def test_an_oversized_state_ends_the_window_early(engine: Engine, clock: Clock, table: str) -> None:
    clock.now = FIRST
    put(engine, table, "a", 1)
    put(engine, table, "b", 2)
    events: list[tuple[bool, bool, int, int]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append((event["isFinalInvokeForWindow"], event["isWindowTerminatedEarly"], len(event["Records"]),
                       len(json.dumps(event["state"]))))
        big = event["Records"] and not event["state"]
        return {"state": {"blob": "x" * (1 << 20)} if big else {}}

    LocalRunner(engine, table, handler, batch_size=1, tumbling_window=WINDOW).run_until_caught_up(10)
    assert [e[:3] for e in events] == [(False, False, 1), (True, True, 0), (False, False, 1),
                                       (True, True, 0)]
    assert events[1][3] > 1 << 20 and events[2][3] == 2  # the same window goes on with a fresh state


def test_a_response_without_state_is_a_failed_invocation(engine: Engine, clock: Clock, table: str) -> None:
    clock.now = FIRST
    put(engine, table, "a", 1)
    runner = LocalRunner(engine, table, Summer(respond=False), tumbling_window=WINDOW, max_retries=1,
                         on_failure_table="parked")
    runner.run_until_caught_up(10)
    assert runner.metrics.parked == 1 and runner.metrics.processed == 0


def test_window_length_is_validated(engine: Engine) -> None:
    for bad in (-1, 901, 1.5):
        with pytest.raises(ValueError, match="tumbling_window"):
            LocalRunner(engine, "src", Summer(), tumbling_window=bad)  # type: ignore[arg-type]


def test_each_shard_has_its_own_state_and_a_closed_shard_ends_its_windows(engine: Engine, clock: Clock) -> None:
    engine.streams.shard_period = 30
    clock.now = FIRST + 2 * WINDOW
    put(engine, "src", "a", 1)
    clock.advance(40)  # the shards roll over within the window: "a" goes on in a child shard
    put(engine, "src", "a", 2)
    handler = Summer()
    LocalRunner(engine, "src", handler, tumbling_window=WINDOW).run_until_caught_up(10)
    shapes = [(len(e["Records"]), e["isFinalInvokeForWindow"], e["state"]) for e in handler.events]
    assert shapes == [(1, False, {}), (0, True, {"sum": 1, "count": 1}), (1, False, {})]
    assert handler.events[0]["shardId"] != handler.events[2]["shardId"]
    assert {e["window"]["start"] for e in handler.events} == {iso(FIRST + 2 * WINDOW)}
