"""BatchGetItem and BatchWriteItem: many items across tables in one call.

A batch write is validated completely before anything is written (one bad request fails the whole batch) and
then applied in one write transaction. A batch get reads from one snapshot and stops at 16 MB, returning the
rest as UnprocessedKeys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import capacity
from .capacity import PerTable
from .commit import load, locate
from .errors import validation
from .items import Action, Key, collection_metrics, prepare_delete, prepare_put, project
from .requests import Expressions, choice, prepare

if TYPE_CHECKING:
    from .core import Engine, Operation
    from .schema import Table

MAX_GET_KEYS = 100
MAX_WRITES = 25
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_DUPLICATES = "Provided list of item keys contains duplicates"


def _request_items(request: dict[str, Any]) -> dict[str, Any]:
    items = request.get("RequestItems")
    if items is None:
        raise validation("1 validation error detected: Value null at 'requestItems' failed to satisfy "
                         "constraint: Member must not be null")
    if not isinstance(items, dict) or not items:
        raise validation(f"1 validation error detected: Value '{items}' at 'requestItems' failed to satisfy "
                         "constraint: Member must have length greater than or equal to 1")
    return items


# -- BatchGetItem ------------------------------------------------------------------------------------------
def _get_keys(name: str, spec: Any) -> list[Any]:
    keys = spec.get("Keys") if isinstance(spec, dict) else None
    where = f"requestItems.{name}.member.keys"
    if not isinstance(keys, list):
        raise validation(f"1 validation error detected: Value null at '{where}' failed to satisfy "
                         "constraint: Member must not be null")
    if not keys or len(keys) > MAX_GET_KEYS:
        bound = "greater than or equal to 1" if not keys else f"less than or equal to {MAX_GET_KEYS}"
        raise validation(f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
                         f"Member must have length {bound}")
    return keys


@dataclass(slots=True)
class _TableGets:
    """One table's part of a BatchGetItem, validated."""

    name: str  # as the request names it
    spec: dict[str, Any]
    table: Table
    exprs: Expressions
    consistent: bool
    keys: list[Key]


def _plan(engine: Engine, specs: dict[str, Any]) -> list[_TableGets]:
    keys_by_table = {name: _get_keys(name, spec) for name, spec in specs.items()}
    if sum(len(keys) for keys in keys_by_table.values()) > MAX_GET_KEYS:
        raise validation("Too many items requested for the BatchGetItem call")
    exprs_by_table = {name: prepare(spec, "ProjectionExpression") for name, spec in specs.items()}
    plans = []
    for name, spec in specs.items():
        table = engine.table(name)
        exprs = exprs_by_table[name]
        consistent = spec.get("ConsistentRead", False)
        if not isinstance(consistent, bool):
            raise validation("ConsistentRead must be a boolean")
        keys = [locate(table, *table.key.of_key(key)) for key in keys_by_table[name]]
        if len(set(keys)) != len(keys):
            raise validation(_DUPLICATES)
        plans.append(_TableGets(name, spec, table, exprs, consistent, keys))
    return plans


def batch_get_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    capacity.wanted(request)
    plans = _plan(engine, _request_items(request))
    responses: dict[str, list[dict[str, Any]]] = {}
    unprocessed: dict[str, Any] = {}
    used = PerTable(is_write=False)
    total = 0
    with engine.storage.snapshot() as conn:
        for plan in plans:
            found_items = responses.setdefault(plan.name, [])
            consumed = used.of(plan.table)
            for n, key in enumerate(plan.keys):
                found = load(conn, plan.table, key)
                size = found.size if found is not None else 0
                if total + size > MAX_RESPONSE_BYTES:  # the rest of this table's keys come back unprocessed
                    unprocessed[plan.name] = {**plan.spec, "Keys": plan.spec["Keys"][n:]}
                    break
                total += size
                consumed.table += capacity.read_units(size, plan.consistent)
                if found is not None:
                    found_items.append(project(plan.exprs, found.item))
    return used.finish(engine, request, {"Responses": responses, "UnprocessedKeys": unprocessed})


# -- BatchWriteItem ----------------------------------------------------------------------------------------
def _write_action(engine: Engine, name: str, write: Any) -> Action:
    """The Put or Delete action of one WriteRequest."""
    kind = next(iter(write)) if isinstance(write, dict) and len(write) == 1 else None
    if kind not in ("PutRequest", "DeleteRequest"):
        raise validation("Supplied AttributeValue has more than one datatypes set, must contain exactly "
                         "one of the supported datatypes")
    body = write[kind]
    if not isinstance(body, dict):
        raise validation(f"1 validation error detected: Value null at '{kind}' failed to satisfy constraint: "
                         "Member must not be null")
    if kind == "PutRequest":
        return prepare_put(engine, {"TableName": name, "Item": body.get("Item")})
    return prepare_delete(engine, {"TableName": name, "Key": body.get("Key")})


def _write_actions(engine: Engine, specs: dict[str, Any]) -> list[Action]:
    """Every request validated (nothing is written if one is bad), duplicates rejected per table."""
    for name, writes in specs.items():
        if not isinstance(writes, list) or not writes or len(writes) > MAX_WRITES:
            # AWS answers a table's list of 26 writes with this constraint message too (its value part
            # shows the whole list; ours is abbreviated).
            shown = "[...]" if isinstance(writes, list) and writes else "[]"
            raise validation(f"1 validation error detected: Value '{{{name}={shown}}}' at 'requestItems' failed "
                             "to satisfy constraint: Map value must satisfy constraint: [Member must have "
                             f"length less than or equal to {MAX_WRITES}, Member must have length greater "
                             "than or equal to 1]")
    if sum(len(writes) for writes in specs.values()) > MAX_WRITES:
        raise validation("Too many items requested for the BatchWriteItem call")
    actions = [_write_action(engine, name, write) for name, writes in specs.items() for write in writes]
    seen = {(action.table.tid, action.key) for action in actions}
    if len(seen) != len(actions):
        raise validation(_DUPLICATES)
    return actions


def batch_write_item(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    capacity.wanted(request)
    choice(request, "ReturnItemCollectionMetrics", ("SIZE", "NONE"), "NONE")
    specs = _request_items(request)
    actions = engine.prepare_write(_write_actions, engine, specs)
    used = PerTable(is_write=True)
    with engine.storage.write() as conn:
        if not engine.is_current(conn, *(action.table for action in actions)):
            actions = _write_actions(engine, specs)
        for action in actions:
            old = load(conn, action.table, action.key)
            action.apply(engine, conn, old, action.change(old), used.of(action.table))
    out: dict[str, Any] = {"UnprocessedItems": {}}
    metrics = collection_metrics_by_table(engine, request, actions)
    if metrics:
        out["ItemCollectionMetrics"] = metrics
    return used.finish(engine, request, out)


def collection_metrics_by_table(engine: Engine, request: dict[str, Any],
                                actions: list[Action]) -> dict[str, list[dict[str, Any]]]:
    """ItemCollectionMetrics per table for the writes of a batch or transaction (tables with LSIs)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for action in actions:
        if action.kind != "ConditionCheck" and capacity.wants_collection_metrics(request, action.table):
            out.setdefault(action.table.name, []).append(collection_metrics(engine, action))
    return out


OPERATIONS: dict[str, Operation] = {
    "BatchGetItem": batch_get_item,
    "BatchWriteItem": batch_write_item,
}
