"""Reads: get by key, query by access pattern or collection, explicit scans, pages with cursors."""

from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from pydantic import ValidationError

from . import _cursors as cursors
from ._bound import Bound
from ._builders import Condition, Placeholders, attr, condition_of, projection
from ._entity import E, Entity
from ._errors import InvalidItems, ModelError
from ._keys import KeyDef
from ._steps import Steps, call
from ._validation import check_condition
from ._values import Item, from_av

if TYPE_CHECKING:
    from ._app import App

T = TypeVar("T")
Convert = Callable[[Bound[Any], Item], Any]
_TOP = "\U0010ffff"  # sorts after every other character: closes a prefix range


class UnboundedFilterWarning(UserWarning):
    """A query filters a whole partition: it reads (and pays for) every item before the filter."""


class ScanWarning(UserWarning):
    """A Scan reads the whole table; declare an access pattern instead where you can."""


def _entity(bound: Bound[Any], item: Item) -> Any:
    return bound.decode(item)


def _plain(bound: Bound[Any], item: Item) -> Any:
    return bound.plain(item)


class InvalidItemWarning(UserWarning):
    """A lenient read skipped stored items that do not validate as their entity (see `Page.invalid`)."""


@dataclass(frozen=True)
class InvalidItem:
    """A stored item that does not validate as its entity: its table key and the first validation error."""

    entity: str
    key: dict[str, Any]
    error: str

    def __str__(self) -> str:
        return f"{self.entity} {self.key}: {self.error}"


def invalid_item(bound: Bound[Any], item: Item, error: ValidationError) -> InvalidItem:
    table = bound.table
    key = {a: from_av(item[a]) for a in (table.pk, table.sk) if a and a in item}
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return InvalidItem(bound.name, key, f"{where}: {first.get('msg')}" if where else str(first.get("msg")))


def decode_checked(bound: Bound[E], item: Item) -> E:
    """An item as its entity; a stored item that does not validate raises InvalidItems (one readable line)."""
    try:
        return bound.decode(item)
    except ValidationError as error:
        raise InvalidItems([invalid_item(bound, item, error)]) from None


@dataclass
class Page(Generic[T]):
    """One page of results, the cursor of the next (None at the end) and included references.

    `invalid` lists stored items of the page that do not validate as their entity (lenient reads skip them).
    """

    items: list[T]
    cursor: str | None
    included: dict[str, dict[Any, Entity]] = field(default_factory=dict)
    invalid: list[InvalidItem] = field(default_factory=list)

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

    def steps(self) -> Steps[E | None]:
        return self._result((yield from call("GetItem", self.params())))

    def _result(self, response: dict[str, Any]) -> E | None:
        item = response.get("Item")
        return None if item is None else decode_checked(self.bound, item)

    def run(self) -> E | None:
        return self._result(self.app.transport.call("GetItem", self.params()))  # the hot path, no driver

    async def arun(self) -> E | None:
        return await self.app.adrive(self.steps())


class _Read(Generic[T]):
    """Shared paging for Query and Scan: filters, limits, projections, cursors and includes."""

    def __init__(self, app: App, bounds: Sequence[Bound[Any]], convert: Convert) -> None:
        self.app, self.bounds, self.convert = app, list(bounds), convert
        self.table = bounds[0].table
        self._filter: Condition | None = None
        self._limit: int | None = None
        self._start: dict[str, Any] | None = None
        self._project: tuple[str, ...] = ()
        self._includes: tuple[str, ...] = ()
        self._consistent = False
        self._strict = False
        self.invalid: list[InvalidItem] = []  # items the last all() skipped (lenient reads)

    def strict(self, strict: bool = True) -> Self:
        """Raise InvalidItems when a stored item does not validate (default: lenient, the item is skipped,
        reported in `Page.invalid` / `.invalid` and by an InvalidItemWarning)."""
        self._strict = strict
        return self

    def where(self, condition: Condition | Callable[[T], object]) -> Self:
        """A filter applied after the key condition (it does not reduce read capacity): a Condition
        (`attr("views") > 1`) or a function of the entity's fields, checked by type checkers
        (`lambda p: (p.views > 1) & (p.title != "")`)."""
        condition = condition_of(condition)
        check_condition(self.bounds, condition)
        self._filter = condition if self._filter is None else self._filter & condition
        return self

    def limit(self, count: int) -> Self:
        self._limit = count
        return self

    def start(self, cursor: str | None) -> Self:
        """Continue from a cursor returned in a previous Page."""
        self._start = cursors.decode(cursor) if cursor else None
        return self

    def consistent(self) -> Self:
        self._consistent = True
        return self

    def include(self, *references: str) -> Self:
        """Load the entities these reference fields point to, with batched reads (never one per item)."""
        for name in references:
            if not any(name in b.entity.references for b in self.bounds):
                raise ModelError(f"{[b.name for b in self.bounds]} declare no reference '{name}'")
        self._includes += references
        return self

    def _common(self, request: dict[str, Any], ph: Placeholders | None) -> dict[str, Any]:
        """Limit, start, consistency; filter and projection when `ph` is given to place their names."""
        if self._limit is not None:
            request["Limit"] = self._limit
        if self._start:
            request["ExclusiveStartKey"] = self._start
        if self._consistent:
            request["ConsistentRead"] = True
        if ph is None:
            return request
        if self._filter is not None:
            request["FilterExpression"] = self._filter.render(ph, self.bounds[0].encode)
        if self._project:
            request["ProjectionExpression"] = projection((*self._project, self.table.type_attribute), ph)
        return ph.into(request)

    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    operation = "Query"

    def _converters(self) -> dict[str, Callable[[Item], Any]]:
        """Item -> result by entity-type marker (each entity's compiled decoder when results are entities)."""
        if self.convert is _entity:
            return {b.name: b.decode for b in self.bounds}
        convert = self.convert
        return {b.name: functools.partial(convert, b) for b in self.bounds}

    def _before_run(self) -> None:
        """Checks made when a read runs (warnings)."""

    def page_steps(self) -> Steps[Page[T]]:
        """The requests of `page()`."""
        self._before_run()
        page = self._page((yield from call(self.operation, self.params())))
        if self._includes:
            from ._references import resolve

            page.included = yield from resolve(self.app, page.items, self._includes)
        return page

    def _page(self, response: dict[str, Any]) -> Page[T]:
        marker = self.table.type_attribute
        by_type = self._converters()
        items, invalid = [], []
        for item in response.get("Items", ()):
            tag = item.get(marker)
            convert = by_type.get(tag.get("S", "")) if tag else None
            if convert is not None:
                try:
                    items.append(convert(item))
                except ValidationError as error:
                    invalid.append(invalid_item(self._bound_of(tag["S"]), item, error))
        if invalid:
            if self._strict:
                raise InvalidItems(invalid)
            warnings.warn(
                f"skipped {len(invalid)} stored item(s) that do not validate (see Page.invalid): {invalid[0]}",
                InvalidItemWarning,
                stacklevel=4,
            )
        return Page(items, cursors.encode(response.get("LastEvaluatedKey")), invalid=invalid)

    def _bound_of(self, name: str) -> Bound[Any]:
        return next(b for b in self.bounds if b.name == name)

    def all_steps(self) -> Steps[list[T]]:
        """The requests of `all()`: every page from the current start (up to `limit` results)."""
        start, out = self._start, []
        self.invalid = []
        try:
            while True:
                page = yield from self.page_steps()
                out += page.items
                self.invalid += page.invalid
                if self._limit is not None and len(out) >= self._limit:
                    return out[: self._limit]
                if page.cursor is None:
                    return out
                self._start = cursors.decode(page.cursor)
        finally:
            self._start = start

    def page(self) -> Page[T]:
        """One request's worth of results."""
        if self._includes or self.operation != "Query":
            return self.app.drive(self.page_steps())
        self._before_run()
        return self._page(self.app.transport.call("Query", self.params()))  # the hot path, no driver

    async def apage(self) -> Page[T]:
        return await self.app.adrive(self.page_steps())

    def pages(self) -> Iterator[Page[T]]:
        """Every page from the current start, following cursors."""
        start = self._start
        try:
            while True:
                page = self.page()
                yield page
                if page.cursor is None:
                    break
                self._start = cursors.decode(page.cursor)
        finally:
            self._start = start

    async def apages(self) -> AsyncIterator[Page[T]]:
        start = self._start
        try:
            while True:
                page = await self.apage()
                yield page
                if page.cursor is None:
                    break
                self._start = cursors.decode(page.cursor)
        finally:
            self._start = start

    def all(self) -> list[T]:
        """Every result (up to `limit` results when a limit is set)."""
        return self.app.drive(self.all_steps())

    async def aall(self) -> list[T]:
        return await self.app.adrive(self.all_steps())

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.apages():
            for item in page.items:
                yield item


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
        # a filter reads the whole partition unless the sort key is bounded (by the pattern or a call)
        self._bounded = bool(self._sk_given) or (key.sk is None and key.index is None)  # one item
        self._warned = False

    def _before_run(self) -> None:
        if self._filter is not None and not self._bounded and not self._warned:
            self._warned = True
            warnings.warn(
                f"query {self.name or self.key.alias}: a filter with no sort key condition reads the whole "
                f"partition '{self.pk}' (each page reads up to 1 MB before filtering); bound the sort key "
                f"(.eq/.begins/.between/...) or serve the filter with a key",
                UnboundedFilterWarning,
                stacklevel=4,
            )

    def _prefix(self, values: Mapping[str, Any]) -> tuple[str, bool]:
        if self.key.sk is None:
            raise ModelError(f"{self.key.alias} has no sort key")
        if not values and not self._sk_given:  # the common case: only the entity's literal prefix
            return self.key.sk.head, not self.key.sk.fields
        merged = {**self._sk_given, **{k: self.bounds[0].coerce(k, v) for k, v in values.items()}}
        given = self.key.sk.leading(merged)
        return self.key.sk.prefix(merged), len(given) == len(self.key.sk.fields)

    def _sk_range(self, op: str, values: Mapping[str, Any]) -> Self:
        self._bounded = True
        if self.key.sk is None:
            return self
        prefix, complete = self._prefix(values)
        if self.key.sk_type == "N":  # a number: a value or nothing (no prefixes)
            if not complete:
                self._sort = None
                return self
            self._sort = (
                {"begins_with": "=", "eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op],
                (prefix,),
            )
            return self
        if op == "begins_with" and not prefix:
            self._sort = None
        elif op in ("begins_with", "eq"):
            self._sort = ("=", (prefix,)) if complete else ("begins_with", (prefix,))
        elif op in ("gt", "le"):
            self._sort = ({"gt": ">", "le": "<="}[op], (prefix if complete else prefix + _TOP,))
        else:
            self._sort = ({"ge": ">=", "lt": "<"}[op], (prefix,))
        return self

    def eq(self, **values: Any) -> Self:
        """Sort key equal to the full composite (or starting with a partial one)."""
        return self._sk_range("eq", values)

    def begins_with(self, **values: Any) -> Self:
        return self._sk_range("begins_with", values)

    def begins(self, **values: Any) -> Self:
        """Sort key starting with a partial value: the last given field's value is a prefix of the stored one
        (`.begins(first_name="Jo")` finds "John"); earlier fields are whole values. `begins_with`/`eq` take
        whole values (`first_name="Jo"` finds only "Jo")."""
        if self.key.sk is None or self.key.sk_type == "N":
            raise ModelError(f"{self.key.alias}: begins() needs a text sort key")
        if not values:
            raise ModelError("begins() needs the (partial) value of a sort key field")
        given = self.key.sk.leading({**self._sk_given, **values})
        last = given[-1]
        merged = {
            name: v if name == last and isinstance(v, str) else self.bounds[0].coerce(name, v)  # partial text
            for name, v in {**self._sk_given, **values}.items()
        }
        self._bounded = True
        prefix = self.key.sk.partial(merged, last)
        self._sort = ("begins_with", (prefix,)) if prefix else None
        return self

    def gt(self, **values: Any) -> Self:
        return self._sk_range("gt", values)

    def ge(self, **values: Any) -> Self:
        return self._sk_range("ge", values)

    def lt(self, **values: Any) -> Self:
        return self._sk_range("lt", values)

    def le(self, **values: Any) -> Self:
        return self._sk_range("le", values)

    def between(self, low: Mapping[str, Any], high: Mapping[str, Any]) -> Self:
        """Inclusive range between two (partial) sort key composites."""
        self._bounded = True
        low_prefix, _ = self._prefix(low)
        high_prefix, complete = self._prefix(high)
        if self.key.sk_type == "N":
            self._sort = ("BETWEEN", (low_prefix, high_prefix))
            return self
        self._sort = ("BETWEEN", (low_prefix, high_prefix if complete else high_prefix + _TOP))
        return self

    def reverse(self) -> Self:
        """Descending sort key order."""
        self._forward = False
        return self

    def project(self, *fields: str) -> Query[dict[str, Any]]:
        """Return only these fields, as plain dicts."""
        for path in fields:
            check_condition(self.bounds, attr(path).exists())
        self._project = fields
        self.convert = _plain
        return self  # type: ignore[return-value]

    def params(self) -> dict[str, Any]:
        op, operands = self._sort if self._sort is not None and self.key.sk_attr else ("", ())
        condition, names = _key_condition(self.key.pk_attr, self.key.sk_attr, op)
        values = {":v0": {"S": self.pk}}
        tag = self.key.sk_type
        for position, operand in enumerate(operands, 1):
            values[f":v{position}"] = {tag: operand}
        request: dict[str, Any] = {"TableName": self.table.name, "KeyConditionExpression": condition}
        if self.key.index:
            request["IndexName"] = self.key.index
        if not self._forward:
            request["ScanIndexForward"] = False
        if self._filter is None and not self._project:  # nothing else needs placeholders
            request["ExpressionAttributeNames"] = dict(names)
            request["ExpressionAttributeValues"] = values
            return self._common(request, None)
        return self._common(request, Placeholders.seeded(names, values))


_KEY_CONDITIONS: dict[tuple[str, str | None, str], tuple[str, dict[str, str]]] = {}


def _key_condition(pk_attr: str, sk_attr: str | None, op: str) -> tuple[str, dict[str, str]]:
    """The KeyConditionExpression text and names for a key and sort operator (values are :v0, :v1, ...)."""
    cached = _KEY_CONDITIONS.get((pk_attr, sk_attr, op))
    if cached is not None:
        return cached
    ph = Placeholders()
    condition = f"{ph.path(pk_attr)} = {ph.value({})}"
    if op and sk_attr is not None:
        sk = ph.path(sk_attr)
        if op == "begins_with":
            condition += f" AND begins_with({sk}, {ph.value({})})"
        elif op == "BETWEEN":
            condition += f" AND {sk} BETWEEN {ph.value({})} AND {ph.value({})}"
        else:
            condition += f" AND {sk} {op} {ph.value({})}"
    cached = _KEY_CONDITIONS[(pk_attr, sk_attr, op)] = (condition, dict(ph.names))
    return cached


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

    def page_steps(self) -> Steps[Page[E]]:
        warnings.warn(
            f"Scan of table '{self.table.name}' for {self.bounds[0].name}: it reads the whole table",
            ScanWarning,
            stacklevel=4,
        )
        return (yield from super().page_steps())
