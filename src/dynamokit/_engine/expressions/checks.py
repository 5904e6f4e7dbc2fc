"""Request-level checks that need ExpressionAttributeNames/-Values: placeholders, paths, operand types."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import validation
from .attrs import SCALAR_ORDERED, SET_TYPES, TYPE_NAMES, AttrValue, kind, order, show
from .evaluate import Names, Values, resolve
from .nodes import Arith, Between, Call, Compare, Node, Path, ValueRef, path_text
from .parsed import ConditionAST, Parsed, ProjectionAST, UpdateAST
from .parser import fail

_TYPE_WORDS = {"S": "STRING", "N": "NUMBER", "B": "BINARY", "NULL": "NULL", "BOOL": "BOOLEAN", "L": "LIST",
               "M": "MAP"}
_VALID_TYPES = "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}"


def check_placeholders(expressions: Mapping[str, Parsed | None], names: Names | None,
                       values: Values | None) -> None:
    """DynamoDB's request checks: every placeholder defined and used, then paths and operand types."""
    if names is not None and not names:
        raise validation("ExpressionAttributeNames must not be empty")
    if values is not None and not values:
        raise validation("ExpressionAttributeValues must not be empty")
    names, values = names or {}, values or {}
    used_names: set[str] = set()
    used_values: set[str] = set()
    for expression in expressions.values():
        if expression is None:
            continue
        for ref in expression.name_refs:
            if ref not in names:
                raise fail(expression.kind, "An expression attribute name used in the document path is not "
                                            f"defined; attribute name: {ref}")
        for ref in expression.value_refs:
            if ref not in values:
                raise fail(expression.kind, "An expression attribute value used in expression is not defined; "
                                            f"attribute value: {ref}")
        used_names.update(expression.name_refs)
        used_values.update(expression.value_refs)
        _check_semantics(expression, names, values)
    _check_unused("ExpressionAttributeNames", names, used_names)
    _check_unused("ExpressionAttributeValues", values, used_values)


def _check_unused(parameter: str, given: Mapping[str, object], used: set[str]) -> None:
    unused = sorted(set(given) - used)
    if unused:
        raise validation(f"Value provided in {parameter} unused in expressions: keys: {{{', '.join(unused)}}}")


def _check_semantics(expression: Parsed, names: Names, values: Values) -> None:
    if isinstance(expression, UpdateAST):
        check_paths(expression.kind, [resolve(a.path.parts, names) for a in expression.actions])
        _check_update_operands(expression, values)
    elif isinstance(expression, ProjectionAST):
        check_paths(expression.kind, [resolve(p.parts, names) for p in expression.paths])
    elif isinstance(expression, ConditionAST):
        nodes = expression.nodes
        for node in nodes:
            _check_distinct(expression.kind, node, names)
        for node in nodes:
            _check_condition_operands(expression.kind, node, values)


class _Trie:
    __slots__ = ("children", "end", "first")

    def __init__(self, first: tuple[str | int, ...]) -> None:
        self.children: dict[str | int, _Trie] = {}
        self.end = False
        self.first = first  # the first path that passed through this node


def check_paths(kind: str, paths: list[tuple[str | int, ...]]) -> None:
    """Reject paths that overlap (one is a prefix of another) or conflict (a map key vs a list index)."""
    root = _Trie(())
    overlap: str | None = None
    conflict: str | None = None
    for path in paths:
        node = root
        for part in path:
            if node.end and overlap is None:
                overlap = _pair("overlap", node.first, path)
            if conflict is None and any(type(k) is not type(part) for k in node.children):
                other = next(iter(node.children.values())).first
                conflict = _pair("conflict", other, path)
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Trie(path)
            node = child
        if (node.end or node.children) and overlap is None:
            overlap = _pair("overlap", node.first, path)
        node.end = True
    if overlap or conflict:
        raise fail(kind, overlap or conflict)  # type: ignore[arg-type]


def _pair(relation: str, one: tuple[str | int, ...], two: tuple[str | int, ...]) -> str:
    return (f"Two document paths {relation} with each other; must remove or rewrite one of these paths; "
            f"path one: {path_text(one)}, path two: {path_text(two)}")


def _operand_type(name: str, tag: str) -> str:
    return f"Incorrect operand type for operator or function; operator or function: {name}, operand type: {tag}"


def _check_update_operands(expression: UpdateAST, values: Values) -> None:
    for action in expression.actions:
        if action.clause in ("ADD", "DELETE"):
            tag = kind(values[action.value.ref])  # type: ignore[union-attr]
            if tag in SET_TYPES or (tag == "N" and action.clause == "ADD"):
                continue
            raise fail(expression.kind, "Incorrect operand type for operator or function; "
                                        f"operator: {action.clause}, operand type: {_TYPE_WORDS[tag]}")
    for name, wanted, ref in expression.typed_values:
        if kind(values[ref]) != wanted:
            raise fail(expression.kind, _operand_type(name, kind(values[ref])))


def _args(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, (Arith, Compare)):
        return (node.left, node.right)
    return ()


def _check_distinct(kind_: str, node: Node, names: Names) -> None:
    """`a = a`, `contains(a, a)`: DynamoDB wants the first operand distinct from the others."""
    if isinstance(node, Compare):
        operator = node.op
    elif isinstance(node, Call) and len(node.args) == 2:
        operator = node.name
    else:
        return
    first, second = _args(node)
    if isinstance(first, Path) and isinstance(second, Path):
        resolved = resolve(first.parts, names)
        if resolved == resolve(second.parts, names):
            raise fail(kind_, "The first operand must be distinct from the remaining operands for this operator "
                              f"or function; operator: {operator}, first operand: {path_text(resolved)}")


def _value(node: Node, values: Values) -> AttrValue | None:
    return values[node.ref] if isinstance(node, ValueRef) else None


def _check_condition_operands(kind_: str, node: Node, values: Values) -> None:
    """Type rules DynamoDB applies to `:values` before reading any item."""
    if isinstance(node, Compare) and node.op not in ("=", "<>"):
        for arg in (node.left, node.right):
            value = _value(arg, values)
            if value is not None and kind(value) not in SCALAR_ORDERED:
                raise fail(kind_, _operand_type(node.op, kind(value)))
    elif isinstance(node, Between):
        _check_between(kind_, node, values)
    elif isinstance(node, Call):
        _check_function_operands(kind_, node, values)


def _check_between(kind_: str, node: Between, values: Values) -> None:
    for arg in (node.subject, node.low, node.high):
        value = _value(arg, values)
        if value is not None and kind(value) not in SCALAR_ORDERED:
            raise fail(kind_, _operand_type("BETWEEN", kind(value)))
    low, high = _value(node.low, values), _value(node.high, values)
    if low is None or high is None:
        return
    bounds = f"lower bound operand: AttributeValue: {show(low)}, upper bound operand: AttributeValue: {show(high)}"
    if kind(low) != kind(high):
        raise fail(kind_, f"The BETWEEN operator requires same data type for lower and upper bounds; {bounds}")
    if order(low, high) == 1:
        raise fail(kind_, "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
                          + bounds)


def _check_function_operands(kind_: str, node: Call, values: Values) -> None:
    if node.name == "begins_with":
        for arg in node.args:
            value = _value(arg, values)
            if value is not None and kind(value) not in ("S", "B"):
                raise fail(kind_, _operand_type("begins_with", kind(value)))
    elif node.name == "size":
        value = _value(node.args[0], values)
        if value is not None and kind(value) in ("N", "BOOL", "NULL"):
            raise fail(kind_, _operand_type("size", kind(value)))
    elif node.name == "attribute_type":
        value = _value(node.args[1], values)
        if value is None:
            return
        if kind(value) != "S":
            raise fail(kind_, _operand_type("attribute_type", kind(value)))
        if value["S"] not in TYPE_NAMES:
            raise fail(kind_, f"Invalid attribute type name found; type: {value['S']}, valid types: {_VALID_TYPES}")
