"""The cached parse entry points and the parsed-expression objects they return."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..errors import validation
from .evaluate import Names, Operand, Test, Values, condition, resolve, set_value
from .nodes import Action, And, Arith, Between, Call, Compare, In, Node, Not, Or, Path, ValueRef, walk
from .parser import Parser, fail

_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed expression: the request parameter that carried it and the placeholders it uses, in order."""

    kind: str
    name_refs: tuple[str, ...]
    value_refs: tuple[str, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.name_refs)

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self.value_refs)


@dataclass(frozen=True, slots=True)
class ConditionAST(Parsed):
    """A ConditionExpression or FilterExpression with its compiled test."""

    root: Node
    test: Test
    nodes: tuple[Node, ...]  # every node under `root`, pre-order: what request checks look at


@dataclass(frozen=True, slots=True)
class KeyConditionAST(ConditionAST):
    """A KeyConditionExpression: one or two `(key path, operator, value placeholders)` conditions."""

    pieces: tuple[tuple[Path, str, tuple[ValueRef, ...]], ...]


@dataclass(frozen=True, slots=True)
class UpdateAST(Parsed):
    """An UpdateExpression: its actions and, for SET actions, the compiled right-hand sides."""

    actions: tuple[Action, ...]
    set_values: tuple[Operand | None, ...]
    # (operator, wanted value type, `:value`) for every placeholder fed to `+`, `-` or list_append in SET:
    # found once here, so checking a request's value types does not walk the tree again.
    typed_values: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ProjectionAST(Parsed):
    paths: tuple[Path, ...]


def _refs(roots: tuple[Node, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The distinct `#name` and `:value` placeholders under `roots`, in order of appearance."""
    names: dict[str, None] = {}
    values: dict[str, None] = {}
    for node in walk(roots):
        if isinstance(node, Path):
            for part in node.parts:
                if type(part) is str and part[0] == "#":
                    names[part] = None
        elif isinstance(node, ValueRef):
            values[node.ref] = None
    return tuple(names), tuple(values)


@lru_cache(maxsize=_CACHE_SIZE)
def parse_condition(text: str, kind: str = "ConditionExpression") -> ConditionAST:
    """Parse a ConditionExpression or FilterExpression (`kind` names the parameter in errors)."""
    root = Parser(text, kind).condition()
    return ConditionAST(kind, *_refs((root,)), root, condition(root), tuple(walk((root,))))


@lru_cache(maxsize=_CACHE_SIZE)
def parse_update(text: str, kind: str = "UpdateExpression") -> UpdateAST:
    """Parse an UpdateExpression."""
    actions = Parser(text, kind, "update").update()
    roots = tuple(node for action in actions for node in (action.path, action.value) if node is not None)
    values = tuple(set_value(a.value) if a.clause == "SET" else None for a in actions)  # type: ignore[arg-type]
    return UpdateAST(kind, *_refs(roots), actions, values, _typed_values(actions))


def _typed_values(actions: tuple[Action, ...]) -> tuple[tuple[str, str, str], ...]:
    found = []
    for action in actions:
        if action.clause != "SET":
            continue
        for node in walk((action.value,)):  # type: ignore[arg-type]
            if isinstance(node, Arith):
                name, wanted, args = node.op, "N", (node.left, node.right)
            elif isinstance(node, Call) and node.name == "list_append":
                name, wanted, args = "list_append", "L", node.args
            else:
                continue
            found += [(name, wanted, arg.ref) for arg in args if isinstance(arg, ValueRef)]
    return tuple(found)


@lru_cache(maxsize=_CACHE_SIZE)
def parse_projection(text: str, kind: str = "ProjectionExpression") -> ProjectionAST:
    """Parse a ProjectionExpression."""
    paths = Parser(text, kind, "projection").projection()
    return ProjectionAST(kind, *_refs(paths), paths)


_KEY_OPERATORS = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}
_MIRRORED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@lru_cache(maxsize=_CACHE_SIZE)
def parse_key_condition(text: str, kind: str = "KeyConditionExpression") -> KeyConditionAST:
    """Parse a KeyConditionExpression: equality on the partition key attribute(s), then sort-key conditions.

    Multi-attribute GSI keys allow up to 4 partition and 4 sort attributes; `reads` checks them against the key.
    """
    root = Parser(text, kind).condition()
    conditions = _conjuncts(root)
    if len(conditions) > 8:
        raise fail(kind, "Conditions can be of length 1 to 8 only")  # not confirmed against DynamoDB
    pieces = tuple(_key_piece(node, kind) for node in conditions)
    return KeyConditionAST(kind, *_refs((root,)), root, condition(root), tuple(walk((root,))), pieces)


def _conjuncts(root: Node) -> list[Node]:
    out: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack.extend(reversed(node.items))
        else:
            out.append(node)
    return out


def _key_piece(node: Node, kind: str) -> tuple[Path, str, tuple[ValueRef, ...]]:
    """One key condition as (key path, EQ|LT|LE|GT|GE|BETWEEN|BEGINS_WITH, value placeholders)."""
    if isinstance(node, (Or, Not, In)) or isinstance(node, Compare) and node.op == "<>":
        operator = {Or: "OR", Not: "NOT", In: "IN"}.get(type(node), "<>")
        raise _bad_operator(operator)
    if isinstance(node, Call) and node.name != "begins_with":
        raise _bad_operator(node.name)
    if isinstance(node, Compare):
        key, op, operands = node.left, node.op, (node.right,)
        if isinstance(key, ValueRef) and isinstance(node.right, Path):
            key, op, operands = node.right, _MIRRORED[op], (node.left,)
        operator = _KEY_OPERATORS[op]
    elif isinstance(node, Between):
        key, operands, operator = node.subject, (node.low, node.high), "BETWEEN"
    else:
        key, operands, operator = node.args[0], node.args[1:], "BEGINS_WITH"  # type: ignore[union-attr]
    if not isinstance(key, Path) or not all(isinstance(o, ValueRef) for o in operands):
        # AWS-verified wording (moto's test_query_unused_attribute_name) for e.g. `#pk = x`.
        raise fail(kind, "Invalid condition in KeyConditionExpression: Multiple attribute names used in one "
                         "condition")
    if len(key.parts) > 1:
        raise fail(kind, "KeyConditionExpressions cannot have conditions on nested attributes")
    return key, operator, operands  # type: ignore[return-value]


def _bad_operator(operator: str) -> Exception:
    return validation(f"Invalid operator used in KeyConditionExpression: {operator}")


def key_conditions(ast: KeyConditionAST, names: Names, values: Values) -> list[tuple[str, str, list[dict]]]:
    """The key conditions with names and values resolved: `[(attribute, operator, [values])]`."""
    return [(str(resolve(path.parts, names)[0]), operator, [values[v.ref] for v in operands])
            for path, operator, operands in ast.pieces]
