"""StreamProcessor: typed handlers per entity, deployable as a Lambda handler for DynamoDB Streams, Kinesis and
SQS events, with ordered partial-batch failures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal

from ..model import App, Entity
from .changes import Change, decode
from .events import identifier

log = logging.getLogger("dynamokit.streams")
Handler = Callable[[Change[Any]], None]
ANY = "*"


class UnknownEntity(Exception):
    """A change of an item whose type the App does not know, under `unknown="fail"`."""


class StreamProcessor:
    """Dispatches changes to the handlers registered with `@processor.on(Entity | "name" | "*")`.

    `unknown`: what to do with items the App has no entity for ("skip" or "fail").
    `ordering`: after a failed record, "stop" (fail the rest of the batch) or "per_key" (keep going for
    other keys only). Either way no later record of a key is applied after an earlier one failed.
    """

    def __init__(self, app: App | None = None, unknown: Literal["skip", "fail"] = "skip",
                 ordering: Literal["stop", "per_key"] = "stop") -> None:
        if unknown not in ("skip", "fail") or ordering not in ("stop", "per_key"):
            raise ValueError("unknown must be 'skip' or 'fail'; ordering 'stop' or 'per_key'")
        self.app, self.unknown, self.ordering = app, unknown, ordering
        self.handlers: dict[str, list[Handler]] = {}

    def on(self, target: type[Entity] | str) -> Callable[[Handler], Handler]:
        """Register `fn(change)` for an entity class, an entity type name, or "*" (every change)."""
        name = target if isinstance(target, str) else target.entity_name()

        def register(fn: Handler) -> Handler:
            self.handlers.setdefault(name, []).append(fn)
            return fn

        return register

    def handle(self, change: Change[Any]) -> None:
        """Run the handlers of one change (raises what they raise)."""
        if not change.known:
            if self.unknown == "fail":
                raise UnknownEntity(f"no entity for item type {change.entity_type!r} (keys {change.keys})")
            return
        for fn in self.handlers.get(change.entity_type or "", ()):
            fn(change)
        for fn in self.handlers.get(ANY, ()):
            fn(change)

    def process(self, records: Iterable[dict[str, Any]]) -> list[str]:
        """Handle event records in order; return the identifiers of those not applied (failed, blocked
        behind a failure of their key, or after a failure under "stop"), in order."""
        failed: list[str] = []
        blocked: set[str] = set()
        stopped = False
        for record in records:
            ident = identifier(record)
            if stopped:
                failed.append(ident)
                continue
            key = None
            try:
                change = decode(record, self.app)
                key = change.key_id
                if key in blocked:
                    failed.append(ident)
                    continue
                self.handle(change)
            except Exception:
                log.exception("stream record %s failed", ident)
                failed.append(ident)
                if self.ordering == "stop" or key is None:
                    stopped = True
                else:
                    blocked.add(key)
        return failed

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
