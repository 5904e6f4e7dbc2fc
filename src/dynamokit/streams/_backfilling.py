"""Gapless backfill or rebuild of a view from an existing table: the stream is read from a position taken
first, the table is scanned (parallel segments) after; both feed the same processor, merged by version.
Resumable after a kill; the backfill is marked ready once the scan is done and the stream caught up."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from .._engine import Engine
from ..model import App
from ._changes import build
from ._processor import Handler, StreamProcessor, as_processor
from ._runner import LocalRunner
from ._tables import ensure_table

STATE_TABLE = "dynamokit-backfills"
_DONE = "done"


@dataclass(frozen=True)
class BackfillResult:
    """How a backfill ended: items scanned in this run, stream records handled, whether it is ready, and the
    read units its Scan consumed."""

    name: str
    scanned: int
    streamed: int
    ready: bool
    rcu: float = 0.0


class _State:
    """The durable state of one backfill: the version of scanned items and each segment's cursor."""

    def __init__(self, engine: Engine, table: str, name: str) -> None:
        self.engine, self.table, self.key = engine, table, {"pk": {"S": name}, "sk": {"S": "state"}}
        ensure_table(engine, table)
        self.item: dict[str, Any] = engine.call("GetItem", {"TableName": table, "Key": self.key,
                                                            "ConsistentRead": True}).get("Item", {})

    def set(self, **values: Any) -> None:
        wire = {k: {"BOOL": v} if isinstance(v, bool) else {"S": str(v)} for k, v in values.items()}
        self.item.update(wire)
        self.engine.call("PutItem", {"TableName": self.table, "Item": {**self.item, **self.key}})

    def get(self, name: str) -> Any:
        value = self.item.get(name)
        return None if value is None else next(iter(value.values()))


def backfill(engine: Engine, source_table: str, processor_or_projection: StreamProcessor | Handler, *,
             app: App | None = None, name: str | None = None, segments: int = 4, page_size: int = 100,
             state_table: str = STATE_TABLE, checkpoint_table: str | None = None,
             timeout: float | None = None) -> BackfillResult:
    """Backfill (or resume backfilling) a view of `source_table` through a processor or `fn(change)`.

    Scanned items reach the processor as "insert" changes whose `version` lies between the last stream
    record before the backfill started and the first one after, so version-guarded view writes merge the
    scan and the stream correctly. Run it again after a kill to resume; once ready, running it again only
    catches the stream up."""
    processor = as_processor(processor_or_projection, app)
    name = name or f"{source_table}-backfill"
    state = _State(engine, state_table, name)
    runner = LocalRunner(engine, source_table, processor, starting_position="LATEST", name=f"{name}-stream",
                         checkpoint_table=checkpoint_table)
    if state.get("floor") is None:
        floor = min(int(after or 0) for after in runner.positions().values())
        state.set(floor=floor, segments=segments)
    version = Decimal(f"{int(state.get('floor'))}.5")  # exact: arithmetic would round 40-digit numbers
    total = int(state.get("segments"))
    key_names = [k["AttributeName"] for k in
                 engine.call("DescribeTable", {"TableName": source_table})["Table"]["KeySchema"]]
    scanned = [0] * total
    rcu = [0.0] * total
    errors: list[BaseException] = []
    lock = threading.Lock()

    def scan(segment: int) -> None:
        try:
            cursor = state.get(f"c{segment}")
            while cursor != _DONE:
                request: dict[str, Any] = {"TableName": source_table, "Segment": segment, "TotalSegments": total,
                                           "Limit": page_size, "ConsistentRead": True,
                                                    "ReturnConsumedCapacity": "TOTAL"}
                if cursor:
                    request["ExclusiveStartKey"] = orjson.loads(cursor)
                page = engine.call("Scan", request)
                for item in page["Items"]:
                    keys = {k: item[k] for k in key_names}
                    processor.handle(build("insert", source_table, keys, None, item, sequence_number=None,
                                           created_at=engine.clock(), event_id=f"scan|{name}|{orjson.dumps(keys).decode()}",
                                           version=version, app=processor.app))
                scanned[segment] += len(page["Items"])
                rcu[segment] += float(page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
                last = page.get("LastEvaluatedKey")
                cursor = orjson.dumps(last).decode() if last else _DONE
                with lock:
                    state.set(**{f"c{segment}": cursor})
        except BaseException as error:  # noqa: BLE001 - re-raised by the caller's thread
            errors.append(error)

    runner.start()
    try:
        threads = [threading.Thread(target=scan, args=(s,), name=f"backfill-{name}-{s}") for s in range(total)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        runner.run_until_caught_up(timeout)
    finally:
        runner.stop()
    state.set(ready=True)
    return BackfillResult(name, sum(scanned), runner.metrics.processed, True, sum(rcu))
