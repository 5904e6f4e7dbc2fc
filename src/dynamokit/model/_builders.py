"""Expression builders with safe placeholders: conditions/filters, updates and projections."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from ._values import AttributeValue, to_av

Encoder = Callable[[str, Any], AttributeValue]
_PATH = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


class Placeholders:
    """Allocates #n / :v placeholders, so no attribute name or value is ever spliced into an expression."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, AttributeValue] = {}
        self._by_name: dict[str, str] = {}

    def path(self, path: str) -> str:
        """`a.b[2]` as `#n0.#n1[2]`."""
        if "." not in path and "[" not in path:  # a top-level name: no parsing
            placeholder = self._by_name.get(path)
            if placeholder is None:
                placeholder = self._by_name[path] = f"#n{len(self._by_name)}"
                self.names[placeholder] = path
            return placeholder
        out = []
        for match in _PATH.finditer(path):
            name, subscripts = match.groups()
            placeholder = self._by_name.get(name)
            if placeholder is None:
                placeholder = self._by_name[name] = f"#n{len(self._by_name)}"
                self.names[placeholder] = name
            out.append(placeholder + subscripts)
        return ".".join(out)

    @classmethod
    def seeded(cls, names: Mapping[str, str], values: Mapping[str, AttributeValue]) -> Placeholders:
        """Placeholders continuing after names and values already placed (e.g. a cached key condition)."""
        ph = cls()
        ph.names = dict(names)
        ph.values = dict(values)
        ph._by_name = {name: placeholder for placeholder, name in names.items()}
        return ph

    def value(self, value: AttributeValue) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def into(self, request: dict[str, Any]) -> dict[str, Any]:
        """Add the allocated names and values to a request."""
        if self.names:
            request["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            request["ExpressionAttributeValues"] = dict(self.values)
        return request


def root(path: str) -> str:
    """The top-level attribute of a document path."""
    if "." not in path and "[" not in path:
        return path
    return re.split(r"[.\[]", path, maxsplit=1)[0]


class Condition:
    """A condition or filter expression; combine with `&`, `|` and `~`."""

    def render(self, ph: Placeholders, encode: Encoder) -> str:
        raise NotImplementedError

    def paths(self) -> Iterator[str]:
        """The attribute paths this condition names."""
        for value in self.__dict__.values():
            for part in value if isinstance(value, tuple) else (value,):
                if isinstance(part, (Condition, Operand)):
                    yield from part.paths()
        path = self.__dict__.get("path")
        if isinstance(path, str):
            yield path

    def __and__(self, other: Condition) -> Condition:
        return _Join("AND", self, other)

    def __or__(self, other: Condition) -> Condition:
        return _Join("OR", self, other)

    def __invert__(self) -> Condition:
        return _Not(self)

    def __bool__(self) -> bool:
        raise TypeError("a condition has no truth value: combine conditions with &, | and ~ (not and/or/not)")


@dataclass(frozen=True, eq=False)
class _Join(Condition):
    op: str
    left: Condition
    right: Condition

    def render(self, ph: Placeholders, encode: Encoder) -> str:
        return f"({self.left.render(ph, encode)} {self.op} {self.right.render(ph, encode)})"


@dataclass(frozen=True, eq=False)
class _Not(Condition):
    inner: Condition

    def render(self, ph: Placeholders, encode: Encoder) -> str:
        return f"(NOT {self.inner.render(ph, encode)})"


@dataclass(frozen=True, eq=False)
class _Compare(Condition):
    left: Operand
    op: str
    right: Any

    def render(self, ph: Placeholders, encode: Encoder) -> str:
        return f"{self.left.render(ph)} {self.op} {_operand(self.right, self.left, ph, encode)}"


@dataclass(frozen=True, eq=False)
class _Call(Condition):
    function: str
    path: str
    args: tuple[Any, ...] = ()

    def render(self, ph: Placeholders, encode: Encoder) -> str:
        if not self.args:  # attribute_exists(path), attribute_not_exists(path)
            return f"{self.function}({ph.path(self.path)})"
        args = [ph.path(self.path)] + [
            ph.value(a if isinstance(a, dict) else encode(self.path, a)) for a in self.args
        ]
        return f"{self.function}({', '.join(args)})"


@dataclass(frozen=True, eq=False)
class _Between(Condition):
    left: Operand
    low: Any
    high: Any

    def render(self, ph: Placeholders, encode: Encoder) -> str:
        return (
            f"{self.left.render(ph)} BETWEEN {_operand(self.low, self.left, ph, encode)} "
            f"AND {_operand(self.high, self.left, ph, encode)}"
        )


@dataclass(frozen=True, eq=False)
class _In(Condition):
    left: Operand
    options: tuple[Any, ...]

    def render(self, ph: Placeholders, encode: Encoder) -> str:
        options = ", ".join(_operand(o, self.left, ph, encode) for o in self.options)
        return f"{self.left.render(ph)} IN ({options})"


def _operand(value: Any, left: Operand, ph: Placeholders, encode: Encoder) -> str:
    if isinstance(value, Operand):
        return value.render(ph)
    if isinstance(left, Attr):
        return ph.value(encode(left.path, value))
    return ph.value(to_av(value))


class Operand:
    """Something comparable: an attribute path or `size(path)`."""

    def render(self, ph: Placeholders) -> str:
        raise NotImplementedError

    def paths(self) -> Iterator[str]:
        yield self.path  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return _Compare(self, "=", other)

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return _Compare(self, "<>", other)

    def __lt__(self, other: Any) -> Condition:
        return _Compare(self, "<", other)

    def __le__(self, other: Any) -> Condition:
        return _Compare(self, "<=", other)

    def __gt__(self, other: Any) -> Condition:
        return _Compare(self, ">", other)

    def __ge__(self, other: Any) -> Condition:
        return _Compare(self, ">=", other)

    def __hash__(self) -> int:
        return id(self)

    def between(self, low: Any, high: Any) -> Condition:
        return _Between(self, low, high)

    def is_in(self, *options: Any) -> Condition:
        return _In(self, options)


@dataclass(frozen=True, eq=False)
class Size(Operand):
    """`size(path)`."""

    path: str

    def render(self, ph: Placeholders) -> str:
        return f"size({ph.path(self.path)})"


@dataclass(frozen=True, eq=False)
class Attr(Operand):
    """An attribute path in a condition: `attr("views") > 10`, `attr("tags").contains("x")`."""

    path: str

    def render(self, ph: Placeholders) -> str:
        return ph.path(self.path)

    def exists(self) -> Condition:
        return _Call("attribute_exists", self.path)

    def not_exists(self) -> Condition:
        return _Call("attribute_not_exists", self.path)

    def begins_with(self, prefix: str) -> Condition:
        return _Call("begins_with", self.path, ({"S": prefix},))

    def contains(self, value: Any) -> Condition:
        return _Call("contains", self.path, (to_av(value),))

    def type_is(self, kind: str) -> Condition:
        return _Call("attribute_type", self.path, ({"S": kind},))

    def size(self) -> Size:
        return Size(self.path)


def attr(path: str) -> Attr:
    """An attribute path for conditions and filters."""
    return Attr(path)


class Fields:
    """Stands in for an entity in a filter function: `p.views` is `attr("views")`, `p.address.city` is
    `attr("address.city")`, so `.where(lambda p: (p.views > 1) & (p.title == "x"))` builds a condition
    whose names and operand types a type checker checks against the entity."""

    def __init__(self, path: str = "") -> None:
        self._path = path

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Path(f"{self._path}.{name}" if self._path else name)


@dataclass(frozen=True, eq=False)
class _Path(Attr):
    """An attribute reached through `Fields`: nested fields by attribute access."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Path(f"{self.path}.{name}")


def condition_of(condition: Condition | Callable[[Any], object]) -> Condition:
    """A Condition, or the Condition a filter function builds from `Fields` (`lambda p: p.views > 1`)."""
    if isinstance(condition, Condition):
        return condition
    built = condition(Fields())
    if not isinstance(built, Condition):
        raise TypeError(
            "a filter function must return a condition built from its argument's fields, e.g. "
            f"lambda p: (p.views > 1) & (p.title == 'x'); got {built!r}"
        )
    return built


@dataclass
class Update:
    """An update: set, remove, add, subtract, append, prepend, delete-from-set, if_not_exists.

    Each method takes a mapping of document paths and/or keyword arguments for top-level fields.
    """

    actions: list[tuple[str, str, Any]] = field(default_factory=list)

    def _add(self, kind: str, values: Mapping[str, Any] | None, kw: Mapping[str, Any]) -> Self:
        if values:
            self.actions.extend([(kind, path, value) for path, value in values.items()])
        self.actions.extend([(kind, path, value) for path, value in kw.items()])
        return self

    def set(self, values: Mapping[str, Any] | None = None, /, **kw: Any) -> Self:
        """SET path = value (a value of None removes the attribute)."""
        return self._add("set", values, kw)

    def remove(self, *paths: str) -> Self:
        self.actions.extend(("remove", path, None) for path in paths)
        return self

    def add(self, values: Mapping[str, Any] | None = None, /, **kw: Any) -> Self:
        """ADD a number, or elements to a set."""
        return self._add("add", values, kw)

    def subtract(self, values: Mapping[str, Any] | None = None, /, **kw: Any) -> Self:
        return self._add("subtract", values, kw)

    def append(self, values: Mapping[str, Any] | None = None, /, **kw: Any) -> Self:
        return self._add("append", values, kw)

    def prepend(self, values: Mapping[str, Any] | None = None, /, **kw: Any) -> Self:
        return self._add("prepend", values, kw)

    def delete(self, values: Mapping[str, Any] | None = None, /, **kw: Any) -> Self:
        """DELETE elements from a set."""
        return self._add("delete", values, kw)

    def if_not_exists(self, values: Mapping[str, Any] | None = None, /, **kw: Any) -> Self:
        """SET path = if_not_exists(path, value)."""
        return self._add("if_not_exists", values, kw)

    def assigned(self) -> dict[str, Any]:
        """Top-level attributes whose new value this update alone decides (plain set / remove)."""
        out: dict[str, Any] = {}
        for kind, path, value in self.actions:
            if path == root(path) and kind in ("set", "remove"):
                out[path] = value
        return out

    def touched(self) -> frozenset[str]:
        """Top-level attributes this update changes in any way."""
        return frozenset(root(path) for _, path, _ in self.actions)

    def render(self, ph: Placeholders, encode: Encoder) -> str:
        """The UpdateExpression text."""
        sets: list[str] = []
        removes: list[str] = []
        adds: list[str] = []
        deletes: list[str] = []
        for kind, path, value in self.actions:
            name = ph.path(path)
            if kind == "remove" or (kind == "set" and value is None):
                removes.append(name)
            elif kind == "set":
                sets.append(f"{name} = {ph.value(encode(path, value))}")
            elif kind == "subtract":
                sets.append(f"{name} = {name} - {ph.value(encode(path, value))}")
            elif kind == "append":
                sets.append(f"{name} = list_append({name}, {ph.value(to_av(list(value)))})")
            elif kind == "prepend":
                sets.append(f"{name} = list_append({ph.value(to_av(list(value)))}, {name})")
            elif kind == "if_not_exists":
                sets.append(f"{name} = if_not_exists({name}, {ph.value(encode(path, value))})")
            elif kind == "add":
                adds.append(f"{name} {ph.value(encode(path, value))}")
            else:
                deletes.append(f"{name} {ph.value(encode(path, value))}")
        clauses = []
        for word, parts in (("SET ", sets), ("REMOVE ", removes), ("ADD ", adds), ("DELETE ", deletes)):
            if parts:
                clauses.append(word + ", ".join(parts))
        return " ".join(clauses)


def projection(paths: Iterable[str], ph: Placeholders) -> str:
    """A ProjectionExpression."""
    return ", ".join(ph.path(p) for p in paths)
