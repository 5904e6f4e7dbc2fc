"""Immutable syntax trees of DynamoDB expressions; `#name` and `:value` placeholders stay unresolved."""

from __future__ import annotations

from dataclasses import dataclass

# A path element: a literal attribute name, a `#name` placeholder (kept with its `#`), or a list index.
Part = str | int


@dataclass(frozen=True, slots=True)
class Path:
    """A document path such as `a.#b[3]`."""

    parts: tuple[Part, ...]

    @property
    def has_refs(self) -> bool:
        return any(type(p) is str and p[0] == "#" for p in self.parts)


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A `:value` placeholder."""

    ref: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function call: a condition function, `size`, `if_not_exists` or `list_append`."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Arith:
    """`left + right` or `left - right` in a SET action."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare:
    """`left <op> right` for one of = <> < <= > >=."""

    op: str
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
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class Action:
    """One update action; `clause` is SET, REMOVE, ADD or DELETE, `value` is None for REMOVE."""

    clause: str
    path: Path
    value: Node | None


Node = Path | ValueRef | Call | Arith | Compare | Between | In | And | Or | Not


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes of `node`."""
    if isinstance(node, Call):
        return node.args
    if isinstance(node, (Arith, Compare)):
        return (node.left, node.right)
    if isinstance(node, Between):
        return (node.subject, node.low, node.high)
    if isinstance(node, In):
        return (node.subject, *node.options)
    if isinstance(node, (And, Or)):
        return node.items
    if isinstance(node, Not):
        return (node.item,)
    return ()


def walk(roots: tuple[Node, ...]) -> list[Node]:
    """Every node under `roots`, pre-order, without recursion."""
    out: list[Node] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(node)))
    return out


def path_text(parts: tuple[Part, ...]) -> str:
    """A resolved path as DynamoDB prints it in messages: `[a, b, [3]]`."""
    return "[" + ", ".join(f"[{p}]" if type(p) is int else p for p in parts) + "]"
