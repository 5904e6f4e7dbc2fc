"""Run migrations live: parallel Scan segments, each item rewritten under a guard on its old image,
checkpoints after every chunk (a killed run resumes), a WCU/s rate limit, progress, parked items."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..._errors import DynamoDBError
from .._bound import Bound
from .._steps import APSEUDO, PSEUDO, R, Steps, call, run_async, run_sync, sleep
from .._table import Table
from .._transport import AsyncTransport, Transport
from ._changes import VERSION_ATTRIBUTE, Chain, Migration, MigrationError
from ._indexes import add_indexes
from ._limits import Limiter, Progress
from ._rewrite import guard, stamps, upgrade, watched, write_units
from ._state import (
    COUNTS,
    STATE_TABLE,
    Checkpoint,
    Parked,
    ensure_table,
    finish_run,
    park,
    read_checkpoints,
    read_parked,
    read_run,
    save_checkpoint,
    start_run,
    unpark,
    write_state,
)
from ._survey import Survey, survey, templates
from ._views import BUILD_VIEW, INDEX_WCU, ViewRun, build, build_view, measured, online_index_wcu

if TYPE_CHECKING:
    from .._app import App

MAX_ATTEMPTS = 8  # guarded writes of one item before it is parked as "changing too often"
_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)


class Stopped(Exception):
    """Another segment of the run failed: this one stopped at its last checkpoint."""


def chain_of(app: App, migrations: Sequence[Migration] | None) -> Chain:
    if migrations:
        chain = Chain(migrations)
        chain.check(app.bounds)
        return chain
    if app.migrations is None:
        raise MigrationError("this App declares no migrations (App(..., migrations=[Migration(...)]))")
    return app.migrations


def pending_filter(chain: Chain, affected: frozenset[str], target: int, table: Table) -> dict[str, Any]:
    """A Scan filter keeping items of affected entities written before `target` (RCU is paid anyway)."""
    values = {f":t{i}": {"S": n} for i, n in enumerate(sorted(affected))}
    kinds = ", ".join(values)
    values[":target"] = {"N": str(target)}
    return {
        "FilterExpression": f"#type IN ({kinds}) AND (attribute_not_exists(#v) OR #v < :target)",
        "ExpressionAttributeNames": {"#type": table.type_attribute, "#v": VERSION_ATTRIBUTE},
        "ExpressionAttributeValues": values,
    }


@dataclass
class Context:
    """Everything the segments of one table's run share."""

    app: App
    chain: Chain
    table: Table
    target: int
    state_table: str
    limiter: Limiter
    progress: Progress
    chunk: int
    on_chunk: Callable[[Progress], None] | None
    stop: threading.Event = field(default_factory=threading.Event)
    bounds: dict[str, Bound[Any]] = field(default_factory=dict)
    watched: dict[str, frozenset[str]] = field(default_factory=dict)
    filter: dict[str, Any] = field(default_factory=dict)

    def key(self, item: dict[str, Any]) -> dict[str, Any]:
        return {a: item[a] for a in (self.table.pk, self.table.sk) if a}


def retrying(operation: str, request: dict[str, Any], attempts: int = 10) -> Steps[dict[str, Any]]:
    """One request, retried with backoff when throttled."""
    for attempt in range(attempts):
        try:
            return (yield from call(operation, request))
        except DynamoDBError as error:
            if error.code not in _THROTTLED or attempt == attempts - 1:
                raise
        yield from sleep(min(0.05 * 2**attempt, 5.0))
    raise AssertionError("unreachable")


def migrate_item(ctx: Context, item: dict[str, Any]) -> Steps[tuple[str, float, int]]:
    """Rewrite one item to the target version unless it is already there: (outcome, WCU, retries).

    The write is conditional on the item still being exactly the image it was computed from; if the item
    changed meanwhile it is read again (strongly consistent) and migrated from its new image.
    """
    key, retries = ctx.key(item), 0
    for _ in range(MAX_ATTEMPTS):
        marker = item.get(ctx.table.type_attribute, {}).get("S")
        bound = ctx.bounds.get(marker or "")
        source = ctx.chain.stored_version(item)
        if bound is None or source >= ctx.target or not ctx.chain.affects(bound.name, source, ctx.target):
            return "skipped", 0.0, retries
        try:
            new = upgrade(ctx.app, ctx.chain, bound, item, ctx.target)
            condition = guard(item, ctx.watched[bound.name], stamps(bound))
        except Exception as error:  # noqa: BLE001 - a transform or validation failed for this item: park it
            text = " ".join(f"{type(error).__name__}: {error}".split())
            yield from park(ctx.state_table, ctx.table.name, ctx.target, key, bound.name, text)
            return "parked", 0.0, retries
        units = float(write_units(new) * (1 + sum(1 for k in bound.indexes.values() if k.index)))
        wait = ctx.limiter.reserve(units)
        if wait > 0:
            yield from sleep(wait)
        request = {"TableName": ctx.table.name, "Item": new, **condition}
        try:
            yield from retrying("PutItem", request)
            return "migrated", units, retries
        except DynamoDBError as error:
            if error.code != "ConditionalCheckFailedException":
                raise
        retries += 1
        response = yield from retrying(
            "GetItem", {"TableName": ctx.table.name, "Key": key, "ConsistentRead": True}
        )
        if "Item" not in response:
            return "skipped", 0.0, retries  # deleted meanwhile
        item = response["Item"]
    name = item.get(ctx.table.type_attribute, {}).get("S", "?")
    message = f"changed concurrently on each of {MAX_ATTEMPTS} attempts"
    yield from park(ctx.state_table, ctx.table.name, ctx.target, key, name, message)
    return "parked", 0.0, retries


def segment_steps(ctx: Context, checkpoint: Checkpoint, total: int) -> Steps[Checkpoint]:
    """Migrate one Scan segment chunk by chunk from its checkpoint, saving the checkpoint after each; a
    failure stops the run's other segments at their next chunk."""
    try:
        return (yield from _segment(ctx, checkpoint, total))
    except Stopped:
        raise
    except BaseException:
        ctx.stop.set()
        raise


def _segment(ctx: Context, checkpoint: Checkpoint, total: int) -> Steps[Checkpoint]:
    while not checkpoint.done:
        if ctx.stop.is_set():
            raise Stopped()
        request = {
            "TableName": ctx.table.name,
            "Segment": checkpoint.segment,
            "TotalSegments": total,
            "Limit": ctx.chunk,
            **ctx.filter,
        }
        if checkpoint.start:
            request["ExclusiveStartKey"] = checkpoint.start
        response = yield from retrying("Scan", request)
        counts = dict.fromkeys(COUNTS, 0)
        counts["scanned"] = int(response.get("ScannedCount", len(response.get("Items", []))))
        wcu = 0.0
        for item in response.get("Items", []):
            outcome, units, retries = yield from migrate_item(ctx, item)
            counts[outcome] += 1
            counts["retried"] += retries
            wcu += units
        checkpoint.start = response.get("LastEvaluatedKey") or None
        checkpoint.done = checkpoint.start is None
        for name, value in counts.items():
            checkpoint.counts[name] += value
        yield from save_checkpoint(ctx.state_table, ctx.table.name, ctx.target, checkpoint)
        ctx.progress.add(counts, wcu)
        if ctx.on_chunk is not None:
            ctx.on_chunk(ctx.progress)
    return checkpoint


def retry_steps(ctx: Context) -> Steps[int]:
    """Migrate the run's parked items again (each read afresh); returns how many are still parked."""
    left = 0
    for parked in (yield from read_parked(ctx.state_table, ctx.table.name, ctx.target)):
        response = yield from retrying(
            "GetItem", {"TableName": ctx.table.name, "Key": parked.key, "ConsistentRead": True}
        )
        outcome, units, retries = "skipped", 0.0, 0
        if "Item" in response:
            outcome, units, retries = yield from migrate_item(ctx, response["Item"])
            ctx.progress.add(
                {"migrated" if outcome == "migrated" else "skipped": 1, "retried": retries}, units
            )
        if outcome == "parked":
            left += 1
        else:
            yield from unpark(ctx.state_table, ctx.table.name, ctx.target, parked.key)
    return left


@dataclass
class TableRun:
    """What a run did to one table."""

    table: str
    source: int
    target: int
    progress: Progress | None = None
    indexes: list[str] = field(default_factory=list)
    index_wcu: dict[str, float | None] = field(default_factory=dict)  # created GSI -> its backfill's WCU
    views: list[ViewRun] = field(default_factory=list)
    parked: list[Parked] = field(default_factory=list)
    resumed: bool = False

    @property
    def finished(self) -> bool:
        return not self.parked

    def __str__(self) -> str:
        if self.source == self.target and self.progress is None:
            return f"{self.table}: at model version {self.target}, nothing to do"
        lines = [f"{self.table}: v{self.source} -> v{self.target}" + (" (resumed)" if self.resumed else "")]
        if self.indexes:
            lines.append(f"  created GSI(s) {', '.join(self.indexes)}")
        for index, wcu in self.index_wcu.items():
            lines.append(
                f"  GSI '{index}' backfill by DynamoDB: "
                + (
                    f"{wcu:,.0f} WCU (metered by the engine)"
                    if wcu is not None
                    else "WCU not reported here (CloudWatch: OnlineIndexConsumedWriteCapacity)"
                )
            )
        lines += [f"  {view}" for view in self.views]
        if self.progress is not None:
            lines.append(f"  {self.progress}")
        for parked in self.parked[:10]:
            lines.append(f"  parked {parked.entity} {parked.key}: {parked.error}")
        if self.parked:
            lines.append(f"  {len(self.parked)} item(s) parked: fix the migration, then run --retry-parked")
        return "\n".join(lines)


@dataclass
class Report:
    tables: list[TableRun]

    def __str__(self) -> str:
        return "\n".join(str(t) for t in self.tables)


def prepare(
    app: App, chain: Chain, found: Survey, state_table: str, segments: int
) -> Steps[tuple[TableRun, int, dict[int, Checkpoint]]]:
    """Create missing GSIs, then start the run record or resume the one found (its segment count wins)."""
    table = found.table
    outcome = TableRun(table.name, found.source, found.target)
    outcome.indexes = yield from add_indexes(table, found.missing, found.description)
    record = yield from read_run(state_table, table.name, found.target)
    checkpoints: dict[int, Checkpoint] = {}
    if record is not None and int(record["source"]) == found.source and "finished" not in record:
        segments = int(record["segments"])
        checkpoints = yield from read_checkpoints(state_table, table.name, found.target)
        outcome.resumed = True
    else:
        yield from start_run(state_table, table.name, found.source, found.target, segments)
    return outcome, segments, checkpoints


PARALLEL = "__parallel__"  # a pseudo-operation of `orchestrate`: {"steps": [...]} run side by side


def parallel(steps: list[Steps[Any]], stop: threading.Event) -> Steps[None]:
    """Run these operations side by side (threads when sync, tasks when async); `stop` asks them to end at
    their next checkpoint (set on Ctrl-C)."""
    yield PARALLEL, {"steps": steps, "stop": stop}


def orchestrate(
    app: App,
    chain: Chain,
    *,
    segments: int,
    rate: float | None,
    chunk: int,
    retry_parked: bool,
    on_chunk: Callable[[Progress], None] | None,
    state_table: str,
) -> Steps[Report]:
    """A whole run, table by table: survey (refusals), schema, segments from their checkpoints, parked
    items, then the table's new recorded version."""
    yield from ensure_table(state_table)
    report = Report([])
    surveys = []
    for table in app.tables.values():
        surveys.append((yield from survey(app, chain, table, state_table)))
    for found in surveys:
        table = found.table
        if not found.pending:
            report.tables.append(TableRun(table.name, found.source, found.target))
            continue
        outcome, count, checkpoints = yield from prepare(app, chain, found, state_table, segments)
        report.tables.append(outcome)
        progress = Progress(table.name, found.target, found.description.get("ItemCount"))
        ctx = Context(app, chain, table, found.target, state_table, Limiter(rate), progress, chunk, on_chunk)
        ctx.bounds = {b.name: b for b in app.bounds.values() if b.table is table and b.name in found.affected}
        ctx.watched = {name: watched(b, chain) for name, b in ctx.bounds.items()}
        if found.affected:
            outcome.progress = progress
            ctx.filter = pending_filter(chain, found.affected, found.target, table)
            todo = [checkpoints.get(n) or Checkpoint(n) for n in range(count)]
            for checkpoint in todo:  # a resumed run counts what its earlier part did
                progress.add(dict(checkpoint.counts), 0.0)
            progress.chunks = 0
            yield from parallel([segment_steps(ctx, c, count) for c in todo if not c.done], ctx.stop)
        if retry_parked:
            yield from retry_steps(ctx)
        for index in outcome.indexes:
            outcome.index_wcu[index] = yield from measured(table.name, index)
        for view in found.views:
            outcome.views.append((yield from build(view)))
        outcome.parked = yield from read_parked(state_table, table.name, found.target)
        if not outcome.parked:
            yield from write_state(state_table, table.name, found.target, templates(app, table))
            yield from finish_run(state_table, table.name, found.target)
    return report


def _options(app: App, migrations: Sequence[Migration] | None, segments: int, chunk: int) -> Chain:
    if segments < 1 or chunk < 1:
        raise MigrationError(f"segments and chunk must be at least 1 (got {segments}, {chunk})")
    return chain_of(app, migrations)


def run(
    app: App,
    transport: Transport | None = None,
    *,
    migrations: Sequence[Migration] | None = None,
    segments: int = 4,
    rate: float | None = None,
    chunk: int = 100,
    retry_parked: bool = False,
    on_chunk: Callable[[Progress], None] | None = None,
    state_table: str = STATE_TABLE,
) -> Report:
    """Migrate every table of the App from its stored model version to the App's (segments in threads).

    `rate` caps write capacity units per second (all segments together); `on_chunk(progress)` is called
    after each checkpointed chunk (an exception from it stops the run, which a later run resumes).
    """
    chain = _options(app, migrations, segments, chunk)
    wire = transport if transport is not None else app.transport
    steps = orchestrate(
        app, chain, segments=segments, rate=rate, chunk=chunk, retry_parked=retry_parked,
        on_chunk=on_chunk, state_table=state_table,
    )  # fmt: skip
    return _drive_sync(wire, steps)


async def arun(
    app: App,
    transport: AsyncTransport | None = None,
    *,
    migrations: Sequence[Migration] | None = None,
    segments: int = 4,
    rate: float | None = None,
    chunk: int = 100,
    retry_parked: bool = False,
    on_chunk: Callable[[Progress], None] | None = None,
    state_table: str = STATE_TABLE,
) -> Report:
    """`run` over an async transport (the App's by default): segments are asyncio tasks."""
    chain = _options(app, migrations, segments, chunk)
    wire = transport if transport is not None else app.atransport
    steps = orchestrate(
        app, chain, segments=segments, rate=rate, chunk=chunk, retry_parked=retry_parked,
        on_chunk=on_chunk, state_table=state_table,
    )  # fmt: skip
    return await _drive_async(wire, steps)


def _drive_sync(wire: Transport, steps: Steps[R]) -> R:
    """run_sync, plus PARALLEL: each operation in a thread; the first failure stops the others at their
    next chunk and is raised."""
    return run_sync(
        wire,
        steps,
        {
            **PSEUDO,
            PARALLEL: lambda request: _threads(wire, request["steps"], request["stop"]),
            BUILD_VIEW: lambda request: build_view(wire, request["view"]),
            INDEX_WCU: lambda request: online_index_wcu(wire, request["table"], request["index"]),
        },
    )


async def _drive_async(wire: AsyncTransport, steps: Steps[R]) -> R:
    """run_async, plus PARALLEL: each operation an asyncio task (the first failure is raised)."""
    return await run_async(
        wire,
        steps,
        {
            **APSEUDO,
            PARALLEL: lambda request: _tasks(wire, request["steps"]),
            BUILD_VIEW: lambda request: asyncio.to_thread(build_view, wire, request["view"]),
            INDEX_WCU: lambda request: asyncio.to_thread(
                online_index_wcu, wire, request["table"], request["index"]
            ),
        },
    )


def _threads(wire: Transport, operations: list[Steps[Any]], stop: threading.Event) -> None:
    """Each operation in a thread; on Ctrl-C every segment stops at its next checkpoint, then it is raised."""
    errors: list[BaseException] = []

    def one(steps: Steps[Any]) -> None:
        try:
            run_sync(wire, steps)
        except Stopped:
            pass
        except BaseException as error:  # noqa: BLE001 - re-raised below
            errors.append(error)

    if operations:
        with ThreadPoolExecutor(max_workers=len(operations), thread_name_prefix="migrate") as pool:
            pending = {pool.submit(one, steps) for steps in operations}
            try:
                while pending:
                    pending = wait(pending, timeout=0.2)[1]
            except KeyboardInterrupt:
                stop.set()
                wait(pending)
                raise
    if errors:
        raise errors[0]


async def _tasks(wire: AsyncTransport, operations: list[Steps[Any]]) -> None:
    async def one(steps: Steps[Any]) -> None:
        try:
            await run_async(wire, steps)
        except Stopped:
            pass

    outcomes = await asyncio.gather(*(one(s) for s in operations), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
