"""PartiQL statements translated into the engine's own requests (GetItem, Query, Scan, PutItem, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import validation
from .render import Expressions
from .syntax import (
    Between,
    Call,
    Compare,
    Delete,
    Exists,
    Insert,
    Node,
    Path,
    Select,
    Update,
    Value,
    conjuncts,
)

if TYPE_CHECKING:
    from ..core import Engine
    from ..keys import KeySchema
    from ..schema import Table

NO_INDEX = "The table does not have the specified index"
NEEDS_KEY = "Where clause does not contain a mandatory equality on all key attributes"
_RANGE_OPS = frozenset({"=", "<", "<=", ">", ">="})
_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SET_FUNCTIONS = {"set_add": "ADD", "set_delete": "DELETE"}


@dataclass
class Plan:
    """One engine operation standing for a statement.

    A SELECT reads whole items (as its index projects them) and `columns` picks its columns afterwards:
    a ProjectionExpression would compact list elements, losing the positions `d[2]` names.
    """

    operation: str
    request: dict[str, Any]
    table: str
    columns: tuple[Path, ...] | None = None
    is_insert: bool = False
    returns: bool = False
    exprs: Expressions = field(default_factory=Expressions)

    def finish(self) -> Plan:
        """Attach the placeholders the expressions used."""
        if self.exprs.names:
            self.request["ExpressionAttributeNames"] = self.exprs.names
        if self.exprs.values:
            self.request["ExpressionAttributeValues"] = self.exprs.values
        return self


# -- keys ---------------------------------------------------------------------------------------------------
def _equality(node: Node, name: str) -> dict[str, Any] | None:
    """The value `node` pins attribute `name` to (`name = v` or `v = name`), if it does."""
    if not isinstance(node, Compare) or node.op != "=":
        return None
    for path, value in ((node.left, node.right), (node.right, node.left)):
        if isinstance(path, Path) and path.parts == (name,) and isinstance(value, Value):
            return value.av
    return None


def split_key(where: Node | None, names: tuple[str, ...]) -> tuple[dict[str, Any], list[Node]]:
    """The key attributes a WHERE clause pins by equality, and its remaining AND terms."""
    key: dict[str, Any] = {}
    rest: list[Node] = []
    for term in conjuncts(where):
        pinned = next(((n, v) for n in names if n not in key and (v := _equality(term, n)) is not None), None)
        if pinned is None:
            rest.append(term)
        else:
            key[pinned[0]] = pinned[1]
    return key, rest


def full_key(table: Table, where: Node | None) -> tuple[dict[str, Any], list[Node]]:
    key, rest = split_key(where, table.key.names)
    if len(key) != len(table.key.names):
        raise validation(NEEDS_KEY)
    return key, rest


def _range_condition(term: Node, name: str) -> Node | None:
    """`term` as a sort-key condition a Query can use, normalized to `name <op> value`, if it is one."""
    if isinstance(term, Compare) and term.op in _RANGE_OPS:
        if isinstance(term.left, Path) and term.left.parts == (name,) and isinstance(term.right, Value):
            return term
        if isinstance(term.right, Path) and term.right.parts == (name,) and isinstance(term.left, Value):
            return Compare(_FLIPPED[term.op], term.right, term.left)
    if isinstance(term, Between) and isinstance(term.subject, Path) and term.subject.parts == (name,):
        return term if isinstance(term.low, Value) and isinstance(term.high, Value) else None
    if isinstance(term, Call) and term.name == "begins_with" and len(term.args) == 2:
        path, prefix = term.args
        return term if isinstance(path, Path) and path.parts == (name,) and isinstance(prefix, Value) else None
    return None


# -- SELECT -------------------------------------------------------------------------------------------------
def plan_select(engine: Engine, select: Select) -> Plan:
    """GetItem for a full key, Query for a pinned partition key, otherwise Scan."""
    table = engine.table(select.source.table)
    index = None
    if select.source.index is not None:
        index = table.indexes.get(select.source.index)
        if index is None:
            raise validation(NO_INDEX)
    schema = index.key if index is not None else table.key
    hash_value, rest = split_key(select.where, (schema.hash.name,))
    forward = _order(select, schema, bool(hash_value))
    plan = Plan("Scan", {"TableName": table.name}, table.name, select.columns)
    if index is not None:
        plan.request["IndexName"] = index.name
    if not hash_value:
        if select.where is not None:
            plan.request["FilterExpression"] = plan.exprs.condition(select.where)
        return plan.finish()
    return _keyed(plan, schema, index is None, hash_value[schema.hash.name], rest, forward)


def _keyed(plan: Plan, schema: KeySchema, on_table: bool, hash_value: dict[str, Any], rest: list[Node],
           forward: bool) -> Plan:
    """GetItem when the table key is fully pinned and nothing else is asked, else a Query."""
    range_name = schema.range.name if schema.range is not None else None
    condition = None
    for term in rest:
        condition = _range_condition(term, range_name) if range_name is not None else None
        if condition is not None:
            rest.remove(term)
            break
    if on_table and not rest:
        if range_name is None:
            return _get(plan, {schema.hash.name: hash_value})
        if isinstance(condition, Compare) and condition.op == "=" and isinstance(condition.right, Value):
            return _get(plan, {schema.hash.name: hash_value, range_name: condition.right.av})
    exprs = plan.exprs
    key_text = f"{exprs.name(schema.hash.name)} = {exprs.value(hash_value)}"
    if condition is not None:
        key_text += " AND " + exprs.condition(condition)
    plan.operation = "Query"
    plan.request["KeyConditionExpression"] = key_text
    plan.request["ScanIndexForward"] = forward
    if rest:
        plan.request["FilterExpression"] = exprs.all_of(rest)
    return plan.finish()


def _get(plan: Plan, key: dict[str, Any]) -> Plan:
    plan.operation = "GetItem"
    plan.request["Key"] = key
    plan.exprs = Expressions()  # the key's placeholders are not sent
    return plan.finish()


def _order(select: Select, schema: KeySchema, has_hash: bool) -> bool:
    """Whether results run forward; ORDER BY is allowed on key attributes of a partition-key read."""
    if not select.order:
        return True
    if select.where is None:
        raise validation("Must have WHERE clause in the statement when using ORDER BY clause.")
    if not has_hash:
        raise validation("Must have at least one non-optional hash key condition in WHERE clause when using "
                         "ORDER BY clause.")
    forward = True
    for path, descending in select.order:
        name = path.parts[0]
        if len(path.parts) != 1 or name not in schema.names:
            raise validation(f"Attribute {name} in ORDER BY clause must be part of the primary key")
        if schema.range is None or name == schema.range.name:
            forward = not descending
    return forward


def plan_single_read(engine: Engine, select: Select, refusal: str) -> Plan:
    """A GetItem for a SELECT that names exactly one item by its full key (batches and transactions)."""
    table = engine.table(select.source.table)
    key, rest = split_key(select.where, table.key.names)
    if select.source.index is not None or rest or len(key) != len(table.key.names):
        raise validation(refusal)
    return _get(Plan("GetItem", {"TableName": table.name}, table.name, select.columns), key)


# -- writes -------------------------------------------------------------------------------------------------
def plan_insert(engine: Engine, insert: Insert) -> Plan:
    """A PutItem that fails when the key already exists."""
    table = engine.table(insert.table)
    plan = Plan("PutItem", {"TableName": table.name, "Item": insert.item}, table.name, is_insert=True)
    plan.request["ConditionExpression"] = f"attribute_not_exists({plan.exprs.name(table.key.hash.name)})"
    return plan.finish()


def plan_update(engine: Engine, update: Update) -> Plan:
    """An UpdateItem of an existing item; extra WHERE terms become its condition."""
    table = engine.table(update.table)
    key, rest = full_key(table, update.where)
    plan = Plan("UpdateItem", {"TableName": table.name, "Key": key}, table.name, returns=bool(update.returning))
    exprs = plan.exprs
    sections: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}
    for clause, path, node in update.actions:
        target = exprs.path(path)
        if node is None:
            sections["REMOVE"].append(target)
        elif isinstance(node, Call) and node.name in _SET_FUNCTIONS and len(node.args) == 2:
            sections[_SET_FUNCTIONS[node.name]].append(f"{target} {exprs.operand(node.args[1])}")
        else:
            sections["SET"].append(f"{target} = {exprs.operand(node)}")
    plan.request["UpdateExpression"] = " ".join(f"{clause} {', '.join(parts)}"
                                                for clause, parts in sections.items() if parts)
    exists = f"attribute_exists({exprs.name(table.key.hash.name)})"
    plan.request["ConditionExpression"] = " AND ".join([exists] + ([exprs.all_of(rest)] if rest else []))
    if update.returning:
        plan.request["ReturnValues"] = update.returning
    return plan.finish()


def plan_delete(engine: Engine, delete: Delete) -> Plan:
    """A DeleteItem; extra WHERE terms become its condition."""
    if delete.returning not in (None, "ALL_OLD"):
        shown = delete.returning.replace("UPDATED", "MODIFIED").replace("_", " ")
        raise validation(f"Invalid returning clause: {shown} *. Only RETURNING ALL OLD * is allowed in DELETE "
                         "statements.")
    table = engine.table(delete.table)
    key, rest = full_key(table, delete.where)
    plan = Plan("DeleteItem", {"TableName": table.name, "Key": key}, table.name, returns=bool(delete.returning))
    if rest:
        plan.request["ConditionExpression"] = plan.exprs.all_of(rest)
    if delete.returning:
        plan.request["ReturnValues"] = "ALL_OLD"
    return plan.finish()


def plan_check(engine: Engine, exists: Exists) -> Plan:
    """A transaction's ConditionCheck: the item exists and meets the remaining WHERE terms."""
    select = exists.select
    if select.source.index is not None:
        raise validation("Reads on indices are not supported within transactions.")
    table = engine.table(select.source.table)
    key, rest = full_key(table, select.where)
    plan = Plan("ConditionCheck", {"TableName": table.name, "Key": key}, table.name)
    exists_text = f"attribute_exists({plan.exprs.name(table.key.hash.name)})"
    plan.request["ConditionExpression"] = " AND ".join([exists_text] + ([plan.exprs.all_of(rest)] if rest else []))
    return plan.finish()


def plan_write(engine: Engine, statement: Insert | Update | Delete) -> Plan:
    """The single-item write a statement stands for."""
    if isinstance(statement, Insert):
        return plan_insert(engine, statement)
    if isinstance(statement, Update):
        return plan_update(engine, statement)
    return plan_delete(engine, statement)


def columns_of(item: dict[str, Any], columns: tuple[Path, ...] | None) -> dict[str, Any]:
    """A SELECT row: each column's value under the name of its last step (`_N` for a list index)."""
    if columns is None:
        return item
    row: dict[str, Any] = {}
    for n, path in enumerate(columns, 1):
        value: Any = {"M": item}
        for part in path.parts:
            inner = value.get("L" if isinstance(part, int) else "M")
            if isinstance(part, int):
                value = inner[part] if isinstance(inner, list) and part < len(inner) else None
            else:
                value = inner.get(part) if isinstance(inner, dict) else None
            if value is None:
                break
        if value is not None:
            last = path.parts[-1]
            row[last if isinstance(last, str) else f"_{n}"] = value
    return row
