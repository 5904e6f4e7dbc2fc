"""What a run does beyond its requests, on the engine behind the transport: build a view with the gapless
stream backfill (`BuildView`), and read the write units DynamoDB's own backfill of a new GSI consumed."""

from __future__ import annotations

import inspect
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._steps import Steps, call
from ._changes import BuildView, MigrationError

if TYPE_CHECKING:
    from ..._engine import Engine

BUILD_VIEW = "__build_view__"  # a pseudo-operation: {"view": BuildView} -> ViewRun
INDEX_WCU = "__online_index_wcu__"  # a pseudo-operation: {"table", "index"} -> float | None
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@dataclass
class ViewRun:
    """A view built by a run: source items scanned (and the scan's RCU), stream records handled, view writes
    and their WCU (as the responses reported them)."""

    name: str
    scanned: int
    rcu: float
    streamed: int
    writes: int
    wcu: float
    seconds: float

    def __str__(self) -> str:
        return (
            f"view '{self.name}' ready: scanned {self.scanned:,} items ({self.rcu:,.0f} RCU) + {self.streamed:,} "
            f"stream records, "
            f"{self.writes:,} view writes ({self.wcu:,.0f} WCU) in {self.seconds:.1f}s"
        )


def engine_of(transport: Any) -> Engine | None:
    """The embedded Engine behind a transport and its wrappers (each keeps the next as `.transport`)."""
    from ..._engine import Engine

    for _ in range(8):
        if isinstance(transport, Engine):
            return transport
        transport = getattr(transport, "transport", None)
    return None


def online_index_wcu(transport: Any, table: str, index: str) -> float | None:
    """The WCU the backfill of a GSI created with UpdateTable consumed, as the engine meters it; None over
    another endpoint (DynamoDB reports it only in CloudWatch, as OnlineIndexConsumedWriteCapacity)."""
    engine = engine_of(transport)
    return None if engine is None else engine.online_index_wcu(table, index)


def measured(table: str, index: str) -> Steps[float | None]:
    result: float | None = yield INDEX_WCU, {"table": table, "index": index}
    return result


def build(view: BuildView) -> Steps[ViewRun]:
    result: ViewRun = yield BUILD_VIEW, {"view": view}
    return result


class Counting:
    """A Transport counting the writes sent through it and the write units they consumed."""

    def __init__(self, transport: Any) -> None:
        self.transport, self.writes, self.wcu, self.lock = transport, 0, 0.0, threading.Lock()

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation not in _WRITES:
            return dict(self.transport.call(operation, request))
        request.setdefault("ReturnConsumedCapacity", "TOTAL")
        response = dict(self.transport.call(operation, request))
        consumed = response.get("ConsumedCapacity") or []
        with self.lock:
            self.writes += len(request.get("TransactItems", ())) or 1
            for part in consumed if isinstance(consumed, list) else [consumed]:
                self.wcu += float(part.get("CapacityUnits", 0.0))
        return response


def build_view(transport: Any, view: BuildView) -> ViewRun:
    """Backfill (or resume backfilling) `view` from its source table and stream (the embedded engine's)."""
    from ...streams._backfilling import backfill

    engine = engine_of(transport)
    if engine is None:
        raise MigrationError(
            f"building view '{view.entity.entity_name()}' reads table '{view.source}''s stream through the "
            f"embedded engine: run it with --db (against DynamoDB, run dynamokit.streams.backfill on the stream)"
        )
    counting = Counting(engine if inspect.iscoroutinefunction(transport.call) else transport)
    started = time.perf_counter()
    done = backfill(engine, view.source, view.processor(counting), name=view.name, segments=view.segments)
    return ViewRun(
        view.entity.entity_name(),
        done.scanned,
        done.rcu,
        done.streamed,
        counting.writes,
        counting.wcu,
        time.perf_counter() - started,
    )


def view_state(view: BuildView) -> Steps[str]:
    """Where a view's backfill stands: 'ready', 'building (k/n segments scanned)' or 'not started'."""
    from ..._errors import DynamoDBError
    from ...streams._backfilling import STATE_TABLE

    try:
        response = yield from call(
            "GetItem",
            {
                "TableName": STATE_TABLE,
                "Key": {"pk": {"S": view.name}, "sk": {"S": "state"}},
                "ConsistentRead": True,
            },
        )
    except DynamoDBError as error:
        if error.code != "ResourceNotFoundException":
            raise
        response = {}
    item = response.get("Item")
    if item is None:
        return "not started"
    if item.get("ready", {}).get("BOOL"):
        return "ready"
    segments = int(item.get("segments", {}).get("S", "0"))
    scanned = sum(1 for n in range(segments) if item.get(f"c{n}", {}).get("S") == "done")
    return f"building ({scanned}/{segments} segments scanned)"
