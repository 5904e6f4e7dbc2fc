"""Request and capacity metering: every call asks for TOTAL consumed capacity and reports to counters."""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ._transport import AsyncTransport, Transport

_METERED = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
_ACTIVE: contextvars.ContextVar[tuple[RequestCounter, ...]] = contextvars.ContextVar(
    "dynamokit_counters", default=()
)


@dataclass
class RequestCounter:
    """Requests and capacity units spent inside a `with app.counter()` block."""

    requests: int = 0
    capacity: float = 0.0
    operations: Counter[str] = field(default_factory=Counter)

    def record(self, operation: str, capacity: float) -> None:
        self.requests += 1
        self.capacity += capacity
        self.operations[operation] += 1


def _units(consumed: Any) -> float:
    if isinstance(consumed, list):
        return sum(_units(c) for c in consumed)
    if isinstance(consumed, dict):
        return float(consumed.get("CapacityUnits", 0.0))
    return 0.0


class Metered:
    """Wraps a Transport: asks for consumed capacity and records each call in the active counters."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation in _METERED:
            request["ReturnConsumedCapacity"] = "TOTAL"
        counters = _ACTIVE.get()
        if not counters:
            return self.transport.call(operation, request)
        try:
            response = self.transport.call(operation, request)
        except Exception:
            _record(counters, operation, None)
            raise
        _record(counters, operation, response)
        return response


class AsyncMetered:
    """Metered for an AsyncTransport (counters follow the task's context across awaits)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self.transport = transport

    async def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation in _METERED:
            request["ReturnConsumedCapacity"] = "TOTAL"
        counters = _ACTIVE.get()
        try:
            response = await self.transport.call(operation, request)
        except Exception:
            _record(counters, operation, None)
            raise
        _record(counters, operation, response)
        return response


def _record(counters: tuple[RequestCounter, ...], operation: str, response: dict[str, Any] | None) -> None:
    units = 0.0 if response is None else _units(response.get("ConsumedCapacity"))
    for counter in counters:
        counter.record(operation, units)


@contextmanager
def counting() -> Iterator[RequestCounter]:
    """Count requests and capacity of every metered call made in this block (nested blocks all count)."""
    counter = RequestCounter()
    token = _ACTIVE.set(_ACTIVE.get() + (counter,))
    try:
        yield counter
    finally:
        _ACTIVE.reset(token)
