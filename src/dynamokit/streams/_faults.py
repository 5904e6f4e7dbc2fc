"""Fault injection for tests of stream handlers: duplicates, late redelivery of earlier batches, reordering
across keys, transient failures and crashes between a handler's effect and the runner's checkpoint (shard rollovers come from the engine's
clock and `engine.streams.shard_period`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ._events import unwrap

LambdaHandler = Callable[[dict[str, Any], Any], Any]


class Crash(BaseException):
    """A simulated process crash: a BaseException, so no retry logic catches it; restart the runner."""


class InjectedFailure(Exception):
    """A simulated transient handler error (raised before any effect)."""


def _key(record: dict[str, Any]) -> bytes:
    inner, _ = unwrap(record)
    return orjson.dumps(inner["dynamodb"]["Keys"], option=orjson.OPT_SORT_KEYS)


@dataclass
class Faults:
    """Wraps a Lambda-style handler; each delivery draws, from `seed`, whether to first redeliver an earlier
    batch (an at-least-once duplicate arriving late), reorder the batch across keys (each key's records
    keep their order), fail before any effect, deliver twice, or crash after applying a prefix of the batch
    (before the checkpoint)."""

    seed: int
    reorder: float = 0.3
    fail: float = 0.1
    duplicate: float = 0.1
    crash: float = 0.05
    late: float = 0.1
    injected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("late", "reorder", "fail", "duplicate", "crash"), 0))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.history: list[dict[str, Any]] = []  # recent events, for late redelivery

    def _draw(self, fault: str, probability: float) -> bool:
        hit = self.rng.random() < probability
        self.injected[fault] += hit
        return hit

    def interleave(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A random merge of the per-key sequences of `records`."""
        queues: dict[bytes, list[dict[str, Any]]] = {}
        for record in records:
            queues.setdefault(_key(record), []).append(record)
        lanes = [q[::-1] for q in queues.values()]
        out = []
        while lanes:
            lane = self.rng.choice(lanes)
            out.append(lane.pop())
            if not lane:
                lanes.remove(lane)
        return out

    def wrap(self, handler: LambdaHandler) -> LambdaHandler:
        def faulty(event: dict[str, Any], context: Any = None) -> Any:
            if self.history and self._draw("late", self.late):
                handler(self.rng.choice(self.history), context)
            self.history = [*self.history[-19:], event]
            records = list(event["Records"])
            if self._draw("reorder", self.reorder):
                records = self.interleave(records)
            if self._draw("fail", self.fail):
                raise InjectedFailure("injected failure")
            if self._draw("crash", self.crash):
                handler({**event, "Records": records[:self.rng.randrange(len(records) + 1)]}, context)
                raise Crash("injected crash between effect and checkpoint")
            response = handler({**event, "Records": records}, context)
            if self._draw("duplicate", self.duplicate):
                response = handler({**event, "Records": records}, context)
            return response

        return faulty
