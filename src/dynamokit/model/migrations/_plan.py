"""Plan before you run: per table, what changes, items affected, capacity, on-demand cost, patterns that
are incomplete until the run ends; `status`: where each table and its run stand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..._errors import DynamoDBError
from .._steps import Steps, call, run_sync
from .._table import Table
from .._transport import Transport
from ._changes import BuildView, Chain, Migration
from ._runner import chain_of, pending_filter
from ._state import STATE_TABLE, Checkpoint, read_checkpoints, read_parked, read_run
from ._survey import Survey, survey
from ._views import view_state

if TYPE_CHECKING:
    from .._app import App

READ_PRICE = 0.125  # USD per million read request units, on demand (us-east-1, standard table class)
WRITE_PRICE = 0.625  # USD per million write request units


@dataclass
class TablePlan:
    """One table's migration: the survey and its estimates."""

    survey: Survey
    items: int = 0  # items to rewrite (counted, or estimated as every item of the table)
    counted: bool = False
    scan_rcu: float = 0.0
    wcu: float = 0.0
    rate: float | None = None  # WCU/s the run will be limited to
    index_items: dict[str, int] = field(default_factory=dict)  # new GSI -> items DynamoDB copies into it
    index_wcu: float = 0.0  # what that backfill writes on the indexes (billed like writes)
    views: list[ViewPlan] = field(default_factory=list)

    @property
    def cost(self) -> float:
        reads = self.scan_rcu + sum(v.rcu for v in self.views)
        writes = self.wcu + self.index_wcu + sum(v.writes for v in self.views)
        return (reads * READ_PRICE + writes * WRITE_PRICE) / 1e6

    @property
    def seconds(self) -> float | None:
        return None if self.rate is None else self.wcu / self.rate

    def __str__(self) -> str:
        s = self.survey
        name = s.table.name
        if not s.pending:
            return f"{name}: at model version {s.target}, nothing to do"
        lines = [f"{name}: model version {s.source} -> {s.target}"]
        for migration in s.migrations:
            lines.append(f"  migration {migration.name}")
            lines += [f"    - {change.describe()}" for change in migration.changes]
        for gsi in s.missing:
            lines.append(f"  UpdateTable: create GSI '{gsi.name}' and wait until it is ACTIVE")
        for index, items in self.index_items.items():
            lines.append(
                f"  GSI '{index}' backfill by DynamoDB (nothing rewritten): {items:,} items "
                f"({'counted' if self.counted else 'estimated'}), ~{self.index_wcu:,.0f} WCU on the index"
            )
        lines += [f"  {view}" for view in self.views]
        if s.affected:
            kind = "counted" if self.counted else "estimated: every item of the table, --count to count"
            lines.append(f"  items to rewrite: {self.items:,} ({kind}) of {', '.join(sorted(s.affected))}")
        else:
            lines.append("  items to rewrite: none (no stored item of this table changes)")
        if s.affected:
            lines.append(
                f"  capacity: {self.scan_rcu:,.0f} RCU (one Scan) + {self.wcu:,.0f} WCU (rewrites, GSI copies "
                f"included); on demand ~${self.cost:,.4f}"
            )
        else:
            lines.append(f"  on demand ~${self.cost:,.6f} (the backfills above)")
        timed = "" if self.seconds is None else f" (~{self.seconds:,.0f}s at {self.rate:,.0f} WCU/s)"
        for pattern, until in s.unavailable.items():
            until += timed if until == "the run completes" else ""
            lines.append(f"  access pattern '{pattern}' is incomplete until {until}")
        if s.affected and not s.unavailable:
            lines.append("  every access pattern keeps answering (reads upgrade old items in memory)")
        return "\n".join(lines)


@dataclass
class ViewPlan:
    """A view a run builds with the stream backfill: the source's items read, the view writes at most."""

    name: str
    source: str
    items: int
    rcu: float
    writes: int

    def __str__(self) -> str:
        return (
            f"view '{self.name}' from table '{self.source}': read {self.items:,} items ({self.rcu:,.0f} RCU, "
            f"consistent Scan, then the stream), up to {self.writes:,} view writes (>= {self.writes:,} WCU); "
            f"runs on the embedded engine (--db)"
        )


@dataclass
class Plan:
    tables: list[TablePlan] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(t.items for t in self.tables)

    def __str__(self) -> str:
        return "\n".join(str(t) for t in self.tables)


def count_steps(found: Survey, where: dict[str, Any]) -> Steps[int]:
    """Count the items `where` keeps (a Scan with Select=COUNT: it costs the scan's RCU)."""
    request: dict[str, Any] = {"TableName": found.table.name, "Select": "COUNT", **where}
    total = 0
    while True:
        response = yield from call("Scan", request)
        total += int(response.get("Count", 0))
        if not response.get("LastEvaluatedKey"):
            return total
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def having(found: Survey, index: str) -> dict[str, Any]:
    """A Scan filter keeping the items GSI `index` will hold (both key attributes present)."""
    gsi = found.table.indexes[index]
    names = {f"#k{i}": a for i, a in enumerate(a for a in (gsi.pk_attr, gsi.sk_attr) if a)}
    return {
        "FilterExpression": " AND ".join(f"attribute_exists({n})" for n in names),
        "ExpressionAttributeNames": names,
    }


def view_steps(view: BuildView) -> Steps[ViewPlan]:
    """What building `view` reads (the source table, consistently) and writes (a line per item at most)."""
    described = (yield from call("DescribeTable", {"TableName": view.source}))["Table"]
    items = int(described.get("ItemCount", 0))
    rcu = float(math.ceil(int(described.get("TableSizeBytes", 0)) / 4096))
    return ViewPlan(view.entity.entity_name(), view.source, items, rcu, items)


def pending_filter_of(found: Survey) -> dict[str, Any]:
    chain = Chain(found.migrations)
    return pending_filter(chain, found.affected, found.target, found.table)


def plan(
    app: App,
    migrations: Sequence[Migration] | None = None,
    transport: Transport | None = None,
    *,
    count: bool = False,
    rate: float | None = None,
    state_table: str = STATE_TABLE,
) -> Plan:
    """What `run` would do to each table of the App; raises MigrationError for what it would refuse."""
    chain = chain_of(app, migrations)
    wire = transport if transport is not None else app.transport
    out = Plan()
    for table in app.tables.values():
        found = run_sync(wire, survey(app, chain, table, state_table))
        estimate = TablePlan(found, rate=rate)
        out.tables.append(estimate)
        if not found.pending:
            continue
        description = found.description
        size, items = int(description.get("TableSizeBytes", 0)), int(description.get("ItemCount", 0))
        estimate.scan_rcu = math.ceil(size / 4096) / 2 if found.affected else 0.0
        if found.affected:
            if count:
                estimate.items, estimate.counted = (
                    run_sync(wire, count_steps(found, pending_filter_of(found))),
                    True,
                )
            else:
                estimate.items = items
        average = size / items if items else 1024
        units = max(1, math.ceil(average / 1024))
        indexes = max((len(b.indexes) for b in app.bounds.values() if b.table is table), default=0)
        estimate.wcu = float(estimate.items * units * (1 + indexes))
        backfilled = {
            b.find_key(k).index
            for n, keys in found.indexed.items()
            for k in keys
            for b in app.bounds.values()
            if b.table is table and b.name == n
        }
        for gsi in found.missing:
            if gsi.name in backfilled:
                counted = run_sync(wire, count_steps(found, having(found, gsi.name))) if count else items
                estimate.counted |= count
                estimate.index_items[gsi.name] = counted
                estimate.index_wcu += float(counted * units)
        estimate.views = [run_sync(wire, view_steps(v)) for v in found.views]
    return out


@dataclass
class TableStatus:
    """Where one table stands: its recorded version, the App's, and the latest run towards it."""

    table: str
    stored: int | None
    version: int
    run: dict[str, Any] | None
    checkpoints: dict[int, Checkpoint]
    parked: int
    views: dict[str, str] = field(default_factory=dict)  # view -> where its backfill stands

    def __str__(self) -> str:
        stored = "unrecorded" if self.stored is None else f"v{self.stored}"
        head = f"{self.table}: stored {stored}, App v{self.version}"
        head += "".join(f"; view '{name}' {state}" for name, state in self.views.items())
        if self.run is None:
            return head + ("" if self.stored == self.version else "; no run yet")
        segments = int(self.run["segments"])
        done = sum(1 for c in self.checkpoints.values() if c.done)
        counts = {
            k: sum(c.counts[k] for c in self.checkpoints.values()) for k in ("scanned", "migrated", "parked")
        }
        state = (
            "finished"
            if "finished" in self.run
            else f"in progress or stopped ({done}/{segments} segments done)"
        )
        return (
            f"{head}; run v{self.run['source']}->v{self.version} {state}: scanned {counts['scanned']}, "
            f"migrated {counts['migrated']}, parked now {self.parked}"
        )


def status(
    app: App,
    transport: Transport | None = None,
    *,
    migrations: Sequence[Migration] | None = None,
    state_table: str = STATE_TABLE,
) -> list[TableStatus]:
    chain = chain_of(app, migrations)
    wire = transport if transport is not None else app.transport
    return [run_sync(wire, _status(app, chain, table, state_table)) for table in app.tables.values()]


def _status(app: App, chain: Chain, table: Table, state_table: str) -> Steps[TableStatus]:
    from ._state import read_state

    names = {b.name for b in app.bounds.values() if b.table is table}
    views = {}
    for view in chain.views(chain.first):
        if view.entity.entity_name() in names:
            views[view.entity.entity_name()] = yield from view_state(view)
    version = chain.version
    try:
        stored = yield from read_state(state_table, table.name)
    except DynamoDBError as error:
        if error.code != "ResourceNotFoundException":
            raise
        return TableStatus(table.name, None, version, None, {}, 0, views)
    record = yield from read_run(state_table, table.name, version)
    checkpoints = (yield from read_checkpoints(state_table, table.name, version)) if record else {}
    parked = len((yield from read_parked(state_table, table.name, version))) if record else 0
    return TableStatus(table.name, stored.version, version, record, checkpoints, parked, views)
