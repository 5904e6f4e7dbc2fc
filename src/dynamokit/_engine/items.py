"""Single-item operations (PutItem, GetItem, UpdateItem, DeleteItem) and the write actions they share.

A write `Action` is one validated Put, Update, Delete or ConditionCheck on one item. PutItem, UpdateItem and
DeleteItem run one action; BatchWriteItem and TransactWriteItems run many in one write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from . import capacity
from . import expressions as ex
from .commit import Stored, check_index_keys, commit, load, locate
from .errors import DynamoDBError, conditional_check_failed, invalid_parameter, validation
from .requests import Expressions, choice, inputs, prepare
from .values import MAX_ITEM_SIZE, check_item, check_size, item_size

if TYPE_CHECKING:
    from .core import Engine
    from .schema import Table

_PUT_RETURNS = ("NONE", "ALL_OLD")
_UPDATE_RETURNS = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")
_ON_FAILURE = ("ALL_OLD", "NONE")
_REMOVALS = frozenset({"REMOVE", "DELETE"})

Key = tuple[int, bytes, bytes]


class Change(NamedTuple):
    """What an action makes of its item: the new item (None: absent), its size, the update's paths."""

    new: dict[str, Any] | None
    size: int
    paths: list[Any]


@dataclass(slots=True)
class Action:
    """One validated Put, Update, Delete or ConditionCheck on one item."""

    kind: str
    table: Table
    key: Key
    request: dict[str, Any]
    exprs: Expressions
    item: dict[str, Any] | None = None  # Put: the item to write; Update: the request Key
    size: int = 0  # Put: the item's size
    on_failure: str = "NONE"

    def holds(self, old: Stored | None) -> bool:
        """Whether the ConditionExpression (if any) holds for the stored item."""
        ast = self.exprs.get("ConditionExpression")
        if ast is None:
            return True
        return bool(ex.evaluate_condition(ast, old.item if old is not None else {}, self.exprs.names,
                                          self.exprs.values))

    def failed(self, old: Stored | None) -> DynamoDBError:
        """The ConditionalCheckFailedException, with the old item when ALL_OLD was asked for."""
        if self.on_failure == "ALL_OLD" and old is not None:
            return conditional_check_failed(old.item)
        return conditional_check_failed()

    def failure_units(self, old: Stored | None, transactional: bool = False) -> float:
        """Write units a failed condition still consumes."""
        new_size = self.size if self.kind == "Put" else 0
        return capacity.write_units(old.size if old else 0, new_size, transactional)

    def change(self, old: Stored | None) -> Change:
        """The new state of the item; ValidationException when the update cannot apply to this item."""
        if self.kind == "Put":
            return Change(self.item, self.size, [])
        if self.kind == "Delete":
            return Change(None, 0, [])
        if self.kind == "ConditionCheck":
            return Change(old.item, old.size, []) if old is not None else Change(None, 0, [])
        update = self.exprs.get("UpdateExpression")
        if old is None and update is not None and all(a.clause in _REMOVALS for a in update.actions):
            return Change(None, 0, [])  # only removals from a missing item: DynamoDB creates nothing
        base = old.item if old is not None else dict(self.item or {})
        if update is None:
            new_item, paths = base, []
        else:
            new_item, paths = ex.apply_update(update, base, self.exprs.names, self.exprs.values)
        size = item_size(new_item)
        if size > MAX_ITEM_SIZE:
            raise validation("Item size to update has exceeded the maximum allowed size")
        check_index_keys(self.table, new_item, old.item if old is not None else None)
        return Change(new_item, size, paths)

    def apply(self, engine: Engine, conn: sqlite3.Connection, old: Stored | None, change: Change,
              consumed: capacity.Consumed, transactional: bool = False) -> None:
        """Write the change through the commit path (a ConditionCheck writes nothing but is charged)."""
        if self.kind == "ConditionCheck":
            consumed.table += capacity.write_units(old.size if old else 0, 0, transactional)
            return
        commit(engine, conn, self.table, self.key, old, change.new, change.size, consumed,
               transactional=transactional)


def _on_failure(request: dict[str, Any]) -> str:
    return choice(request, "ReturnValuesOnConditionCheckFailure", _ON_FAILURE, "NONE")


_CONDITION_INPUTS = inputs("ConditionExpression")  # what `prepare` reads for a Put or Delete


def _condition(request: dict[str, Any]) -> Expressions:
    """The prepared ConditionExpression of a Put or Delete (nothing to prepare when it names none)."""
    if request.keys().isdisjoint(_CONDITION_INPUTS):
        return Expressions({}, {}, {})
    return _request_check(prepare, request, "ConditionExpression")


def prepare_put(engine: Engine, request: dict[str, Any]) -> Action:
    """Validate a Put: table, condition, item, key and index keys."""
    table = engine.table(request.get("TableName"))
    exprs = _condition(request)
    item, size = _request_check(check_item, request.get("Item"), False)
    check_size(size)
    key = locate(table, *table.key.of_item(item))
    check_index_keys(table, item)
    return Action("Put", table, key, request, exprs, item, size, _on_failure(request))


def prepare_delete(engine: Engine, request: dict[str, Any]) -> Action:
    """Validate a Delete: table, condition and key."""
    table = engine.table(request.get("TableName"))
    exprs = _condition(request)
    key = locate(table, *table.key.of_key(request.get("Key")))
    return Action("Delete", table, key, request, exprs, on_failure=_on_failure(request))


def prepare_update(engine: Engine, request: dict[str, Any]) -> Action:
    """Validate an Update: table, expressions, key; key attributes may not be updated."""
    table = engine.table(request.get("TableName"))
    exprs = _request_check(prepare, request, "UpdateExpression", "ConditionExpression")
    key = locate(table, *table.key.of_key(request.get("Key")))
    update = exprs.get("UpdateExpression")
    if update is not None:
        for name in ex.top_level_names(update, exprs.names):
            if name in table.key.names:
                raise invalid_parameter(f"Cannot update attribute {name}. This attribute is part of the key")
    return Action("Update", table, key, request, exprs, request["Key"], on_failure=_on_failure(request))


def prepare_check(engine: Engine, request: dict[str, Any]) -> Action:
    """Validate a ConditionCheck: table, key and its (required) condition."""
    table = engine.table(request.get("TableName"))
    exprs = prepare(request, "ConditionExpression")
    key = locate(table, *table.key.of_key(request.get("Key")))
    return Action("ConditionCheck", table, key, request, exprs, on_failure=_on_failure(request))


PREPARE: dict[str, Callable[[Engine, dict[str, Any]], Action]] = {
    "Put": prepare_put,
    "Update": prepare_update,
    "Delete": prepare_delete,
    "ConditionCheck": prepare_check,
}


def run(engine: Engine, action: Action) -> tuple[Stored | None, Change, capacity.Consumed]:
    """Run one action in its own write transaction: condition, change, commit, capacity."""
    consumed = capacity.Consumed(is_write=True)
    with engine.storage.write() as conn:
        if not engine.is_current(conn, action.table):
            # The table changed (e.g. a new index) since the action was validated: validate it again.
            action = PREPARE[action.kind](engine, action.request)
        old = load(conn, action.table, action.key)
        if not action.holds(old):
            consumed.table += action.failure_units(old)
            engine.charge(action.table, consumed)
            raise action.failed(old)
        change = action.change(old)
        action.apply(engine, conn, old, change, consumed)
    engine.charge(action.table, consumed)
    return old, change, consumed


def _with_capacity(out: dict[str, Any], request: dict[str, Any], table: Table,
                   consumed: capacity.Consumed) -> dict[str, Any]:
    mode = capacity.wanted(request)
    if mode is not None:
        out["ConsumedCapacity"] = consumed.shape(table.name, mode)
    return out


def _finish(engine: Engine, out: dict[str, Any], request: dict[str, Any], action: Action,
            consumed: capacity.Consumed) -> dict[str, Any]:
    """Add ConsumedCapacity and ItemCollectionMetrics as the write request asks."""
    if capacity.wants_collection_metrics(request, action.table):
        out["ItemCollectionMetrics"] = collection_metrics(engine, action)
    return _with_capacity(out, request, action.table, consumed)


def collection_metrics(engine: Engine, action: Action) -> dict[str, Any]:
    """The ItemCollectionMetrics of the item collection `action` wrote to."""
    source = action.item if action.kind == "Put" else action.request["Key"]
    assert source is not None
    return capacity.item_collection_metrics(engine, action.table, action.key, source[action.table.key.hash.name])


def _old_attributes(returns: str, old: Stored | None) -> dict[str, Any]:
    return {"Attributes": old.item} if returns == "ALL_OLD" and old is not None else {}


def _prepared(prepare_action: Callable[[Engine, dict[str, Any]], Action], engine: Engine,
              request: dict[str, Any]) -> Action:
    """Prepare a single-item write. Its request-level checks (expressions, names, values, the item's
    attribute values) answer with DynamoDB's "1 validation error detected: " prefix, as AWS-verified tests
    show for PutItem, UpdateItem and DeleteItem (reads and transactions answer them without it)."""
    try:
        return engine.prepare_write(prepare_action, engine, request)
    except DynamoDBError as error:
        if getattr(error, "request_check", False):
            message = getattr(error, "value_message", error.message)
            raise validation("1 validation error detected: " + message) from None
        raise


def _request_check(check: Callable[..., Any], *args: Any) -> Any:
    """Run a request-level check, marking its ValidationException as such (see `_prepared`)."""
    try:
        return check(*args)
    except DynamoDBError as error:
        if error.code == "ValidationException":
            error.request_check = True  # type: ignore[attr-defined]
        raise


def put_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    returns = choice(request, "ReturnValues", _PUT_RETURNS, "NONE")
    action = _prepared(prepare_put, engine, request)
    old, _, consumed = run(engine, action)
    return _finish(engine, _old_attributes(returns, old), request, action, consumed)


def delete_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    returns = choice(request, "ReturnValues", _PUT_RETURNS, "NONE")
    action = _prepared(prepare_delete, engine, request)
    old, _, consumed = run(engine, action)
    return _finish(engine, _old_attributes(returns, old), request, action, consumed)


def update_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    returns = choice(request, "ReturnValues", _UPDATE_RETURNS, "NONE")
    action = _prepared(prepare_update, engine, request)
    old, change, consumed = run(engine, action)
    out = _old_attributes(returns, old)
    if returns == "ALL_NEW":
        if change.new is not None:
            out["Attributes"] = change.new
    else:
        old_item = old.item if old is not None else None
        updated = {"UPDATED_OLD": old_item, "UPDATED_NEW": change.new}.get(returns)
        attributes = ex.project_paths(updated, change.paths) if updated is not None else None
        if attributes:
            out["Attributes"] = attributes
    return _finish(engine, out, request, action, consumed)


def get_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    exprs = prepare(request, "ProjectionExpression")
    key = locate(table, *table.key.of_key(request.get("Key")))
    consistent = request.get("ConsistentRead", False)
    if not isinstance(consistent, bool):
        raise validation("ConsistentRead must be a boolean")
    conn = engine.storage.connection()
    found = load(conn, table, key)
    consumed = capacity.Consumed(is_write=False)
    consumed.table = capacity.read_units(found.size if found else 0, consistent)
    engine.charge(table, consumed)
    out: dict[str, Any] = {}
    if found is not None:
        out["Item"] = project(exprs, found.item)
    return _with_capacity(out, request, table, consumed)


def project(exprs: Expressions, item: dict[str, Any]) -> dict[str, Any]:
    """`item` cut down to the request's ProjectionExpression (all of it without one)."""
    projection = exprs.get("ProjectionExpression")
    return item if projection is None else ex.project(projection, item, exprs.names)
