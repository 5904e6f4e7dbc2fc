"""A Transport wrapper that tallies requests and read/write capacity, and can fail a chosen write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._engine import DynamoDBError
from ..model import Transport

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@dataclass
class Tally:
    """Data-plane requests and the read and write capacity units they consumed."""

    requests: int = 0
    rcu: float = 0.0
    wcu: float = 0.0

    def minus(self, other: Tally) -> Tally:
        return Tally(self.requests - other.requests, self.rcu - other.rcu, self.wcu - other.wcu)


def _units(consumed: Any) -> float:
    if isinstance(consumed, list):
        return sum(_units(c) for c in consumed)
    return float(consumed.get("CapacityUnits", 0.0)) if isinstance(consumed, dict) else 0.0


class Meter:
    """Counts every data-plane call and the capacity it consumed (asking for TOTAL when the caller did not)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.tally = Tally()
        self._writes_left: int | None = None

    def fail_after(self, writes: int | None) -> None:
        """Let `writes` more write requests through, then fail the next one (None: never fail)."""
        self._writes_left = writes

    def snapshot(self) -> Tally:
        return Tally(self.tally.requests, self.tally.rcu, self.tally.wcu)

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation in WRITES and self._writes_left is not None:
            if self._writes_left == 0:
                self._writes_left = None
                raise DynamoDBError("InternalServerError", "injected failure (demo integrity probe)")
            self._writes_left -= 1
        metered = operation in READS or operation in WRITES
        if metered and request.get("ReturnConsumedCapacity", "NONE") == "NONE":  # count every caller's use
            request = {**request, "ReturnConsumedCapacity": "TOTAL"}
        response = self.transport.call(operation, request)
        if metered:
            self.tally.requests += 1
            units = _units(response.get("ConsumedCapacity"))
            if operation in READS:
                self.tally.rcu += units
            else:
                self.tally.wcu += units
        return response
