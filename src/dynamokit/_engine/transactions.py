"""TransactWriteItems and TransactGetItems: all-or-nothing, isolated, idempotent.

A write transaction validates every action, then evaluates all of them against one serialized SQLite write
transaction; only when every action can apply are the changes committed, so a cancelled transaction writes
nothing. A ClientRequestToken is stored durably with a digest of the request for ten minutes.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import TYPE_CHECKING, Any

import orjson

from . import capacity
from .batches import collection_metrics_by_table
from .capacity import PerTable
from .commit import Stored, load, locate
from .errors import DynamoDBError, validation
from .items import PREPARE, Action, Change, project
from .requests import choice, prepare

if TYPE_CHECKING:
    from .core import Engine, Operation

MAX_ACTIONS = 100
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
TOKEN_SECONDS = 600.0
MAX_TOKEN_LENGTH = 36

SCHEMA = """
CREATE TABLE IF NOT EXISTS transaction_tokens (
  token TEXT PRIMARY KEY,
  digest BLOB NOT NULL,
  expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transaction_tokens_expiry ON transaction_tokens(expires);
"""

_KINDS = tuple(PREPARE)
_WRITE_KINDS = "TransactItems can only contain one of Check, Put, Update or Delete"
_SAME_ITEM = "Transaction request cannot include multiple operations on one item"


def _transact_items(request: dict[str, Any]) -> list[Any]:
    entries = request.get("TransactItems")
    if not isinstance(entries, list):
        raise validation("1 validation error detected: Value null at 'transactItems' failed to satisfy "
                         "constraint: Member must not be null")
    if not entries:
        raise validation("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy "
                         "constraint: Member must have length greater than or equal to 1")
    if len(entries) > MAX_ACTIONS:
        raise validation("1 validation error detected at 'transactItems' failed to satisfy constraint: "
                         f"Member must have length less than or equal to {MAX_ACTIONS}.")
    return entries


def _one_of(entry: Any, kinds: tuple[str, ...], message: str) -> tuple[str, dict[str, Any]]:
    """The single (kind, body) of a transaction entry."""
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in kinds:
        raise validation(message)
    ((kind, body),) = entry.items()
    if not isinstance(body, dict):
        raise DynamoDBError("SerializationException", f"{kind} must be a structure")
    return kind, body


def _write_action(engine: Engine, n: int, entry: Any) -> Action:
    kind, body = _one_of(entry, _KINDS, _WRITE_KINDS)
    if kind == "ConditionCheck" and body.get("ConditionExpression") is None:
        raise validation(f"1 validation error detected: Value null at 'transactItems.{n}.member."
                         "conditionCheck.conditionExpression' failed to satisfy constraint: "
                         "Member must not be null")
    return PREPARE[kind](engine, body)


def _distinct(identities: list[tuple[int, Any]]) -> None:
    if len(set(identities)) != len(identities):
        raise validation(_SAME_ITEM)


# -- outcomes and cancellation ---------------------------------------------------------------------------
def _outcome(action: Action, old: Stored | None) -> Change | dict[str, Any]:
    """The action's change, or its cancellation reason when it cannot apply to the stored item."""
    if not action.holds(old):
        error = action.failed(old)
        return {"Code": "ConditionalCheckFailed", "Message": error.message, **error.extra}
    try:
        return action.change(old)
    except DynamoDBError as error:
        if error.code != "ValidationException":
            raise
        return {"Code": "ValidationError", "Message": error.message}


def _cancelled(outcomes: list[Change | dict[str, Any]]) -> DynamoDBError:
    reasons = [o if isinstance(o, dict) else {"Code": "None"} for o in outcomes]
    codes = ", ".join(r["Code"] for r in reasons)
    return DynamoDBError("TransactionCanceledException", "Transaction cancelled, please refer cancellation "
                         f"reasons for specific reasons [{codes}]", CancellationReasons=reasons)


# -- idempotency ----------------------------------------------------------------------------------------
def _token(request: dict[str, Any]) -> str | None:
    token = request.get("ClientRequestToken")
    if token is None:
        return None
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN_LENGTH:
        bound = "greater than or equal to 1" if token == "" else f"less than or equal to {MAX_TOKEN_LENGTH}"
        raise validation(f"1 validation error detected: Value '{token}' at 'clientRequestToken' failed to "
                         f"satisfy constraint: Member must have length {bound}")
    return token


def _digest(request: dict[str, Any]) -> bytes:
    """What identifies a request's parameters (ReturnConsumedCapacity may differ between retries)."""
    shown = {k: v for k, v in request.items() if k != "ReturnConsumedCapacity"}
    return hashlib.blake2b(orjson.dumps(shown, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()


def _already_applied(conn: sqlite3.Connection, token: str, digest: bytes, now: float) -> bool:
    """Whether a live token names this very request; a live token with other parameters is an error."""
    row = conn.execute("SELECT digest FROM transaction_tokens WHERE token = ? AND expires > ?",
                       (token, now)).fetchone()
    if row is None:
        return False
    if bytes(row[0]) != digest:
        raise DynamoDBError("IdempotentParameterMismatchException",
                            "DynamoDB rejected the request because you retried a request with a different "
                            "payload but with an idempotent token that was already used.")
    return True


def _remember(conn: sqlite3.Connection, token: str, digest: bytes, now: float) -> None:
    conn.execute("DELETE FROM transaction_tokens WHERE expires <= ?", (now,))
    conn.execute("INSERT OR REPLACE INTO transaction_tokens(token, digest, expires) VALUES (?, ?, ?)",
                 (token, digest, now + TOKEN_SECONDS))


# -- TransactWriteItems -----------------------------------------------------------------------------------
def _prepare_writes(engine: Engine, request: dict[str, Any]) -> list[Action]:
    actions = [_write_action(engine, n, e) for n, e in enumerate(_transact_items(request), 1)]
    _distinct([(a.table.tid, a.key) for a in actions])
    if sum(a.size for a in actions) > MAX_TRANSACTION_BYTES:
        raise validation("Transaction request size has exceeded the maximum allowed size of 4 MB")
    return actions


def _apply(engine: Engine, conn: sqlite3.Connection, actions: list[Action], used: PerTable) -> None:
    """Evaluate every action against the stored items; apply all of them or raise the cancellation."""
    olds = [load(conn, a.table, a.key) for a in actions]
    outcomes = [_outcome(a, old) for a, old in zip(actions, olds)]
    changes = [o for o in outcomes if isinstance(o, Change)]
    if len(changes) < len(outcomes):
        for action, old in zip(actions, olds):
            used.of(action.table).table += action.failure_units(old, transactional=True)
        used.charge(engine)
        raise _cancelled(outcomes)
    for action, old, change in zip(actions, olds, changes):
        action.apply(engine, conn, old, change, used.of(action.table), transactional=True)


def _reread(conn: sqlite3.Connection, actions: list[Action], used: PerTable) -> None:
    """A repeated request costs the reads of its items (DynamoDB's rule for idempotent retries)."""
    for action in actions:
        old = load(conn, action.table, action.key)
        used.of(action.table).table += capacity.read_units(old.size if old else 0, True)


def transact_write_items(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    capacity.wanted(request)
    choice(request, "ReturnItemCollectionMetrics", ("SIZE", "NONE"), "NONE")
    token = _token(request)
    actions = engine.prepare_write(_prepare_writes, engine, request)
    digest = _digest(request) if token is not None else b""
    writes = PerTable(is_write=True)
    with engine.storage.write() as conn:
        if not engine.is_current(conn, *(action.table for action in actions)):
            actions = _prepare_writes(engine, request)
        now = engine.clock()
        if token is not None and _already_applied(conn, token, digest, now):
            reads = PerTable(is_write=False)
            _reread(conn, actions, reads)
            return reads.finish(engine, request, {})
        _apply(engine, conn, actions, writes)
        if token is not None:
            _remember(conn, token, digest, now)
    metrics = collection_metrics_by_table(engine, request, actions)
    return writes.finish(engine, request, {"ItemCollectionMetrics": metrics} if metrics else {})


# -- TransactGetItems -------------------------------------------------------------------------------------
def transact_get_items(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    capacity.wanted(request)
    gets = []
    for entry in _transact_items(request):
        _, body = _one_of(entry, ("Get",), "TransactItems can only contain one of Get")
        table = engine.table(body.get("TableName"))
        exprs = prepare(body, "ProjectionExpression")
        gets.append((table, exprs, locate(table, *table.key.of_key(body.get("Key")))))
    _distinct([(table.tid, key) for table, _, key in gets])
    used = PerTable(is_write=False)
    responses: list[dict[str, Any]] = []
    with engine.storage.snapshot() as conn:
        for table, exprs, key in gets:
            found = load(conn, table, key)
            used.of(table).table += capacity.read_units(found.size if found else 0, True, transactional=True)
            responses.append({"Item": project(exprs, found.item)} if found is not None else {})
    return used.finish(engine, request, {"Responses": responses})


OPERATIONS: dict[str, Operation] = {
    "TransactWriteItems": transact_write_items,
    "TransactGetItems": transact_get_items,
}
