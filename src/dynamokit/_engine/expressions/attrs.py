"""DynamoDB's comparison and inspection rules for attribute values in wire shape (`{"N": "1.5"}`)."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

AttrValue = dict[str, Any]
SET_TYPES = frozenset({"SS", "NS", "BS"})
SCALAR_ORDERED = frozenset({"N", "S", "B"})
TYPE_NAMES = frozenset({"S", "N", "B", "SS", "NS", "BS", "L", "M", "BOOL", "NULL"})


def kind(value: AttrValue) -> str:
    """The type tag of an attribute value."""
    for tag in value:
        return tag
    raise ValueError("empty attribute value")


def _bytes(text: str) -> bytes:
    return base64.b64decode(text)


def _number_set(items: list[str]) -> frozenset[Decimal]:
    return frozenset(Decimal(x) for x in items)


def equal(a: AttrValue, b: AttrValue) -> bool:
    """DynamoDB equality: same type and same value; sets ignore order, numbers compare numerically."""
    ((ta, x),) = a.items()
    ((tb, y),) = b.items()
    if ta != tb:
        return False
    if ta == "N":
        return x == y or Decimal(x) == Decimal(y)
    if ta in ("S", "B", "BOOL", "NULL"):
        return bool(x == y)
    if ta == "NS":
        return len(x) == len(y) and _number_set(x) == _number_set(y)
    if ta in SET_TYPES:
        return len(x) == len(y) and set(x) == set(y)
    if ta == "L":
        return len(x) == len(y) and all(equal(p, q) for p, q in zip(x, y))
    return x.keys() == y.keys() and all(equal(v, y[k]) for k, v in x.items())


def order(a: AttrValue, b: AttrValue) -> int | None:
    """-1, 0 or 1 for two values of one ordered type (N, S, B); None when they cannot be ordered."""
    ((ta, x),) = a.items()
    ((tb, y),) = b.items()
    if ta != tb or ta not in SCALAR_ORDERED:
        return None
    if ta == "N":
        x, y = Decimal(x), Decimal(y)
    elif ta == "B":
        x, y = _bytes(x), _bytes(y)
    return (x > y) - (x < y)  # S: code-point order equals UTF-8 byte order


def size(value: AttrValue) -> int | None:
    """The size() function: string length, binary bytes, element count; None for other types."""
    ((tag, x),) = value.items()
    if tag == "S":
        return len(x)
    if tag == "B":
        return len(_bytes(x))
    if tag in SET_TYPES or tag in ("L", "M"):
        return len(x)
    return None


def contains(haystack: AttrValue, needle: AttrValue) -> bool:
    """contains(): substring of S or B, member of a set, or element of a list."""
    ((th, x),) = haystack.items()
    ((tn, y),) = needle.items()
    if th == "S":
        return tn == "S" and y in x
    if th == "B":
        return tn == "B" and _bytes(y) in _bytes(x)
    if th in SET_TYPES:
        if th[0] != tn:
            return False
        if tn == "N":
            return Decimal(y) in _number_set(x)
        return y in x
    if th == "L":
        return any(equal(element, needle) for element in x)
    return False


def begins_with(value: AttrValue, prefix: AttrValue) -> bool:
    """begins_with(): string or binary prefix of the same type."""
    ((tv, x),) = value.items()
    ((tp, y),) = prefix.items()
    if tv != tp:
        return False
    if tv == "S":
        return bool(x.startswith(y))
    if tv == "B":
        return _bytes(x).startswith(_bytes(y))
    return False


def show(value: AttrValue) -> str:
    """A value as DynamoDB prints it in messages: `{N:5}`."""
    ((tag, x),) = value.items()
    return f"{{{tag}:{x}}}"
