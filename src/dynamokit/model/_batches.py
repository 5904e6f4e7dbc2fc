"""BatchGetItem / BatchWriteItem with chunking, exponential backoff with full jitter, and a retry cap."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._steps import Steps, call, sleep
from ._values import Item

GET_CHUNK, WRITE_CHUNK = 100, 25


@dataclass
class Backoff:
    """Retry delays: attempt n sleeps uniform(0, min(cap, base * 2**n)); gives up after `attempts` retries."""

    base: float = 0.05
    cap: float = 2.0
    attempts: int = 8
    sleep: Callable[[float], None] = field(default=time.sleep)
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        return float(self.jitter() * min(self.cap, self.base * 2**attempt))

    def wait(self, attempt: int) -> None:
        self.sleep(self.delay(attempt))


def _chunks(pairs: list[tuple[str, Any]], size: int) -> list[dict[str, list[Any]]]:
    out: list[dict[str, list[Any]]] = []
    for start in range(0, len(pairs), size):
        chunk: dict[str, list[Any]] = {}
        for table, entry in pairs[start : start + size]:
            chunk.setdefault(table, []).append(entry)
        out.append(chunk)
    return out


def batch_get(
    keys: list[tuple[str, Item]], backoff: Backoff, consistent: bool = False
) -> Steps[tuple[dict[str, list[Item]], list[tuple[str, Item]]]]:
    """Read keys (table, key) in chunks of 100; returns items by table and the keys left unprocessed."""
    found: dict[str, list[Item]] = {}
    left: list[tuple[str, Item]] = []
    for chunk in _chunks(keys, GET_CHUNK):
        pending: dict[str, Any] = {t: {"Keys": ks, "ConsistentRead": consistent} for t, ks in chunk.items()}
        for attempt in range(backoff.attempts + 1):
            response = yield from call("BatchGetItem", {"RequestItems": pending})
            for table, items in response.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            pending = response.get("UnprocessedKeys") or {}
            if not pending or attempt == backoff.attempts:
                break
            yield from sleep(backoff.delay(attempt), backoff.sleep)
        left += [(t, k) for t, entry in pending.items() for k in entry["Keys"]]
    return found, left


def batch_write(
    writes: list[tuple[str, dict[str, Any]]], backoff: Backoff
) -> Steps[list[tuple[str, dict[str, Any]]]]:
    """Write (table, PutRequest/DeleteRequest) pairs in chunks of 25; returns those left unprocessed."""
    left: list[tuple[str, dict[str, Any]]] = []
    for chunk in _chunks(writes, WRITE_CHUNK):
        pending: dict[str, Any] = chunk
        for attempt in range(backoff.attempts + 1):
            response = yield from call("BatchWriteItem", {"RequestItems": pending})
            pending = response.get("UnprocessedItems") or {}
            if not pending or attempt == backoff.attempts:
                break
            yield from sleep(backoff.delay(attempt), backoff.sleep)
        left += [(t, w) for t, entries in pending.items() for w in entries]
    return left
