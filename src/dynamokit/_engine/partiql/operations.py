"""ExecuteStatement, BatchExecuteStatement and ExecuteTransaction, run through the engine's own operations."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING, Any

import orjson

from .. import capacity, reads
from ..errors import DynamoDBError, validation
from ..values import check_value
from .parser import MAX_STATEMENT, parse
from .plan import Plan, columns_of, plan_check, plan_select, plan_single_read, plan_write
from .syntax import Exists, Select, Statement

if TYPE_CHECKING:
    from ..core import Engine

MAX_BATCH = 25
MAX_TRANSACTION = 100
DUPLICATE = "Duplicate primary key exists in table"
BATCH_SELECT = "Select statements within BatchExecuteStatement must specify the primary key in the where clause."
TRANSACTION_SELECT = ("Select statements within ExecuteTransaction must specify the primary key in the where "
                      "clause.")
BAD_TOKEN = "NextToken does not match request"


# -- request members --------------------------------------------------------------------------------------
def _constraint(value: Any, where: str, rule: str) -> DynamoDBError:
    return validation(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
                      f"Member must {rule}")


def _text(value: Any, where: str = "statement") -> str:
    if not isinstance(value, str):
        raise _constraint(None, where, "not be null")
    if not value:
        raise _constraint(value, where, "have length greater than or equal to 1")
    if len(value) > MAX_STATEMENT:
        raise _constraint(value, where, f"have length less than or equal to {MAX_STATEMENT}")
    return value


def _parameters(value: Any, where: str = "parameters") -> list[dict[str, Any]]:
    """The statement's parameters, validated as attribute values."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise DynamoDBError("SerializationException", "Parameters must be a list")
    if not value:
        raise _constraint("[]", where, "have length greater than or equal to 1")
    return [check_value(v)[0] for v in value]


def _entries(value: Any, where: str, limit: int) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _constraint(None, where, "not be null")
    if not value:
        raise _constraint("[]", where, "have length greater than or equal to 1")
    if len(value) > limit:
        raise _constraint(value, where, f"have length less than or equal to {limit}")
    if not all(isinstance(entry, dict) for entry in value):
        raise DynamoDBError("SerializationException", f"{where} members must be structures")
    return value


def _limit(request: dict[str, Any]) -> int | None:
    limit = request.get("Limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise _constraint(limit, "limit", "have value greater than or equal to 1")
    return limit


def _passed(request: dict[str, Any], *members: str) -> dict[str, Any]:
    return {m: request[m] for m in members if request.get(m) is not None}


# -- paging -----------------------------------------------------------------------------------------------
def _binding(text: str, parameters: list[dict[str, Any]]) -> str:
    """What a NextToken is bound to: the statement and its parameters (not Limit)."""
    return hashlib.blake2b(text.encode() + orjson.dumps(parameters), digest_size=12).hexdigest()


def _token(binding: str, last: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"b": binding, "k": last})).decode()


def _start(token: Any, binding: str) -> dict[str, Any]:
    """The ExclusiveStartKey a NextToken carries; it must come from the same statement and parameters."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (AttributeError, ValueError, binascii.Error, orjson.JSONDecodeError):
        raise validation(BAD_TOKEN) from None
    if not isinstance(decoded, dict) or decoded.get("b") != binding or not isinstance(decoded.get("k"), dict):
        raise validation(BAD_TOKEN)
    return decoded["k"]


# -- running one statement --------------------------------------------------------------------------------
def _run_write(engine: Engine, plan: Plan) -> dict[str, Any]:
    """The write's engine response; an INSERT over an existing item is a DuplicateItemException."""
    try:
        return engine.call(plan.operation, plan.request)
    except DynamoDBError as error:
        if plan.is_insert and error.code == "ConditionalCheckFailedException":
            raise DynamoDBError("DuplicateItemException", DUPLICATE) from None
        raise


def _read(engine: Engine, plan: Plan) -> dict[str, Any]:
    allowed = reads.KEY_FILTERS.set(True)  # a WHERE may name key attributes beyond the key condition
    try:
        out = engine.call(plan.operation, plan.request)
    finally:
        reads.KEY_FILTERS.reset(allowed)
    items = out.get("Items", [out["Item"]] if "Item" in out else [])
    result: dict[str, Any] = {"Items": [columns_of(item, plan.columns) for item in items]}
    if "LastEvaluatedKey" in out:
        result["LastEvaluatedKey"] = out["LastEvaluatedKey"]
    if "ConsumedCapacity" in out:
        result["ConsumedCapacity"] = out["ConsumedCapacity"]
    return result


def _write_plan(engine: Engine, statement: Statement) -> Plan:
    if isinstance(statement, (Select, Exists)):
        raise validation("EXISTS is only supported within ExecuteTransaction")
    return plan_write(engine, statement)


def execute_statement(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    text = _text(request.get("Statement"))
    parameters = _parameters(request.get("Parameters"))
    limit = _limit(request)
    capacity.wanted(request)
    statement = parse(text, parameters)
    options = _passed(request, "ReturnConsumedCapacity")
    if not isinstance(statement, Select):
        plan = _write_plan(engine, statement)
        plan.request.update(options, **_passed(request, "ReturnValuesOnConditionCheckFailure"))
        out = _run_write(engine, plan)
        result: dict[str, Any] = {"Items": [out["Attributes"]] if plan.returns and "Attributes" in out else []}
        if "ConsumedCapacity" in out:
            result["ConsumedCapacity"] = out["ConsumedCapacity"]
        return result
    plan = plan_select(engine, statement)
    plan.request.update(options, **_passed(request, "ConsistentRead"))
    binding = _binding(text, parameters)
    if plan.operation != "GetItem":
        if limit is not None:
            plan.request["Limit"] = limit
        if request.get("NextToken") is not None:
            plan.request["ExclusiveStartKey"] = _start(request["NextToken"], binding)
    result = _read(engine, plan)
    if "LastEvaluatedKey" in result:
        result["NextToken"] = _token(binding, result["LastEvaluatedKey"])
    return result


# -- BatchExecuteStatement --------------------------------------------------------------------------------
def _error_entry(error: DynamoDBError, table: str | None) -> dict[str, Any]:
    code = "ValidationError" if error.code == "ValidationException" else error.code.removesuffix("Exception")
    entry: dict[str, Any] = {"Error": {"Code": code, "Message": error.message}}
    if "Item" in error.extra:
        entry["Error"]["Item"] = error.extra["Item"]
    if table is not None:
        entry["TableName"] = table
    return entry


def _batch_one(engine: Engine, entry: dict[str, Any], statement: Statement,
               options: dict[str, Any]) -> dict[str, Any]:
    if isinstance(statement, Select):
        plan = plan_single_read(engine, statement, BATCH_SELECT)
        plan.request.update(options, **_passed(entry, "ConsistentRead"))
        out = _read(engine, plan)
        response: dict[str, Any] = {"TableName": plan.table}
        if out["Items"]:
            response["Item"] = out["Items"][0]
    else:
        plan = _write_plan(engine, statement)
        plan.request.update(options, **_passed(entry, "ReturnValuesOnConditionCheckFailure"))
        out = _run_write(engine, plan)
        response = {"TableName": plan.table}
    if "ConsumedCapacity" in out:
        response["ConsumedCapacity"] = out["ConsumedCapacity"]
    return response


def _table_of(statement: Statement) -> str:
    if isinstance(statement, Select):
        return statement.source.table
    if isinstance(statement, Exists):
        return statement.select.source.table
    return statement.table


def batch_execute_statement(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    entries = _entries(request.get("Statements"), "statements", MAX_BATCH)
    capacity.wanted(request)
    options = _passed(request, "ReturnConsumedCapacity")
    parsed: list[Statement | DynamoDBError] = []
    for entry in entries:
        try:
            parsed.append(parse(_text(entry.get("Statement")), _parameters(entry.get("Parameters"))))
        except DynamoDBError as error:
            parsed.append(error)
    kinds = {isinstance(s, Select) for s in parsed if not isinstance(s, DynamoDBError)}
    if len(kinds) > 1:
        raise validation("Batch statements must all be reads or all be writes")
    responses = []
    for entry, statement in zip(entries, parsed):
        if isinstance(statement, DynamoDBError):
            responses.append(_error_entry(statement, None))
            continue
        try:
            responses.append(_batch_one(engine, entry, statement, options))
        except DynamoDBError as error:
            table = _table_of(statement)
            responses.append(_error_entry(error, table if table in engine.tables() else None))
    return _with_capacity({"Responses": responses}, [r.pop("ConsumedCapacity", None) for r in responses])


def _with_capacity(out: dict[str, Any], parts: list[dict[str, Any] | None]) -> dict[str, Any]:
    """`out` with the per-table sums of the ConsumedCapacity objects in `parts`, if any were asked for."""
    merged: dict[str, dict[str, Any]] = {}
    for part in parts:
        if part is not None:
            _add_capacity(merged.setdefault(part["TableName"], {"TableName": part["TableName"]}), part)
    if merged:
        out["ConsumedCapacity"] = list(merged.values())
    return out


def _add_capacity(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, (int, float)):
            total[key] = total.get(key, 0.0) + value
        elif isinstance(value, dict):
            _add_capacity(total.setdefault(key, {}), value)


# -- ExecuteTransaction -----------------------------------------------------------------------------------
def _transact_item(engine: Engine, entry: dict[str, Any], statement: Statement) -> tuple[str, Plan]:
    if isinstance(statement, Select):
        if statement.source.index is not None:
            raise validation("Reads on indices are not supported within transactions.")
        return "Get", plan_single_read(engine, statement, TRANSACTION_SELECT)
    plan = plan_check(engine, statement) if isinstance(statement, Exists) else _write_plan(engine, statement)
    plan.request.update(_passed(entry, "ReturnValuesOnConditionCheckFailure"))
    kind = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}.get(plan.operation, plan.operation)
    plan.request.pop("ReturnValues", None)
    return kind, plan


def _duplicates(error: DynamoDBError, plans: list[Plan]) -> DynamoDBError:
    """The cancellation with an INSERT's failed condition reported as DuplicateItem."""
    reasons = error.extra.get("CancellationReasons")
    if error.code != "TransactionCanceledException" or not isinstance(reasons, list):
        return error
    reasons = [{"Code": "DuplicateItem", "Message": DUPLICATE}
               if plan.is_insert and reason.get("Code") == "ConditionalCheckFailed" else reason
               for plan, reason in zip(plans, reasons)]
    codes = ", ".join(reason["Code"] for reason in reasons)
    return DynamoDBError(error.code, "Transaction cancelled, please refer cancellation reasons for specific "
                         f"reasons [{codes}]", **{**error.extra, "CancellationReasons": reasons})


def execute_transaction(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    entries = _entries(request.get("TransactStatements"), "transactStatements", MAX_TRANSACTION)
    statements = [parse(_text(e.get("Statement")), _parameters(e.get("Parameters"))) for e in entries]
    if len({isinstance(s, Select) for s in statements}) > 1:
        raise validation("Transaction statements must all be reads or all be writes")
    items = [_transact_item(engine, e, s) for e, s in zip(entries, statements)]
    plans = [plan for _, plan in items]
    transact = [{kind: plan.request} for kind, plan in items]
    if isinstance(statements[0], Select):
        out = engine.call("TransactGetItems", {"TransactItems": transact,
                                               **_passed(request, "ReturnConsumedCapacity")})
        out["Responses"] = [{"Item": columns_of(r["Item"], plan.columns)} if "Item" in r else {}
                            for r, plan in zip(out["Responses"], plans)]
        return out
    try:
        return engine.call("TransactWriteItems", {"TransactItems": transact, **_passed(
            request, "ReturnConsumedCapacity", "ClientRequestToken")})
    except DynamoDBError as error:
        raise _duplicates(error, plans) from None
