"""Syntax trees of PartiQL statements; values are already DynamoDB AttributeValues (parameters bound)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Part = str | int  # a map key or a list index


@dataclass(frozen=True, slots=True)
class Path:
    """A document path: `a.b[2]`."""

    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Value:
    """A literal or a bound `?` parameter, in wire shape."""

    av: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; `name` is lower case."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Arith:
    """`left + right` or `left - right` (UPDATE ... SET only)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # = <> < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Between:
    subject: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class In:
    subject: Node
    options: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Is:
    """`x IS [NOT] MISSING` or `x IS [NOT] NULL`."""

    subject: Node
    what: str  # MISSING | NULL
    negated: bool


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = Path | Value | Call | Arith | Compare | Between | In | Is | And | Or | Not


@dataclass(frozen=True, slots=True)
class Source:
    table: str
    index: str | None = None


@dataclass(frozen=True, slots=True)
class Select:
    source: Source
    columns: tuple[Path, ...] | None  # None: `*`
    where: Node | None
    order: tuple[tuple[Path, bool], ...]  # (key, descending)


@dataclass(frozen=True, slots=True)
class Insert:
    table: str
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Update:
    table: str
    actions: tuple[tuple[str, Path, Node | None], ...]  # (SET | REMOVE, path, value)
    where: Node
    returning: str | None  # ALL_OLD | ALL_NEW | UPDATED_OLD | UPDATED_NEW


@dataclass(frozen=True, slots=True)
class Delete:
    table: str
    where: Node
    returning: str | None


@dataclass(frozen=True, slots=True)
class Exists:
    """`EXISTS(SELECT ...)`: a condition check inside ExecuteTransaction."""

    select: Select


Statement = Select | Insert | Update | Delete | Exists


def conjuncts(node: Node | None) -> list[Node]:
    """The top-level AND terms of a WHERE clause."""
    if node is None:
        return []
    return list(node.items) if isinstance(node, And) else [node]
