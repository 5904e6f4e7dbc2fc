"""Reads: get by key, query by access pattern or collection, explicit scans, pages with cursors."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import cursors
from .bound import Bound
from .builders import Condition, Placeholders, projection
from .entity import E, Entity
from .errors import ModelError
from .keys import KeyDef
from .values import Item

if TYPE_CHECKING:
    from .app import App

T = TypeVar("T")
Convert = Callable[[Bound[Any], Item], Any]
_TOP = "\U0010ffff"  # sorts after every other character: closes a prefix range


class ScanWarning(UserWarning):
    """A Scan reads the whole table; declare an access pattern instead where you can."""


def _entity(bound: Bound[Any], item: Item) -> Any:
    return bound.decode(item)


def _plain(bound: Bound[Any], item: Item) -> Any:
    return bound.plain(item)


@dataclass
class Page(Generic[T]):
    """One page of results, the cursor of the next (None at the end) and included references."""

    items: list[T]
    cursor: str | None
    included: dict[str, dict[Any, Entity]] = field(default_factory=dict)

    def ref(self, item: Any, name: str) -> Any:
        """The entity that `item.<name>` references (loaded with `.include(name)`), or None."""
        return self.included.get(name, {}).get(getattr(item, name))


class Get(Generic[E]):
    """GetItem of one entity by its primary key inputs."""

    def __init__(self, app: App, bound: Bound[E], key: Mapping[str, Any]) -> None:
        self.app, self.bound, self.key = app, bound, dict(key)
        self._consistent = False

    def consistent(self) -> Get[E]:
        self._consistent = True
        return self

    def params(self) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self.bound.table.name, "Key": self.bound.key(self.key)}
        if self._consistent:
            request["ConsistentRead"] = True
        return request

    def run(self) -> E | None:
        item = self.app.transport.call("GetItem", self.params()).get("Item")
        return None if item is None else self.bound.decode(item)


class _Read(Generic[T]):
    """Shared paging for Query and Scan: filters, limits, projections, cursors and includes."""

    def __init__(self, app: App, bounds: Sequence[Bound[Any]], convert: Convert) -> None:
        self.app, self.bounds, self.convert = app, list(bounds), convert
        self.table = bounds[0].table
        self.decoders = {b.name: b for b in bounds}
        self._filter: Condition | None = None
        self._limit: int | None = None
        self._start: dict[str, Any] | None = None
        self._project: tuple[str, ...] = ()
        self._includes: tuple[str, ...] = ()
        self._consistent = False

    def where(self, condition: Condition) -> _Read[T]:
        """A filter applied after the key condition (it does not reduce read capacity)."""
        self._filter = condition if self._filter is None else self._filter & condition
        return self

    def limit(self, count: int) -> _Read[T]:
        self._limit = count
        return self

    def start(self, cursor: str | None) -> _Read[T]:
        """Continue from a cursor returned in a previous Page."""
        self._start = cursors.decode(cursor) if cursor else None
        return self

    def consistent(self) -> _Read[T]:
        self._consistent = True
        return self

    def include(self, *references: str) -> _Read[T]:
        """Load the entities these reference fields point to, with batched reads (never one per item)."""
        for name in references:
            if not any(name in b.entity.references for b in self.bounds):
                raise ModelError(f"{[b.name for b in self.bounds]} declare no reference '{name}'")
        self._includes += references
        return self

    def _common(self, request: dict[str, Any], ph: Placeholders) -> dict[str, Any]:
        if self._filter is not None:
            request["FilterExpression"] = self._filter.render(ph, self.bounds[0].encode)
        if self._limit is not None:
            request["Limit"] = self._limit
        if self._start:
            request["ExclusiveStartKey"] = self._start
        if self._project:
            request["ProjectionExpression"] = projection((*self._project, self.table.type_attribute), ph)
        if self._consistent:
            request["ConsistentRead"] = True
        return ph.into(request)

    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    operation = "Query"

    def page(self) -> Page[T]:
        """One request's worth of results."""
        response = self.app.transport.call(self.operation, self.params())
        marker = self.table.type_attribute
        items = []
        for item in response.get("Items", []):
            bound = self.decoders.get(item.get(marker, {}).get("S", ""))
            if bound is not None:
                items.append(self.convert(bound, item))
        page: Page[T] = Page(items, cursors.encode(response.get("LastEvaluatedKey")))
        if self._includes:
            from .references import resolve

            page.included = resolve(self.app, items, self._includes)
        return page

    def pages(self) -> Iterator[Page[T]]:
        """Every page from the current start, following cursors."""
        start = self._start
        while True:
            page = self.page()
            yield page
            if page.cursor is None:
                break
            self._start = cursors.decode(page.cursor)
        self._start = start

    def all(self) -> list[T]:
        """Every result (up to `limit` results when a limit is set)."""
        out: list[T] = []
        for page in self.pages():
            out += page.items
            if self._limit is not None and len(out) >= self._limit:
                return out[: self._limit]
        return out

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items


class Query(_Read[T]):
    """A Query over one key (the table's or a GSI's): partition equality plus an optional sort condition."""

    def __init__(
        self,
        app: App,
        bounds: Sequence[Bound[Any]],
        key: KeyDef,
        values: Mapping[str, Any],
        convert: Convert = _entity,
        name: str = "",
        narrow: bool = True,
    ) -> None:
        super().__init__(app, bounds, convert)
        self.key, self.name = key, name
        typed = {k: bounds[0].coerce(k, v) for k, v in values.items()}
        pk = key.pk.render(typed)
        if pk is None:
            missing = [f for f in key.pk.fields if typed.get(f) is None]
            raise ModelError(f"query {name or key.alias}: partition key {key.pk.text!r} needs {missing}")
        self.pk = pk
        self._sk_given = {f: typed[f] for f in (key.sk.fields if key.sk else ()) if f in typed}
        self._sort: tuple[str, tuple[str, ...]] | None = None
        self._forward = True
        if narrow:  # stay within this entity's sort key prefix, e.g. "POST#"
            self._sk_range("begins_with", self._sk_given)

    def _prefix(self, values: Mapping[str, Any]) -> tuple[str, bool]:
        if self.key.sk is None:
            raise ModelError(f"{self.key.alias} has no sort key")
        merged = {**self._sk_given, **{k: self.bounds[0].coerce(k, v) for k, v in values.items()}}
        given = self.key.sk.leading(merged)
        return self.key.sk.prefix(merged), len(given) == len(self.key.sk.fields)

    def _sk_range(self, op: str, values: Mapping[str, Any]) -> Query[T]:
        if self.key.sk is None:
            return self
        prefix, complete = self._prefix(values)
        if op == "begins_with" and not prefix:
            self._sort = None
        elif op in ("begins_with", "eq"):
            self._sort = ("=", (prefix,)) if complete else ("begins_with", (prefix,))
        elif op in ("gt", "le"):
            self._sort = ({"gt": ">", "le": "<="}[op], (prefix if complete else prefix + _TOP,))
        else:
            self._sort = ({"ge": ">=", "lt": "<"}[op], (prefix,))
        return self

    def eq(self, **values: Any) -> Query[T]:
        """Sort key equal to the full composite (or starting with a partial one)."""
        return self._sk_range("eq", values)

    def begins_with(self, **values: Any) -> Query[T]:
        return self._sk_range("begins_with", values)

    def gt(self, **values: Any) -> Query[T]:
        return self._sk_range("gt", values)

    def ge(self, **values: Any) -> Query[T]:
        return self._sk_range("ge", values)

    def lt(self, **values: Any) -> Query[T]:
        return self._sk_range("lt", values)

    def le(self, **values: Any) -> Query[T]:
        return self._sk_range("le", values)

    def between(self, low: Mapping[str, Any], high: Mapping[str, Any]) -> Query[T]:
        """Inclusive range between two (partial) sort key composites."""
        low_prefix, _ = self._prefix(low)
        high_prefix, complete = self._prefix(high)
        self._sort = ("BETWEEN", (low_prefix, high_prefix if complete else high_prefix + _TOP))
        return self

    def reverse(self) -> Query[T]:
        """Descending sort key order."""
        self._forward = False
        return self

    def project(self, *fields: str) -> Query[dict[str, Any]]:
        """Return only these fields, as plain dicts."""
        self._project = fields
        self.convert = _plain
        return self  # type: ignore[return-value]

    def params(self) -> dict[str, Any]:
        ph = Placeholders()
        condition = f"{ph.path(self.key.pk_attr)} = {ph.value({'S': self.pk})}"
        if self._sort is not None and self.key.sk_attr is not None:
            op, operands = self._sort
            sk, values = ph.path(self.key.sk_attr), [ph.value({"S": v}) for v in operands]
            if op == "begins_with":
                condition += f" AND begins_with({sk}, {values[0]})"
            elif op == "BETWEEN":
                condition += f" AND {sk} BETWEEN {values[0]} AND {values[1]}"
            else:
                condition += f" AND {sk} {op} {values[0]}"
        request: dict[str, Any] = {"TableName": self.table.name, "KeyConditionExpression": condition}
        if self.key.index:
            request["IndexName"] = self.key.index
        if not self._forward:
            request["ScanIndexForward"] = False
        return self._common(request, ph)


class Scan(_Read[E]):
    """An explicit full-table Scan for one entity type (warns: prefer an access pattern)."""

    operation = "Scan"

    def params(self) -> dict[str, Any]:
        ph = Placeholders()
        marker = f"{ph.path(self.table.type_attribute)} = {ph.value({'S': self.bounds[0].name})}"
        request: dict[str, Any] = {"TableName": self.table.name}
        request = self._common(request, ph)
        request["FilterExpression"] = (
            f"{marker} AND ({request['FilterExpression']})" if "FilterExpression" in request else marker
        )
        return ph.into(request)

    def page(self) -> Page[E]:
        warnings.warn(
            f"Scan of table '{self.table.name}' for {self.bounds[0].name}: it reads the whole table",
            ScanWarning,
            stacklevel=3,
        )
        return super().page()
