"""Resource-based policies on tables: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .errors import DynamoDBError, resource_not_found, validation
from .resources import parse_arn
from .schema import Table

if TYPE_CHECKING:
    from .core import Engine, Operation

_NO_POLICY = "NO_POLICY"


def table_of_arn(engine: Engine, arn: Any) -> Table:
    """The table an ARN names (`...:table/NAME`, optionally followed by `/index/...` or `/stream/...`)."""
    resource = parse_arn(arn)
    missing = f"Requested resource not found: Table: {resource.table} not found"
    if (resource.region, resource.account) != (engine.region, engine.account_id):
        raise resource_not_found(missing)
    return engine.table(resource.table, missing=missing)


def _not_found(detail: str) -> DynamoDBError:
    return DynamoDBError("PolicyNotFoundException",
                         f"Resource-based policy not found for the provided ResourceArn: {detail}")


def _current(conn: Any, table: Table) -> tuple[str, str] | None:
    row = conn.execute("SELECT policy, revision FROM resource_policies WHERE tid = ?", (table.tid,)).fetchone()
    return (row[0], row[1]) if row else None


def _check_expected(table: Table, current: tuple[str, str] | None, expected: Any) -> None:
    if expected is None:
        return
    if expected == _NO_POLICY:
        if current is not None:
            raise _not_found(f"Requested policy update expecting none to be present for table {table.name}, but a "
                             f"policy exists with revision id {current[1]}.")
        return
    if current is None or current[1] != expected:
        held = current[1] if current else "none"
        raise _not_found(f"Requested update for policy with revision id {expected}, but the policy associated to "
                         f"target table {table.name} has revision id {held}.")


def put_resource_policy(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = table_of_arn(engine, request.get("ResourceArn"))
    policy = request.get("Policy")
    if not isinstance(policy, str):
        raise validation("1 validation error detected: Value null at 'policy' failed to satisfy constraint: "
                         "Member must not be null")
    try:
        json.loads(policy)
    except ValueError:
        raise validation("Invalid policy document: the policy is not valid JSON") from None
    with engine.storage.write() as conn:
        current = _current(conn, table)
        _check_expected(table, current, request.get("ExpectedRevisionId"))
        if current is not None and current[0] == policy:
            return {"RevisionId": current[1]}
        revision = str(int(engine.clock() * 1_000_000))
        if current is not None and revision <= current[1]:
            revision = str(int(current[1]) + 1)
        conn.execute("INSERT OR REPLACE INTO resource_policies(tid, policy, revision) VALUES (?, ?, ?)",
                     (table.tid, policy, revision))
    return {"RevisionId": revision}


def get_resource_policy(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    arn = request.get("ResourceArn")
    table = table_of_arn(engine, arn)
    with engine.storage.snapshot() as conn:
        current = _current(conn, table)
    if current is None:
        raise _not_found(str(arn))
    return {"Policy": current[0], "RevisionId": current[1]}


def delete_resource_policy(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    arn = request.get("ResourceArn")
    table = table_of_arn(engine, arn)
    with engine.storage.write() as conn:
        current = _current(conn, table)
        expected = request.get("ExpectedRevisionId")
        if current is None:
            raise _not_found(str(arn))
        _check_expected(table, current, expected)
        conn.execute("DELETE FROM resource_policies WHERE tid = ?", (table.tid,))
    return {"RevisionId": current[1]}


def forget(conn: Any, table: Table) -> None:
    """Drop a deleted table's policy (inside DeleteTable's transaction)."""
    conn.execute("DELETE FROM resource_policies WHERE tid = ?", (table.tid,))


OPERATIONS: dict[str, Operation] = {
    "PutResourcePolicy": put_resource_policy,
    "GetResourcePolicy": get_resource_policy,
    "DeleteResourcePolicy": delete_resource_policy,
}
