"""Compilation of syntax trees into closures `(item, names, values) -> result`, built once per cached parse."""

from __future__ import annotations

from collections.abc import Callable

from .. import numbers
from ..errors import validation
from . import attrs
from .attrs import AttrValue
from .nodes import And, Arith, Between, Call, Compare, In, Node, Not, Or, Path, ValueRef

Item = dict[str, AttrValue]
Names = dict[str, str]
Values = dict[str, AttrValue]
Operand = Callable[[Item, Names, Values], "AttrValue | None"]
Test = Callable[[Item, Names, Values], bool]


def resolve(parts: tuple[str | int, ...], names: Names) -> tuple[str | int, ...]:
    """Replace `#name` placeholders in path parts by their attribute names."""
    return tuple(names[p] if type(p) is str and p[0] == "#" else p for p in parts)


def lookup(item: Item, path: tuple[str | int, ...]) -> AttrValue | None:
    """The value at a resolved document path, None when any step is missing or of the wrong type."""
    value = item.get(path[0])  # type: ignore[arg-type]
    for part in path[1:]:
        if value is None:
            return None
        if type(part) is int:
            inner = value.get("L")
            value = inner[part] if inner is not None and part < len(inner) else None
        else:
            inner = value.get("M")
            value = inner.get(part) if inner is not None else None
    return value


def _path(node: Path) -> Operand:
    parts = node.parts
    if node.has_refs:
        return lambda item, names, values: lookup(item, resolve(parts, names))
    if len(parts) == 1:
        name = parts[0]
        return lambda item, names, values: item.get(name)  # type: ignore[arg-type]
    return lambda item, names, values: lookup(item, parts)


def operand(node: Node) -> Operand:
    """A closure producing the value of a condition operand (None when missing)."""
    if isinstance(node, ValueRef):
        ref = node.ref
        return lambda item, names, values: values[ref]
    if isinstance(node, Path):
        return _path(node)
    if isinstance(node, Call) and node.name == "size":
        inner = operand(node.args[0])

        def size(item: Item, names: Names, values: Values) -> AttrValue | None:
            value = inner(item, names, values)
            length = attrs.size(value) if value is not None else None
            return None if length is None else {"N": str(length)}

        return size
    raise AssertionError(f"not an operand: {node!r}")


def _compare(node: Compare) -> Test:
    left, right, op = operand(node.left), operand(node.right), node.op
    if op in ("=", "<>"):
        want = op == "="

        def equality(item: Item, names: Names, values: Values) -> bool:
            a, b = left(item, names, values), right(item, names, values)
            if a is None or b is None:
                return not want
            return attrs.equal(a, b) == want

        return equality
    accept = {"<": (-1,), "<=": (-1, 0), ">": (1,), ">=": (1, 0)}[op]

    def ordering(item: Item, names: Names, values: Values) -> bool:
        a, b = left(item, names, values), right(item, names, values)
        return a is not None and b is not None and attrs.order(a, b) in accept

    return ordering


def _between(node: Between) -> Test:
    subject, low, high = operand(node.subject), operand(node.low), operand(node.high)

    def between(item: Item, names: Names, values: Values) -> bool:
        x, lo, hi = subject(item, names, values), low(item, names, values), high(item, names, values)
        if x is None or lo is None or hi is None:
            return False
        return attrs.order(lo, x) in (-1, 0) and attrs.order(x, hi) in (-1, 0)

    return between


def _in(node: In) -> Test:
    subject = operand(node.subject)
    options = [operand(o) for o in node.options]

    def member(item: Item, names: Names, values: Values) -> bool:
        x = subject(item, names, values)
        if x is None:
            return False
        for option in options:
            y = option(item, names, values)
            if y is not None and attrs.equal(x, y):
                return True
        return False

    return member


def _function(node: Call) -> Test:
    name = node.name
    first = operand(node.args[0])
    if name == "attribute_exists":
        return lambda item, names, values: first(item, names, values) is not None
    if name == "attribute_not_exists":
        return lambda item, names, values: first(item, names, values) is None
    second = operand(node.args[1])
    if name == "attribute_type":

        def has_type(item: Item, names: Names, values: Values) -> bool:
            value = first(item, names, values)
            return value is not None and attrs.kind(value) == second(item, names, values)["S"]  # type: ignore

        return has_type
    check = attrs.begins_with if name == "begins_with" else attrs.contains

    def function(item: Item, names: Names, values: Values) -> bool:
        a, b = first(item, names, values), second(item, names, values)
        return a is not None and b is not None and check(a, b)

    return function


def condition(node: Node) -> Test:
    """A closure evaluating a condition tree against an item."""
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, And):
        items = [condition(n) for n in node.items]
        return lambda item, names, values: all(f(item, names, values) for f in items)
    if isinstance(node, Or):
        items = [condition(n) for n in node.items]
        return lambda item, names, values: any(f(item, names, values) for f in items)
    if isinstance(node, Not):
        inner = condition(node.item)
        return lambda item, names, values: not inner(item, names, values)
    if isinstance(node, Between):
        return _between(node)
    if isinstance(node, In):
        return _in(node)
    if isinstance(node, Call):
        return _function(node)
    raise AssertionError(f"not a condition: {node!r}")


# ----- SET values of update expressions -----


def _missing() -> Exception:
    return validation("The provided expression refers to an attribute that does not exist in the item")


def _wrong_type() -> Exception:
    return validation("An operand in the update expression has an incorrect data type")


def set_value(node: Node) -> Operand:
    """A closure computing a SET right-hand side; missing attributes and wrong types raise DynamoDB's errors."""
    if isinstance(node, Arith):
        return _arith(node)
    if isinstance(node, Call):
        return _update_call(node)
    read = operand(node)

    def present(item: Item, names: Names, values: Values) -> AttrValue:
        value = read(item, names, values)
        if value is None:
            raise _missing()
        return value

    return present


def _arith(node: Arith) -> Operand:
    left, right, subtract = set_value(node.left), set_value(node.right), node.op == "-"

    def arith(item: Item, names: Names, values: Values) -> AttrValue:
        a, b = left(item, names, values), right(item, names, values)
        if "N" not in a or "N" not in b:
            raise _wrong_type()
        return {"N": numbers.add(a["N"], b["N"], subtract=subtract)}

    return arith


def _update_call(node: Call) -> Operand:
    first, second = node.args
    if node.name == "if_not_exists":
        current, fallback = operand(first), set_value(second)

        def if_not_exists(item: Item, names: Names, values: Values) -> AttrValue | None:
            value = current(item, names, values)
            return value if value is not None else fallback(item, names, values)

        return if_not_exists
    head, tail = set_value(first), set_value(second)

    def list_append(item: Item, names: Names, values: Values) -> AttrValue:
        a, b = head(item, names, values), tail(item, names, values)
        if "L" not in a or "L" not in b:
            raise _wrong_type()
        return {"L": a["L"] + b["L"]}

    return list_append

