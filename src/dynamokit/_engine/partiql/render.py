"""PartiQL conditions and values rendered as DynamoDB expressions with `#pN` / `:pN` placeholders."""

from __future__ import annotations

from typing import Any

from ..errors import validation
from .syntax import And, Arith, Between, Call, Compare, In, Is, Node, Not, Or, Path, Value

_CONDITION_FUNCTIONS = frozenset({"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with",
                                  "contains"})


class Expressions:
    """Builds expression texts that share one set of ExpressionAttributeNames and -Values."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, str] = {}

    def name(self, name: str) -> str:
        placeholder = self._by_name.get(name)
        if placeholder is None:
            placeholder = self._by_name[name] = f"#p{len(self._by_name)}"
            self.names[placeholder] = name
        return placeholder

    def value(self, av: dict[str, Any]) -> str:
        placeholder = f":p{len(self.values)}"
        self.values[placeholder] = av
        return placeholder

    def path(self, path: Path) -> str:
        text = ""
        for part in path.parts:
            text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + self.name(part)
        return text

    def operand(self, node: Node) -> str:
        """A path, value, function call or `a + b` inside an expression."""
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, Value):
            return self.value(node.av)
        if isinstance(node, Call):
            return f"{node.name}({', '.join(self.operand(arg) for arg in node.args)})"
        if isinstance(node, Arith):
            return f"{self.operand(node.left)} {node.op} {self.operand(node.right)}"
        raise validation("Unsupported operand: a condition can't be used as a value")

    def condition(self, node: Node) -> str:
        """The condition `node` as expression text, without enclosing parentheses."""
        if isinstance(node, Compare):
            return f"{self.operand(node.left)} {node.op} {self.operand(node.right)}"
        if isinstance(node, Between):
            return (f"{self.operand(node.subject)} BETWEEN {self.operand(node.low)} AND "
                    f"{self.operand(node.high)}")
        if isinstance(node, In):
            return f"{self.operand(node.subject)} IN ({', '.join(self.operand(o) for o in node.options)})"
        if isinstance(node, Is):
            return self._is(node)
        if isinstance(node, (And, Or)):
            joiner = " AND " if isinstance(node, And) else " OR "
            return joiner.join(self.group(item) for item in node.items)
        if isinstance(node, Not):
            return f"NOT ({self.condition(node.item)})"
        if isinstance(node, Call) and node.name in _CONDITION_FUNCTIONS:
            return self.operand(node)
        raise validation("Unsupported condition: the WHERE clause must be made of comparisons and functions")

    def group(self, node: Node) -> str:
        """The condition, parenthesized when it is made of several terms."""
        text = self.condition(node)
        composite = isinstance(node, (And, Or)) or (isinstance(node, Is) and node.what == "NULL")
        return f"({text})" if composite else text

    def all_of(self, nodes: list[Node]) -> str:
        return " AND ".join(self.group(node) for node in nodes)

    def _is(self, node: Is) -> str:
        if not isinstance(node.subject, Path):
            raise validation(f"Unsupported operand: IS {node.what} needs an attribute path")
        path = self.path(node.subject)
        if node.what == "MISSING":
            return f"attribute_exists({path})" if node.negated else f"attribute_not_exists({path})"
        null = self.value({"S": "NULL"})
        if node.negated:
            return f"attribute_exists({path}) AND NOT attribute_type({path}, {null})"
        return f"attribute_not_exists({path}) OR attribute_type({path}, {null})"
