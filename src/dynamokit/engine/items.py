"""Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import capacity
from . import expressions as ex
from .commit import Stored, check_index_keys, commit, load, locate
from .errors import conditional_check_failed, invalid_parameter, validation
from .requests import Expressions, choice, prepare
from .values import MAX_ITEM_SIZE, check_item, item_size

if TYPE_CHECKING:
    from .core import Engine
    from .schema import Table

_PUT_RETURNS = ("NONE", "ALL_OLD")
_UPDATE_RETURNS = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")
_ON_FAILURE = ("ALL_OLD", "NONE")


def _condition_holds(exprs: Expressions, old: Stored | None) -> bool:
    ast = exprs.get("ConditionExpression")
    if ast is None:
        return True
    return bool(ex.evaluate_condition(ast, old.item if old is not None else {}, exprs.names, exprs.values))


def _failed(request: dict[str, Any], old: Stored | None) -> Exception:
    on_failure = choice(request, "ReturnValuesOnConditionCheckFailure", _ON_FAILURE, "NONE")
    return conditional_check_failed(old.item if on_failure == "ALL_OLD" and old is not None else None)


def _with_capacity(out: dict[str, Any], request: dict[str, Any], table: Table,
                   consumed: capacity.Consumed) -> dict[str, Any]:
    mode = capacity.wanted(request)
    if mode is not None:
        out["ConsumedCapacity"] = consumed.shape(table.name, mode)
    return out


def put_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    returns = choice(request, "ReturnValues", _PUT_RETURNS, "NONE")
    exprs = prepare(request, "ConditionExpression")
    item, size = check_item(request.get("Item"))
    key = locate(table, *table.key.of_item(item))
    check_index_keys(table, item)
    consumed = capacity.Consumed(is_write=True)
    with engine.storage.write() as conn:
        old = load(conn, table, key)
        if not _condition_holds(exprs, old):
            consumed.table += capacity.write_units(old.size if old else 0, size)
            engine.charge(table, consumed)
            raise _failed(request, old)
        commit(engine, conn, table, key, old, item, size, consumed)
    engine.charge(table, consumed)
    out: dict[str, Any] = {}
    if returns == "ALL_OLD" and old is not None:
        out["Attributes"] = old.item
    return _with_capacity(out, request, table, consumed)


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
        projection = exprs.get("ProjectionExpression")
        out["Item"] = found.item if projection is None else ex.project(projection, found.item, exprs.names)
    return _with_capacity(out, request, table, consumed)


def delete_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    returns = choice(request, "ReturnValues", _PUT_RETURNS, "NONE")
    exprs = prepare(request, "ConditionExpression")
    key = locate(table, *table.key.of_key(request.get("Key")))
    consumed = capacity.Consumed(is_write=True)
    with engine.storage.write() as conn:
        old = load(conn, table, key)
        if not _condition_holds(exprs, old):
            consumed.table += capacity.write_units(old.size if old else 0, 0)
            engine.charge(table, consumed)
            raise _failed(request, old)
        if old is None:
            consumed.table += 1.0  # deleting a missing item still costs one unit
        else:
            commit(engine, conn, table, key, old, None, 0, consumed)
    engine.charge(table, consumed)
    out: dict[str, Any] = {}
    if returns == "ALL_OLD" and old is not None:
        out["Attributes"] = old.item
    return _with_capacity(out, request, table, consumed)


def update_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    returns = choice(request, "ReturnValues", _UPDATE_RETURNS, "NONE")
    exprs = prepare(request, "UpdateExpression", "ConditionExpression")
    key_value = request.get("Key")
    key = locate(table, *table.key.of_key(key_value))
    update = exprs.get("UpdateExpression")
    if update is not None:
        for name in ex.top_level_names(update, exprs.names):
            if name in table.key.names:
                raise invalid_parameter(f"Cannot update attribute {name}. This attribute is part of the key")
    consumed = capacity.Consumed(is_write=True)
    with engine.storage.write() as conn:
        old = load(conn, table, key)
        if not _condition_holds(exprs, old):
            consumed.table += capacity.write_units(old.size if old else 0, 0)
            engine.charge(table, consumed)
            raise _failed(request, old)
        base = old.item if old is not None else dict(key_value)
        paths: list[Any] = []
        new_item = base
        if update is not None:
            new_item, paths = ex.apply_update(update, base, exprs.names, exprs.values)
        size = item_size(new_item)
        if size > MAX_ITEM_SIZE:
            raise validation("Item size to update has exceeded the maximum allowed size")
        check_index_keys(table, new_item)
        commit(engine, conn, table, key, old, new_item, size, consumed)
    engine.charge(table, consumed)
    out: dict[str, Any] = {}
    old_item = old.item if old is not None else None
    if returns == "ALL_OLD" and old_item is not None:
        out["Attributes"] = old_item
    elif returns == "ALL_NEW":
        out["Attributes"] = new_item
    elif returns == "UPDATED_OLD" and old_item is not None:
        attributes = ex.project_paths(old_item, paths)
        if attributes:
            out["Attributes"] = attributes
    elif returns == "UPDATED_NEW":
        attributes = ex.project_paths(new_item, paths)
        if attributes:
            out["Attributes"] = attributes
    return _with_capacity(out, request, table, consumed)

