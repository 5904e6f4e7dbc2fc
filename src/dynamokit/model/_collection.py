"""Item collections: several entity types read together with one key condition, grouped and typed.

A collection reads the sort-key span holding its members (`spans.Plan`), pages with cursors, runs in either
order, narrows by the sort-key fields its members share (`.eq/.begins/.gt/.ge/.lt/.le/.between`), and groups
each page by member into a dict or the declared dataclass / TypedDict. A sub-collection (`within=`) is a
collection of some of a parent's members on the same partition: its span is narrower, so it reads less.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

from . import _cursors as cursors
from ._bound import Bound
from ._builders import Condition
from ._entity import Entity
from ._errors import ModelError
from ._grouping import Grouping
from ._keys import KeyDef
from ._reads import InvalidItem, Page, Query
from ._spans import TOP, Plan, Span, below
from ._steps import Steps

if TYPE_CHECKING:
    from ._app import App

G = TypeVar("G")


class Collection(Generic[G]):
    """Entity types sharing a partition key, read together.

    `Collection("thread", {"post": Post, "comments": list[Comment]})` (results are dicts) or
    `Collection("thread", Thread)` with a dataclass / TypedDict (results are `Thread`s); `key` pins the table
    key or a GSI; `within` names the collection this one narrows (a sub-collection).
    """

    @overload
    def __init__(
        self: Collection[dict[str, Any]],
        name: str,
        members: Mapping[str, Any],
        key: str | None = None,
        description: str = "",
        within: str | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        name: str,
        members: type[G],
        key: str | None = None,
        description: str = "",
        within: str | None = None,
    ) -> None: ...

    def __init__(
        self,
        name: str,
        members: Mapping[str, Any] | type[G],
        key: str | None = None,
        description: str = "",
        within: str | None = None,
    ) -> None:
        self.name, self.members, self.key, self.description, self.within = (
            name,
            members,
            key,
            description,
            within,
        )
        self.grouping = Grouping.of(name, members)
        self.entities: dict[str, type[Entity]] = self.grouping.entities
        self.many: dict[str, bool] = self.grouping.many

    def __repr__(self) -> str:
        return f"Collection({self.name!r}, {list(self.entities)})"


def resolve_collection(collection: Collection[Any], bounds: Sequence[Bound[Any]]) -> KeyDef:
    """The key (table or GSI) whose partition template every member shares."""
    tables = {b.table.name for b in bounds}
    if len(tables) != 1:
        raise ModelError(
            f"collection '{collection.name}' spans tables {sorted(tables)}; members must share one"
        )
    names = [None, *bounds[0].table.indexes] if collection.key is None else [collection.key]
    for name in names:
        keys = [next((k for k in b.keys if k.index == name), None) for b in bounds]
        if all(keys) and len({k.pk.text for k in keys if k}) == 1:
            key = keys[0]
            assert key is not None
            return key
    shown = {b.name: [(k.index or "table", k.pk.text) for k in b.keys] for b in bounds}
    raise ModelError(
        f"collection '{collection.name}': no key shares one partition template across members "
        f"(partition keys: {shown})"
    )


def check_within(collection: Collection[Any], plan: Plan, parent: Collection[Any], parents: Plan) -> None:
    """A sub-collection holds some of its parent's members, on the parent's key and partition."""
    where = f"collection '{collection.name}' within '{parent.name}'"
    if plan.key.index != parents.key.index or plan.key.pk.text != parents.key.pk.text:
        raise ModelError(f"{where}: it must use the parent's key ({parents.key.index or 'table'})")
    extra = set(collection.entities.values()) - set(parent.entities.values())
    if extra:
        raise ModelError(f"{where}: {sorted(e.__name__ for e in extra)} are not members of '{parent.name}'")


@dataclass
class CollectionPage(Generic[G]):
    """One page of a collection: the grouped result, the cursor of the next page (None at the end) and
    stored items of the page that do not validate (lenient reads skip them)."""

    result: G
    cursor: str | None
    invalid: list[InvalidItem] = field(default_factory=list)


class CollectionQuery(Generic[G]):
    """A Query over an item collection: paged, ordered, narrowed by shared sort-key fields, grouped."""

    def __init__(self, app: App, collection: Collection[G], plan: Plan, values: Mapping[str, Any]) -> None:
        self.app, self.collection, self.plan = app, collection, plan
        self.bounds = [app.bound(e) for e in collection.entities.values()]
        partition = set(plan.key.pk.fields)
        sort = {k: self._coerce(k, v) for k, v in values.items() if k not in partition}
        self.query: Query[Entity] = Query(
            app,
            self.bounds,
            plan.key,
            {k: v for k, v in values.items() if k in partition},
            name=collection.name,
            narrow=False,
        )
        plan.check(collection.name, sort)
        self._fixed = sort  # sort-key values every result has (checked on each item)
        self._narrow(plan.span(sort))

    def _coerce(self, name: str, value: Any) -> Any:
        return self.bounds[0].coerce(name, value)

    def _narrow(self, span: Span) -> Self:
        self._span = span
        self.query._sort = None if span.empty else span.condition()
        self.query._bounded = self.query._sort is not None
        return self

    def _values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        merged = {**self._fixed, **{k: self._coerce(k, v) for k, v in values.items()}}
        self.plan.check(self.collection.name, merged)
        return merged

    # -- sort-key conditions on the fields the members share ------------------------------------------------
    def eq(self, **values: Any) -> Self:
        """Members whose shared sort-key fields have these values (a leading run of them)."""
        self._fixed = self._values(values)
        return self._narrow(self.plan.span(self._fixed))

    def begins(self, **values: Any) -> Self:
        """Members whose last given shared field starts with the given text (earlier ones are whole values)."""
        merged = {**self._fixed, **values}
        given = self.plan.check(self.collection.name, merged)
        if not given:
            raise ModelError("begins() needs the (partial) value of a shared sort-key field")
        last = given[-1]
        typed = {k: v if k == last and isinstance(v, str) else self._coerce(k, v) for k, v in merged.items()}
        text = self.plan.templates[0].partial(typed, last)
        return self._narrow(Span(text, text + TOP).within(self.plan.base))

    def gt(self, **values: Any) -> Self:
        return self._narrow(Span(self.plan.span(self._values(values)).high, None).within(self._base()))

    def ge(self, **values: Any) -> Self:
        return self._narrow(Span(self.plan.span(self._values(values)).low, None).within(self._base()))

    def lt(self, **values: Any) -> Self:
        low = self.plan.span(self._values(values)).low
        return self._narrow(Span(None, below(low) if low is not None else None).within(self._base()))

    def le(self, **values: Any) -> Self:
        return self._narrow(Span(None, self.plan.span(self._values(values)).high).within(self._base()))

    def between(self, low: Mapping[str, Any], high: Mapping[str, Any]) -> Self:
        """Members whose shared sort-key fields lie between two (partial) composites, inclusive."""
        start, end = self.plan.span(self._values(low)), self.plan.span(self._values(high))
        return self._narrow(Span(start.low, end.high).within(self._base()))

    def _base(self) -> Span:
        return self.plan.span(self._fixed)

    # -- reading options ------------------------------------------------------------------------------------
    def reverse(self) -> Self:
        """Descending sort-key order (e.g. newest comments first)."""
        self.query.reverse()
        return self

    def limit(self, count: int) -> Self:
        """At most `count` items per request (stray items count too); `run()` stops after `count` members."""
        self.query.limit(count)
        return self

    def start(self, cursor: str | None) -> Self:
        """Continue from a cursor returned in a previous CollectionPage."""
        self.query.start(cursor)
        return self

    def where(self, condition: Condition) -> Self:
        self.query.where(condition)
        return self

    def consistent(self) -> Self:
        self.query.consistent()
        return self

    def strict(self, strict: bool = True) -> Self:
        """Raise InvalidItems instead of skipping items that do not validate."""
        self.query.strict(strict)
        return self

    @property
    def invalid(self) -> list[InvalidItem]:
        """Stored items the last run skipped because they do not validate (see `Page.invalid`)."""
        return self.query.invalid

    def params(self) -> dict[str, Any]:
        return self.query.params()

    # -- results --------------------------------------------------------------------------------------------
    def _group(self, items: Sequence[Entity]) -> G:
        grouping = self.collection.grouping
        grouped = grouping.empty()
        by_type = {e.entity_name(): m for m, e in grouping.entities.items()}
        fixed = self._fixed
        for item in items:
            if fixed and any(getattr(item, f) != v for f, v in fixed.items()):
                continue  # another value sharing the prefix (e.g. "12!" next to "12")
            member = by_type[type(item).entity_name()]
            if grouping.many[member]:
                grouped[member].append(item)
            else:
                grouped[member] = item
        result: G = grouping.build(grouped)
        return result

    def page_steps(self) -> Steps[CollectionPage[G]]:
        if self._span.empty:
            return CollectionPage(self._group(()), None)
        page: Page[Entity] = yield from self.query.page_steps()
        return CollectionPage(self._group(page.items), page.cursor, page.invalid)

    def steps(self) -> Steps[G]:
        if self._span.empty:
            return self._group(())
        items = yield from self.query.all_steps()
        return self._group(items)

    def run(self) -> G:
        """Every member from the current start (up to `limit` items), grouped."""
        return self.app.drive(self.steps())

    async def arun(self) -> G:
        return await self.app.adrive(self.steps())

    all, aall = run, arun

    def page(self) -> CollectionPage[G]:
        """One request's worth of members, grouped, with the cursor of the next page."""
        return self.app.drive(self.page_steps())

    async def apage(self) -> CollectionPage[G]:
        return await self.app.adrive(self.page_steps())

    def pages(self) -> Iterator[CollectionPage[G]]:
        """Every page from the current start, following cursors."""
        start = self.query._start
        try:
            while True:
                page = self.page()
                yield page
                if page.cursor is None:
                    break
                self.query._start = cursors.decode(page.cursor)
        finally:
            self.query._start = start

    async def apages(self) -> AsyncIterator[CollectionPage[G]]:
        start = self.query._start
        try:
            while True:
                page = await self.apage()
                yield page
                if page.cursor is None:
                    break
                self.query._start = cursors.decode(page.cursor)
        finally:
            self.query._start = start
