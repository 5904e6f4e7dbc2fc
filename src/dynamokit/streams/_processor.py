"""StreamProcessor: typed handlers per entity, deployable as a Lambda handler for DynamoDB Streams, Kinesis and
SQS events, with ordered partial-batch failures, and sinks that receive each batch's applied changes at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol

from ..model import App, Entity
from ._changes import Change, decode
from ._deferred import Deferred, deferring
from ._events import identifier

log = logging.getLogger("dynamokit.streams")
Handler = Callable[[Change[Any]], None]
ANY = "*"


class Sink(Protocol):
    """Receives the changes a batch applied, in stream order, in one call (e.g. one database transaction).
    It must be idempotent: changes it fails on are delivered again. An exception with a `changes` list says
    that only those changes failed (e.g. `ItemFailed` of the OpenSearch sink); any other fails them all."""

    def write(self, changes: Sequence[Change[Any]]) -> object: ...


class UnknownEntity(Exception):
    """A change of an item whose type the App does not know, under `unknown="fail"`."""


class StreamProcessor:
    """Dispatches changes to the handlers registered with `@processor.on(Entity | "name" | "*")`.

    `unknown`: what to do with items the App has no entity for ("skip" or "fail").
    `ordering`: after a failed record, "stop" (fail the rest of the batch) or "per_key" (keep going for
    other keys only). Either way no later record of a key is applied after an earlier one failed.
    `sinks`: each receives every batch's applied changes (see `sink`).
    """

    def __init__(self, app: App | None = None, unknown: Literal["skip", "fail"] = "skip",
                 ordering: Literal["stop", "per_key"] = "stop", sinks: Iterable[Sink] = ()) -> None:
        if unknown not in ("skip", "fail") or ordering not in ("stop", "per_key"):
            raise ValueError("unknown must be 'skip' or 'fail'; ordering 'stop' or 'per_key'")
        self.app, self.unknown, self.ordering = app, unknown, ordering
        self.handlers: dict[str, list[Handler]] = {}
        self.sinks: list[tuple[Sink, frozenset[str] | None]] = []
        for each in sinks:
            self.sink(each)

    def on(self, target: type[Entity] | str) -> Callable[[Handler], Handler]:
        """Register `fn(change)` for an entity class, an entity type name, or "*" (every change)."""
        name = target if isinstance(target, str) else target.entity_name()

        def register(fn: Handler) -> Handler:
            self.handlers.setdefault(name, []).append(fn)
            return fn

        return register

    def sink(self, sink: Sink, *entities: type[Entity] | str) -> Sink:
        """Send each batch's applied changes (of `entities`: classes or type names; default every known
        entity) to `sink.write(changes)`, in one call per batch, after the handlers. A change reaches sinks
        only when its handlers succeeded; changes of unknown items are never sent. Returns the sink."""
        names = frozenset(e if isinstance(e, str) else e.entity_name() for e in entities) or None
        self.sinks.append((sink, names))
        return sink

    def handle(self, change: Change[Any]) -> None:
        """Run the handlers of one change, then give it to the sinks (raises what they raise)."""
        if self._dispatch(change):
            self._flush([change])

    def _dispatch(self, change: Change[Any]) -> bool:
        """Run the handlers of one change; False when it is an unknown item that is skipped."""
        if not change.known:
            if self.unknown == "fail":
                raise UnknownEntity(f"no entity for item type {change.entity_type!r} (keys {change.keys})")
            return False
        for fn in self.handlers.get(change.entity_type or "", ()):
            fn(change)
        for fn in self.handlers.get(ANY, ()):
            fn(change)
        return True

    def _shares(self, changes: list[Change[Any]]) -> Iterator[tuple[Sink, list[Change[Any]]]]:
        """Each sink with its share of `changes` (those of its entities), when that is not empty."""
        for sink, names in self.sinks:
            chosen = changes if names is None else [c for c in changes if c.entity_type in names]
            if chosen:
                yield sink, chosen

    def _flush(self, changes: list[Change[Any]]) -> None:
        for sink, chosen in self._shares(changes):
            sink.write(chosen)

    def _flush_batch(self, changes: list[Change[Any]]) -> set[int]:
        """Give every sink its share of a batch's changes; the ids of the changes some sink failed on."""
        rejected: set[int] = set()
        for sink, chosen in self._shares(changes):
            try:
                sink.write(chosen)
            except Exception as error:
                log.exception("a sink failed on a batch of %d changes", len(chosen))
                ids = {id(c) for c in chosen}
                partial = getattr(error, "changes", None)
                named = {id(c) for c in partial} if isinstance(partial, list) else set()
                rejected |= named if named and named <= ids else ids
        return rejected

    def process(self, records: Iterable[dict[str, Any]]) -> list[str]:
        """Handle event records in order, commit the View writes their handlers made (one transaction per
        view), then hand the changes applied to the sinks; return the identifiers of those not applied
        (failed, blocked behind a failure of their key, or after a failure under "stop"), in order. A change
        whose view writes did not commit, or that a sink failed on, counts as failed, by the same rules."""
        records = list(records)
        with deferring() as writes:
            failed, applied = self._apply(records, writes)
            self._fail(failed, applied, writes.commit(), len(records))
        live = [(n, change) for n, change in applied if n not in failed]
        rejected = self._flush_batch([change for _, change in live])
        self._fail(failed, live, {n for n, change in live if id(change) in rejected}, len(records))
        return [identifier(records[n]) for n in sorted(failed)]

    def _fail(self, failed: set[int], applied: list[tuple[int, Change[Any]]], positions: set[int],
              total: int) -> None:
        """Count applied changes at `positions` as failed, and with them every later change (under "stop")
        or every later change of their keys (under "per_key")."""
        if not positions:
            return
        if self.ordering == "stop":
            failed.update(range(min(positions), total))
            return
        firsts: dict[str, int] = {}
        for n, change in applied:
            if n in positions:
                firsts.setdefault(change.key_id, n)
        failed.update(n for n, change in applied if n >= firsts.get(change.key_id, n + 1))

    def _apply(self, records: list[dict[str, Any]],
               writes: Deferred) -> tuple[set[int], list[tuple[int, Change[Any]]]]:
        """Run the handlers record by record (their view writes deferred to `writes`): the positions of
        records not applied, and the changes applied with their positions."""
        failed: set[int] = set()
        applied: list[tuple[int, Change[Any]]] = []
        blocked: set[str] = set()
        stopped = False
        for n, record in enumerate(records):
            if stopped:
                failed.add(n)
                continue
            key = None
            writes.position = n
            try:
                change = decode(record, self.app)
                if self.ordering == "per_key":
                    key = change.key_id
                    if key in blocked:
                        failed.add(n)
                        continue
                if self._dispatch(change):
                    if self.sinks:  # they read the item: decoded here, an image that fails fails only its record
                        change.item  # noqa: B018
                    applied.append((n, change))
            except Exception:
                log.exception("stream record %s failed", identifier(record))
                writes.drop(n)
                failed.add(n)
                if self.ordering == "stop" or key is None:
                    stopped = True
                else:
                    blocked.add(key)
        return failed, applied

    def lambda_handler(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda entry point: `{"batchItemFailures": [{"itemIdentifier": ...}, ...]}`."""
        failed = self.process(event.get("Records", ()))
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    __call__ = lambda_handler


def as_processor(target: StreamProcessor | Handler, app: App | None = None) -> StreamProcessor:
    """A processor as is, or a projection function `fn(change)` wrapped as a processor of every change."""
    if isinstance(target, StreamProcessor):
        return target
    processor = StreamProcessor(app)
    processor.on(ANY)(target)
    return processor
