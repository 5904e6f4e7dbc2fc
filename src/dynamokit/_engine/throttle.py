"""Throttling by consumed capacity (`Engine(throttling=True)`; off by default, and then never consulted).

Each PROVISIONED table, and each of its GSIs, has a read and a write token bucket filled at its provisioned
units per second and holding at most 300 seconds of them (DynamoDB's burst capacity: unused capacity kept for
five minutes), counted from the table's creation, which starts with one second's units. A request is admitted while the buckets it uses
hold a positive balance, then charged what it consumed (`Engine.charge`), which may take the balance below
zero (a debt the refill pays back first): a large item is never refused for its size alone, and DynamoDB
likewise learns a read's cost only after reading. Otherwise refused with ProvisionedThroughputExceededException.

Simplified: one bucket per table or GSI, not per partition (no hot-key throttling); a write is refused when
the table or any of its GSIs is out of write capacity (DynamoDB's GSI back-pressure); an LSI's consumption
counts against its table; a batch is admitted or refused whole (DynamoDB may instead return some of its
requests as UnprocessedItems/UnprocessedKeys). On-demand tables throttle only at their OnDemandThroughput maximums, or at limits
set with `Throttle.limit` (units or requests per second, without burst). PartiQL statements are not checked
(they are charged). Buckets live in memory, per Engine (`serve --workers` processes each have their own)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .._errors import DynamoDBError

if TYPE_CHECKING:
    from .capacity import Consumed
    from .core import Engine
    from .schema import Table

BURST_SECONDS = 300.0
PROVISIONED_MESSAGE = ("The level of configured provisioned throughput for the table was exceeded. "
                       "Consider increasing your provisioning level with the UpdateTable API.")
ON_DEMAND_MESSAGE = "Throughput exceeds the maximum OnDemandThroughput configured on table or index"

READS = frozenset(("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"))
WRITES = frozenset(("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"))


class Bucket:
    """Tokens filled at `rate` per second, holding at most `burst` seconds of them; may go negative (debt)."""

    __slots__ = ("at", "burst", "rate", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, rate, now

    def refill(self, rate: float, now: float) -> float:
        """The balance at `now` (at the current `rate`, as UpdateTable may have changed it)."""
        self.rate = rate
        if now > self.at:
            self.tokens = min(max(rate * self.burst, rate), self.tokens + rate * (now - self.at))
        self.at = max(self.at, now)
        return self.tokens


class Limit:
    """A throttle set on a table by hand: read and write units, and/or requests, per second (no burst)."""

    __slots__ = ("reads", "requests", "writes")

    def __init__(self, reads: float | None, writes: float | None, requests: float | None) -> None:
        self.reads, self.writes, self.requests = reads, writes, requests


class Throttle:
    """The token buckets of one engine's tables and GSIs (see the module's docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.limits: dict[str, Limit] = {}
        self._buckets: dict[tuple[int, str | None, str], Bucket] = {}
        self._lock = threading.Lock()

    def limit(self, table: str, *, reads: float | None = None, writes: float | None = None,
              requests: float | None = None) -> None:
        """Throttle `table` (any billing mode) at these rates per second; all None removes the limit."""
        if reads is None and writes is None and requests is None:
            self.limits.pop(table, None)
        else:
            self.limits[table] = Limit(reads, writes, requests)

    # -- admission, before the operation runs ---------------------------------------------------------
    def admit(self, operation: str, request: dict[str, Any]) -> None:
        """Refuse `request` if a table or index it uses is out of capacity."""
        kind = "read" if operation in READS else "write" if operation in WRITES else None
        if kind is None:
            return
        for name, index in uses(operation, request):
            try:
                table = self.engine.table(name)
            except DynamoDBError:
                continue  # the operation itself answers that error
            self._admit(table, index, kind)

    def _admit(self, table: Table, index: str | None, kind: str) -> None:
        now = self.engine.clock()
        limit = self.limits.get(table.name)
        with self._lock:
            if limit is not None and limit.requests is not None:
                bucket = self._bucket(table, None, "requests", limit.requests, 1.0, now)
                if bucket.refill(limit.requests, now) < 1:
                    raise _error(ON_DEMAND_MESSAGE)
                bucket.tokens -= 1
            if kind == "write":
                names: list[str | None] = [None] + [n for n, i in table.indexes.items() if i.is_global]
            else:
                names = [index if index in table.indexes and table.indexes[index].is_global else None]
            for name in names:
                rate, burst, message = self._rate(table, name, kind, limit)
                if rate is not None and self._bucket(table, name, kind, rate, burst, now).refill(rate, now) <= 0:
                    raise _error(message)

    # -- charging, after it ran -------------------------------------------------------------------------
    def charge(self, table: Table, consumed: Consumed) -> None:
        """Take what a request consumed from its buckets (an LSI's units from its table's)."""
        kind = "write" if consumed.is_write else "read"
        charges: dict[str | None, float] = {None: consumed.table}
        for name, (is_global, units) in consumed.indexes.items():
            key = name if is_global else None
            charges[key] = charges.get(key, 0.0) + units
        now = self.engine.clock()
        limit = self.limits.get(table.name)
        with self._lock:
            for index, units in charges.items():
                rate, burst, _ = self._rate(table, index, kind, limit)
                if rate is not None:
                    bucket = self._bucket(table, index, kind, rate, burst, now)
                    bucket.refill(rate, now)
                    bucket.tokens -= units

    # -- rates ---------------------------------------------------------------------------------------------
    def _rate(self, table: Table, index: str | None, kind: str,
              limit: Limit | None) -> tuple[float | None, float, str]:
        """Units per second of `table` (or its GSI `index`) for `kind`, seconds of burst, and the error message;
        None when unlimited."""
        if limit is not None:
            rate = limit.reads if kind == "read" else limit.writes
            if rate is not None:
                return rate, 1.0, ON_DEMAND_MESSAGE
        description = table.description
        if index is not None:
            description = next((g for g in description.get("GlobalSecondaryIndexes", ())
                                if g["IndexName"] == index), {})
        field = "ReadCapacityUnits" if kind == "read" else "WriteCapacityUnits"
        billing = table.description.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        if billing == "PROVISIONED":
            units = description.get("ProvisionedThroughput", {}).get(field)
            if units:
                return float(units), BURST_SECONDS, PROVISIONED_MESSAGE
            return None, 0.0, ""
        most = description.get("OnDemandThroughput", {}).get(
            "MaxReadRequestUnits" if kind == "read" else "MaxWriteRequestUnits", -1)
        if most is not None and most > 0:
            return float(most), 1.0, ON_DEMAND_MESSAGE
        return None, 0.0, ""

    def _bucket(self, table: Table, index: str | None, kind: str, rate: float, burst: float, now: float) -> Bucket:
        key = (table.tid, index, kind)
        bucket = self._buckets.get(key)
        if bucket is None:
            created = table.description.get("CreationDateTime")
            start = min(float(created), now) if isinstance(created, (int, float)) and burst > 1 else now
            bucket = self._buckets[key] = Bucket(rate, burst, start)
        bucket.burst = burst
        return bucket


def _error(message: str) -> DynamoDBError:
    return DynamoDBError("ProvisionedThroughputExceededException", message)


def uses(operation: str, request: dict[str, Any]) -> list[tuple[Any, str | None]]:
    """The (table name, index name) pairs `request` reads or writes."""
    if operation in ("BatchGetItem", "BatchWriteItem"):
        items = request.get("RequestItems")
        return [(name, None) for name in items] if isinstance(items, dict) else []
    if operation in ("TransactGetItems", "TransactWriteItems"):
        found: list[tuple[Any, str | None]] = []
        for action in request.get("TransactItems") or ():
            if isinstance(action, dict):
                for body in action.values():
                    if isinstance(body, dict) and (body.get("TableName"), None) not in found:
                        found.append((body.get("TableName"), None))
        return found
    index = request.get("IndexName")
    return [(request.get("TableName"), index if isinstance(index, str) else None)]
