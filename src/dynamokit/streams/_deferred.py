"""Deferred view writes: while a StreamProcessor handles a batch on a thread, the writes its handlers make
through Views queue up and are committed after the handlers, one TransactWriteItems per view (split only at
DynamoDB's 100 items, or where an item is written twice in ways that cannot be merged)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._views import View, _Op

log = logging.getLogger("dynamokit.streams")
MAX_ITEMS = 100  # actions in one TransactWriteItems
_open = threading.local()


@dataclass
class _Entry:
    """One op of a chunk, with the positions (records of the batch) whose writes it carries."""

    op: _Op
    positions: list[int] = field(default_factory=list)


class Deferred:
    """The view writes of one batch, by view, each tagged with the position of the record that made it."""

    def __init__(self) -> None:
        self.position = 0
        self.queues: dict[int, tuple[View, list[tuple[int, _Op]]]] = {}

    def add(self, view: View, op: _Op) -> None:
        self.queues.setdefault(id(view), (view, []))[1].append((self.position, op))

    def drop(self, position: int) -> None:
        """Forget the writes of a record whose handler failed (it is delivered again)."""
        for _, ops in self.queues.values():
            ops[:] = [(n, op) for n, op in ops if n != position]

    def commit(self) -> set[int]:
        """Commit every view's writes in order; the positions whose writes did not commit. A chunk that fails,
        or holds writes of a record that failed, is done again record by record (each record's writes in one
        transaction), so a bad write fails only its own record, and a record's writes land all or none."""
        failed: set[int] = set()
        for view, ops in self.queues.values():
            for chunk in _chunks(ops):
                positions = {n for entry in chunk for n in entry.positions}
                if positions.isdisjoint(failed) and _apply(view, chunk):
                    continue
                for n in sorted(positions - failed):
                    if not all(_apply(view, part) for part in _chunks([(m, op) for m, op in ops if m == n])):
                        failed.add(n)
        self.queues.clear()
        return failed


def pending() -> Deferred | None:
    """The deferred writes open on this thread, if any."""
    found: Deferred | None = getattr(_open, "writes", None)
    return found


@contextmanager
def deferring() -> Iterator[Deferred]:
    """Queue this thread's view writes until `commit()` (writes not committed are dropped on the way out)."""
    outer, _open.writes = pending(), Deferred()
    try:
        yield _open.writes
    finally:
        _open.writes = outer


def _apply(view: View, entries: list[_Entry]) -> bool:
    """Commit some entries in one request; False (logged) when it failed."""
    try:
        view.commit_ops([entry.op for entry in entries])
    except Exception:
        log.exception("view %s: committing %d deferred write(s) failed", view.table_name, len(entries))
        return False
    return True


def _chunks(ops: list[tuple[int, _Op]]) -> list[list[_Entry]]:
    """The ops in transactions of at most 100 items that touch each item once: a version-guarded put of an
    item already put in the chunk keeps the higher version (the other would be a no-op after it); any other
    repeat starts a new chunk, so the order of writes to an item is kept."""
    chunks: list[list[_Entry]] = [[]]
    where: dict[str, _Entry] = {}
    size = 0
    for position, op in ops:
        twin = where.get(op.targets[0])
        if op.version is not None and twin is not None and twin.op.version is not None:
            if op.version > twin.op.version:
                twin.op = op
            twin.positions.append(position)
            continue
        if size + len(op.items) > MAX_ITEMS or any(t in where for t in op.targets):
            chunks.append([])
            where, size = {}, 0
        entry = _Entry(op, [position])
        chunks[-1].append(entry)
        where.update((t, entry) for t in op.targets)
        size += len(op.items)
    return [chunk for chunk in chunks if chunk]

