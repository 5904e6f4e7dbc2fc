"""Syntax trees of PartiQL statements; values are already DynamoDB AttributeValues (parameters bound)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Paths and operator nodes are the expression language's own (`expressions.nodes`); PartiQL adds only its
# leaves: literal or bound values (`Value`) and `IS [NOT] MISSING | NULL` (`Is`).
from ..expressions.nodes import And, Arith, Between, Call, Compare, In, Not, Or, Part, Path

__all__ = ["And", "Arith", "Between", "Call", "Compare", "Delete", "Exists", "In", "Insert", "Is", "Node", "Not",
           "Or", "Part", "Path", "Select", "Source", "Statement", "Update", "Value", "conjuncts"]


@dataclass(frozen=True, slots=True)
class Value:
    """A literal or a bound `?` parameter, in wire shape."""

    av: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Is:
    """`x IS [NOT] MISSING` or `x IS [NOT] NULL`."""

    subject: Node
    what: str  # MISSING | NULL
    negated: bool


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
