"""The App: tables, entities, access patterns and collections, bound to a Transport."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast, overload

from ._batches import Backoff, batch_get, batch_write
from ._bound import Bound
from ._builders import Condition
from ._collection import Collection, CollectionQuery, G, check_within, resolve_collection
from ._entity import E, Entity
from ._errors import ModelError
from ._keys import KeyDef
from ._metering import AsyncMetered, Metered, RequestCounter, counting
from ._operations import Delete, Put, UpdateOp
from ._patterns import AnyPattern, P, Pattern, TypedPattern, resolve
from ._reads import Get, Query, Scan, decode_checked
from ._references import MAX_CASCADE_DEPTH, Referrer, referrers
from ._spans import Plan, plan
from ._steps import R, Steps, run_async, run_sync
from ._table import Table
from ._transactions import Transaction, transact_get
from ._transport import AsyncTransport, ThreadTransport, Transport
from ._writes import stamp
from .migrations._changes import Chain, Migration
from .migrations._lazy import Upgraded, upgrading


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refuse_shared_keys(bounds: Sequence[Bound[Any]]) -> None:
    """Two entities in one table whose primary key templates can render the same key would overwrite
    each other's items: refuse them, naming both."""
    for position, first in enumerate(bounds):
        for second in bounds[position + 1 :]:
            if first.table is second.table and first.primary.overlaps(second.primary):
                shown = [
                    f"{b.name} (pk={b.primary.pk.text!r}"
                    + (f", sk={b.primary.sk.text!r})" if b.primary.sk else ")")
                    for b in (first, second)
                ]
                raise ModelError(
                    f"table '{first.table.name}': {shown[0]} and {shown[1]} can render the same primary key; "
                    f"give each a distinct literal label (e.g. '{first.name.upper()}#{{...}}')"
                )


class App:
    """A data model: tables with their entities, named access patterns and collections.

    Everything is checked when the App is built: keys, indexes, references, and that every access
    pattern and collection is served by a key condition (never a Scan).
    """

    def __init__(
        self,
        *tables: Table,
        patterns: Sequence[AnyPattern] = (),
        collections: Sequence[Collection[Any]] = (),
        transport: Transport | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        migrations: Sequence[Migration] = (),
        write_back: bool = False,
    ) -> None:
        self.tables = {t.name: t for t in tables}
        self.bounds: dict[type[Entity], Bound[Any]] = {}
        self._by_name: dict[tuple[str, str], Bound[Any]] = {}
        for table in tables:
            for entity in table.entities:
                bound = Bound(entity, table)
                if entity in self.bounds or (table.name, bound.name) in self._by_name:
                    raise ModelError(f"entity {bound.name} is declared twice")
                self.bounds[entity] = self._by_name[(table.name, bound.name)] = bound
        _refuse_shared_keys(list(self.bounds.values()))
        self.referrers: dict[type[Entity], list[Referrer]] = referrers(self.bounds)
        for bound in self.bounds.values():
            bound.targets = {ref.target: self.bounds[ref.target] for ref in bound.entity.references.values()}
        self.patterns: dict[str, tuple[AnyPattern, KeyDef]] = {}
        for pattern in patterns:
            self.patterns[pattern.name] = (pattern, resolve(pattern, self.bound(pattern.entity)))
        self.collections: dict[str, tuple[Collection[Any], KeyDef]] = {}
        self.plans: dict[str, Plan] = {}  # how each collection is read (spans.Plan)
        for collection in collections:
            bounds = [self.bound(e) for e in collection.entities.values()]
            key = resolve_collection(collection, bounds)
            if collection.name in self.collections:
                raise ModelError(f"collection '{collection.name}' is declared twice")
            self.collections[collection.name] = (collection, key)
            others = [b for b in self.bounds.values() if b.table is bounds[0].table and b not in bounds]
            self.plans[collection.name] = plan(key, bounds, others)
        for name, (collection, _) in self.collections.items():
            if collection.within is not None:
                if collection.within not in self.collections:
                    raise ModelError(f"collection '{name}': no parent collection '{collection.within}'")
                parent = self.collections[collection.within][0]
                check_within(collection, self.plans[name], parent, self.plans[parent.name])
        clash = set(self.patterns) & set(self.collections)
        if clash:
            raise ModelError(f"names used by both a pattern and a collection: {sorted(clash)}")
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.migrations: Chain | None = None
        self.version: int | None = None
        self.upgraded: list[Upgraded] | None = [] if write_back else None  # see migrations.write_back
        if migrations:
            self._declare(Chain(migrations))
        self._transport: Metered | None = None
        self._atransport: AsyncMetered | None = None
        if transport is not None:
            self.use(transport)

    def _declare(self, chain: Chain) -> None:
        """Migrations: every write records the model version (`_v`); reads upgrade older items."""
        chain.check(self.bounds)
        self.migrations, self.version = chain, chain.version
        for bound in self.bounds.values():
            bound.version = chain.version
            if any(bound.name in m.entities for m in chain.migrations):
                bound.decode = upgrading(self, chain, bound)

    # -- binding ---------------------------------------------------------------------------------------
    def use(self, transport: Transport | AsyncTransport) -> App:
        """Send requests through `transport`: an Engine, a BotoTransport, ... (`.run()`, and `.arun()` in a
        worker thread), or an AsyncTransport such as AsyncBotoTransport (`.arun()` only)."""
        if inspect.iscoroutinefunction(transport.call):
            self._transport, self._atransport = None, AsyncMetered(cast(AsyncTransport, transport))
        else:
            sync = cast(Transport, transport)
            self._transport, self._atransport = Metered(sync), AsyncMetered(ThreadTransport(sync))
        return self

    @property
    def transport(self) -> Metered:
        if self._transport is None:
            if self._atransport is not None:
                raise ModelError("this App uses an async transport: await the operation's .arun() instead")
            raise ModelError("this App has no transport; call app.use(engine_or_transport)")
        return self._transport

    @property
    def atransport(self) -> AsyncMetered:
        if self._atransport is None:
            raise ModelError("this App has no transport; call app.use(engine_or_transport)")
        return self._atransport

    def drive(self, steps: Steps[R]) -> R:
        """Run an operation's requests over the transport."""
        return run_sync(self.transport, steps)

    async def adrive(self, steps: Steps[R]) -> R:
        """Run an operation's requests over the async transport."""
        return await run_async(self.atransport, steps)

    @staticmethod
    def counter() -> AbstractContextManager[RequestCounter]:
        """`with app.counter() as c:` counts requests (`c.requests`) and capacity units (`c.capacity`)."""
        return counting()

    def bound(self, entity: type[E]) -> Bound[E]:
        try:
            return self.bounds[entity]
        except KeyError:
            raise ModelError(f"{entity.__name__} is not part of this App") from None

    def by_name(self, table: str, name: str) -> Bound[Any]:
        return self._by_name[(table, name)]

    # -- reads -----------------------------------------------------------------------------------------
    def get(self, entity: type[E], **key: Any) -> Get[E]:
        """GetItem by primary key inputs: `app.get(Post, post_id="p1").run()`."""
        return Get(self, self.bound(entity), key)

    @overload
    def query(self, pattern: TypedPattern[E, P], /, *args: P.args, **values: P.kwargs) -> Query[E]: ...

    @overload
    def query(self, pattern: Pattern[E], /, **values: Any) -> Query[E]: ...

    @overload
    def query(self, pattern: str, /, **values: Any) -> Query[Any]: ...

    def query(self, pattern: AnyPattern | str, /, *args: Any, **values: Any) -> Query[Any]:
        """A Query through a declared access pattern (by name or the Pattern object; a `@pattern` function's
        inputs are type-checked and may be given by position)."""
        if args:
            if not isinstance(pattern, TypedPattern) or len(args) > len(pattern.parameters):
                raise ModelError(f"query {pattern!r}: inputs are given by name")
            values = {**dict(zip(pattern.parameters, args, strict=False)), **values}
        name = pattern if isinstance(pattern, str) else pattern.name
        if name not in self.patterns:
            raise ModelError(f"no access pattern '{name}' (declared: {sorted(self.patterns)})")
        declared, key = self.patterns[name]
        missing = [f for f in declared.by if values.get(f) is None]
        if missing:
            raise ModelError(f"pattern '{name}' needs {missing}")
        return Query(self, [self.bound(declared.entity)], key, values, name=name)

    @overload
    def collection(self, name: Collection[G], **values: Any) -> CollectionQuery[G]: ...

    @overload
    def collection(self, name: str, **values: Any) -> CollectionQuery[Any]: ...

    def collection(self, name: Collection[Any] | str, **values: Any) -> CollectionQuery[Any]:
        """A Query over an item collection (by name or the Collection object): partition key values, then
        optionally leading sort-key fields its members share: `app.collection(THREAD, post_id="p1").run()`."""
        label = name if isinstance(name, str) else name.name
        if label not in self.collections:
            raise ModelError(f"no collection '{label}' (declared: {sorted(self.collections)})")
        collection, key = self.collections[label]
        missing = [f for f in key.pk.fields if values.get(f) is None]
        if missing:
            raise ModelError(f"collection '{label}' needs {missing}")
        return CollectionQuery(self, collection, self.plans[label], values)

    def scan(self, entity: type[E]) -> Scan[E]:
        """An explicit Scan (emits ScanWarning when run)."""
        return Scan(self, [self.bound(entity)], lambda bound, item: bound.decode(item))

    def batch_get(
        self, entity: type[E], keys: Sequence[Mapping[str, Any]], consistent: bool = False
    ) -> tuple[list[E], list[Mapping[str, Any]]]:
        """BatchGetItem with backoff; returns (entities found, keys left unprocessed after the retry cap)."""
        return self.drive(self._batch_get(entity, keys, consistent))

    async def abatch_get(
        self, entity: type[E], keys: Sequence[Mapping[str, Any]], consistent: bool = False
    ) -> tuple[list[E], list[Mapping[str, Any]]]:
        return await self.adrive(self._batch_get(entity, keys, consistent))

    def _batch_get(
        self, entity: type[E], keys: Sequence[Mapping[str, Any]], consistent: bool
    ) -> Steps[tuple[list[E], list[Mapping[str, Any]]]]:
        bound = self.bound(entity)
        table = bound.table.name
        by_key = {repr(bound.key(k)): k for k in keys}
        found, left = yield from batch_get([(table, bound.key(k)) for k in keys], self.backoff, consistent)
        entities = [decode_checked(bound, i) for i in found.get(table, [])]
        return entities, [by_key[repr(k)] for _, k in left]

    def transact_get(self, gets: Sequence[tuple[type[Entity], Mapping[str, Any]]]) -> list[Entity | None]:
        return self.drive(transact_get(self, gets))

    async def atransact_get(
        self, gets: Sequence[tuple[type[Entity], Mapping[str, Any]]]
    ) -> list[Entity | None]:
        return await self.adrive(transact_get(self, gets))

    # -- writes ----------------------------------------------------------------------------------------
    def put(self, entity: E, *, create: bool = False, condition: Condition | None = None) -> Put[E]:
        return Put(self, self.bound(type(entity)), entity, create=create, condition=condition)

    def update(self, entity: type[E], *, reads: bool = True, **key: Any) -> UpdateOp[E]:
        """An update builder: `app.update(Post, post_id="p1").set(title="x").add(views=1).run()`.

        With `reads=False` an update that needs unknown key inputs raises MissingKeyInputs instead of reading.
        """
        return UpdateOp(self, self.bound(entity), key, reads=reads)

    def delete(
        self,
        entity: type[E],
        *,
        condition: Condition | None = None,
        max_depth: int = MAX_CASCADE_DEPTH,
        **key: Any,
    ) -> Delete[E]:
        """Delete one entity atomically with its cascades (at most `max_depth` levels, one transaction)."""
        return Delete(self, self.bound(entity), key, condition=condition, max_depth=max_depth)

    def batch_write(
        self, puts: Sequence[Entity] = (), deletes: Sequence[tuple[type[Entity], Mapping[str, Any]]] = ()
    ) -> list[dict[str, Any]]:
        """BatchWriteItem with backoff (no conditions/unique/reference checks); returns what is left.

        Puts keep an explicit `updated` timestamp (a load of existing data); an unset one becomes now."""
        return self.drive(self._batch_write(puts, deletes))

    async def abatch_write(
        self, puts: Sequence[Entity] = (), deletes: Sequence[tuple[type[Entity], Mapping[str, Any]]] = ()
    ) -> list[dict[str, Any]]:
        return await self.adrive(self._batch_write(puts, deletes))

    def _batch_write(
        self, puts: Sequence[Entity], deletes: Sequence[tuple[type[Entity], Mapping[str, Any]]]
    ) -> Steps[list[dict[str, Any]]]:
        writes: list[tuple[str, dict[str, Any]]] = []
        now = self.clock()
        for entity in puts:
            bound = self.bound(type(entity))
            if bound.entity.options.unique or bound.entity.references:
                raise ModelError(
                    f"{bound.name} has unique fields or references: write it with put() or a transaction"
                )
            stored = stamp(bound, entity, now, old_version=None, keep_updated=True)
            writes.append((bound.table.name, {"PutRequest": {"Item": bound.item(stored)}}))
        for kind, key in deletes:
            bound = self.bound(kind)
            if bound.entity.options.unique or bound.counted or self.referrers.get(kind):
                raise ModelError(
                    f"{bound.name} has unique fields or references: delete it with delete() or a transaction"
                )
            writes.append((bound.table.name, {"DeleteRequest": {"Key": bound.key(key)}}))
        left = yield from batch_write(writes, self.backoff)
        return [w for _, w in left]

    def transaction(self, token: str | None = None) -> Transaction:
        return Transaction(self, token)

    # -- sugar: app.<pattern>(...) and app.<collection>(...) ------------------------------------------------
    def __getattr__(self, name: str) -> Callable[..., Any]:
        patterns = self.__dict__.get("patterns", {})
        collections = self.__dict__.get("collections", {})
        if name in patterns:
            return lambda **values: self.query(name, **values)
        if name in collections:
            return lambda **values: self.collection(name, **values).run()
        raise AttributeError(name)
