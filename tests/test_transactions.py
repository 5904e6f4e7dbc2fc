"""TransactWriteItems and TransactGetItems conformance, idempotency, capacity, and isolation under contention."""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

import dynamokit
from dynamokit import DynamoDBError, Engine

from .conftest import Caller, create

CANCELLED = "Transaction cancelled, please refer cancellation reasons for specific reasons "


def _error(call: Any, operation: str, **request: Any) -> DynamoDBError:
    with pytest.raises(DynamoDBError) as caught:
        call(operation, **request)
    return caught.value


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def _put(pk: str, **attrs: Any) -> dict[str, Any]:
    return {"Put": {"TableName": "txn", "Item": {"pk": {"S": pk}, **attrs}}}


def _add(pk: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {"Update": {"TableName": "txn", "Key": _key(pk), "UpdateExpression": "ADD n :a",
                       "ExpressionAttributeValues": {":a": {"N": str(amount)}}, **extra}}


def _get(ddb: Caller, pk: str) -> dict[str, Any] | None:
    return ddb("GetItem", TableName="txn", Key=_key(pk), ConsistentRead=True).get("Item")


@pytest.fixture
def t(ddb: Caller) -> Caller:
    create(ddb, "txn")
    ddb("PutItem", TableName="txn", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    return ddb


# -- TransactWriteItems ---------------------------------------------------------------------------------
def test_all_action_kinds_apply_together(t: Caller) -> None:
    """Rule: Put, Update, Delete and ConditionCheck in one transaction all apply."""
    t("PutItem", TableName="txn", Item={"pk": {"S": "gone"}})
    t("TransactWriteItems", TransactItems=[
        _put("new", v={"S": "x"}), _add("a", 5),
        {"Delete": {"TableName": "txn", "Key": _key("gone")}},
        {"ConditionCheck": {"TableName": "txn", "Key": _key("checked"),
                            "ConditionExpression": "attribute_not_exists(pk)"}}])
    assert _get(t, "new") == {"pk": {"S": "new"}, "v": {"S": "x"}}
    assert _get(t, "a") == {"pk": {"S": "a"}, "n": {"N": "6"}}
    assert _get(t, "gone") is None and _get(t, "checked") is None


def test_condition_failure_cancels_everything(t: Caller) -> None:
    """Rule: one failed condition cancels all actions: TransactionCanceledException, reasons in order."""
    error = _error(t, "TransactWriteItems", TransactItems=[
        _put("b"), _add("a", 1, ConditionExpression="n > :a")])
    assert error.code == "TransactionCanceledException"
    assert error.message == CANCELLED + "[None, ConditionalCheckFailed]"
    assert error.extra["CancellationReasons"] == [
        {"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}]
    assert _get(t, "b") is None and _get(t, "a") == {"pk": {"S": "a"}, "n": {"N": "1"}}


@pytest.mark.parametrize("kind", ["Put", "Update", "Delete", "ConditionCheck"])
def test_cancellation_returns_old_item(t: Caller, kind: str) -> None:
    """Rule: ReturnValuesOnConditionCheckFailure=ALL_OLD puts the stored item in the reason."""
    body: dict[str, Any] = {"TableName": "txn", "ConditionExpression": "attribute_not_exists(pk)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    if kind == "Put":
        body["Item"] = {"pk": {"S": "a"}, "n": {"N": "9"}}
    else:
        body["Key"] = _key("a")
    if kind == "Update":
        body["UpdateExpression"] = "SET x = :x"
        body["ExpressionAttributeValues"] = {":x": {"S": "y"}}
    error = _error(t, "TransactWriteItems", TransactItems=[{kind: body}])
    assert error.extra["CancellationReasons"] == [{"Code": "ConditionalCheckFailed", "Message":
                                                   "The conditional request failed",
                                                   "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}]


def test_update_that_cannot_apply_is_a_validation_error_reason(t: Caller) -> None:
    """Rule: an update invalid for the stored item cancels with Code ValidationError and its message."""
    t("PutItem", TableName="txn", Item={"pk": {"S": "s"}, "n": {"S": "text"}})
    error = _error(t, "TransactWriteItems", TransactItems=[_add("s", 1), _put("other")])
    assert error.message == CANCELLED + "[ValidationError, None]"
    reason = error.extra["CancellationReasons"][0]
    assert reason["Code"] == "ValidationError" and "incorrect data type" in reason["Message"]
    assert _get(t, "other") is None


def test_multiple_operations_on_one_item(t: Caller) -> None:
    """Rule: 'Transaction request cannot include multiple operations on one item' (key attribute order ignored)."""
    create(t, "two", range_key="sk")
    for items in ([_add("a", 1), _add("a", 2)],
                  [_put("a"), {"ConditionCheck": {"TableName": "txn", "Key": _key("a"),
                                                  "ConditionExpression": "attribute_exists(pk)"}}],
                  [{"Put": {"TableName": "two", "Item": {"pk": {"S": "p"}, "sk": {"S": "s"}}}},
                   {"Delete": {"TableName": "two", "Key": {"sk": {"S": "s"}, "pk": {"S": "p"}}}}]):
        error = _error(t, "TransactWriteItems", TransactItems=items)
        assert (error.code, error.message) == ("ValidationException",
                                               "Transaction request cannot include multiple operations on one item")


def test_same_key_in_two_tables_is_allowed(t: Caller) -> None:
    """Rule: 'one item' means one key in one table."""
    create(t, "tx2")
    t("TransactWriteItems", TransactItems=[_put("k"), {"Put": {"TableName": "tx2", "Item": _key("k")}}])
    assert _get(t, "k") is not None


def test_at_most_100_actions(t: Caller) -> None:
    """Rule: at most 100 actions (exact message)."""
    t("TransactWriteItems", TransactItems=[_put(f"p{n}") for n in range(100)])
    error = _error(t, "TransactWriteItems", TransactItems=[_put(f"q{n}") for n in range(101)])
    assert error.message == ("1 validation error detected at 'transactItems' failed to satisfy constraint: "
                             "Member must have length less than or equal to 100.")


def test_validation_errors_fail_before_anything(t: Caller) -> None:
    """Rule: request errors (bad key, unknown table) are plain errors, not cancellations, and write nothing."""
    error = _error(t, "TransactWriteItems", TransactItems=[_put("b"), _put("")])
    assert error.code == "ValidationException" and "Key: pk" in error.message
    error = _error(t, "TransactWriteItems", TransactItems=[_put("b"), {"Put": {"TableName": "nope",
                                                                                "Item": _key("x")}}])
    assert error.code == "ResourceNotFoundException"
    assert _get(t, "b") is None


def test_transaction_shape_errors(engine: Engine) -> None:
    """Rule: each entry holds exactly one action; ConditionCheck needs a ConditionExpression."""
    native = Caller("native", engine)  # boto3 refuses these shapes client-side
    create(native, "txn")
    error = _error(native, "TransactWriteItems", TransactItems=[{**_put("a"), "Delete": {
        "TableName": "txn", "Key": _key("a")}}])
    assert error.message == "TransactItems can only contain one of Check, Put, Update or Delete"
    error = _error(native, "TransactWriteItems", TransactItems=[{"ConditionCheck": {
        "TableName": "txn", "Key": _key("a")}}])
    assert "conditionCheck.conditionExpression" in error.message


def test_transaction_capacity(t: Caller) -> None:
    """Rule: transactional writes cost 2 WCU per KB (at least 2); ConditionCheck is charged the same way."""
    t("PutItem", TableName="txn", Item={"pk": {"S": "big"}, "pad": {"S": "x" * 2000}})  # 2008 bytes
    out = t("TransactWriteItems", ReturnConsumedCapacity="TOTAL", TransactItems=[
        _put("p", pad={"S": "x" * 1500}),                                          # 1509 B -> 2 KB -> 4
        _add("a", 1),                                                              # tiny -> 2
        {"ConditionCheck": {"TableName": "txn", "Key": _key("big"),
                            "ConditionExpression": "attribute_exists(pk)"}}])      # 2008 B -> 2 KB -> 4
    assert out["ConsumedCapacity"] == [{"TableName": "txn", "CapacityUnits": 10.0}]


# -- ClientRequestToken -----------------------------------------------------------------------------------
@pytest.fixture
def clocked() -> Any:
    now = [1_000_000.0]
    with Engine(clock=lambda: now[0]) as engine:
        create(Caller("native", engine), "txn")
        yield now, Caller("boto3", engine, dynamokit.client(engine))


def test_client_request_token_is_idempotent(clocked: Any) -> None:
    """Rule: a repeat with the same ClientRequestToken succeeds without applying again (10 minutes)."""
    now, ddb = clocked
    for _ in range(3):
        out = ddb("TransactWriteItems", TransactItems=[_add("a", 1)], ClientRequestToken="tok-1",
                  ReturnConsumedCapacity="TOTAL")
    assert _get(ddb, "a") == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert out["ConsumedCapacity"] == [{"TableName": "txn", "CapacityUnits": 1.0}]  # a repeat costs a read
    now[0] += 601
    ddb("TransactWriteItems", TransactItems=[_add("a", 1)], ClientRequestToken="tok-1")
    assert _get(ddb, "a") == {"pk": {"S": "a"}, "n": {"N": "2"}}


def test_client_request_token_with_other_parameters(clocked: Any) -> None:
    """Rule: the same token with different parameters is an IdempotentParameterMismatchException."""
    _, ddb = clocked
    ddb("TransactWriteItems", TransactItems=[_add("a", 1)], ClientRequestToken="tok-2")
    error = _error(ddb, "TransactWriteItems", TransactItems=[_add("a", 2)], ClientRequestToken="tok-2")
    assert error.code == "IdempotentParameterMismatchException"
    assert _get(ddb, "a") == {"pk": {"S": "a"}, "n": {"N": "1"}}


def test_cancelled_transaction_does_not_use_its_token(clocked: Any) -> None:
    """Rule: a cancelled transaction applied nothing, so a retry with its token runs again."""
    _, ddb = clocked
    check = {"ConditionCheck": {"TableName": "txn", "Key": _key("flag"),
                                "ConditionExpression": "attribute_exists(pk)"}}
    _error(ddb, "TransactWriteItems", TransactItems=[_add("a", 1), check], ClientRequestToken="tok-3")
    ddb("PutItem", TableName="txn", Item=_key("flag"))
    ddb("TransactWriteItems", TransactItems=[_add("a", 1), check], ClientRequestToken="tok-3")
    assert _get(ddb, "a") == {"pk": {"S": "a"}, "n": {"N": "1"}}


def test_tokens_are_durable(tmp_path: Path) -> None:
    """Rule: idempotency survives a restart: tokens are stored in the database."""
    db = str(tmp_path / "tokens.db")
    with Engine(db) as engine:
        native = Caller("native", engine)
        create(native, "txn")
        native("TransactWriteItems", TransactItems=[_add("a", 1)], ClientRequestToken="durable")
    with Engine(db) as engine:
        native = Caller("native", engine)
        native("TransactWriteItems", TransactItems=[_add("a", 1)], ClientRequestToken="durable")
        assert _get(native, "a") == {"pk": {"S": "a"}, "n": {"N": "1"}}


# -- TransactGetItems -----------------------------------------------------------------------------------
def _tget(pk: str, table: str = "txn", **extra: Any) -> dict[str, Any]:
    return {"Get": {"TableName": table, "Key": _key(pk), **extra}}


def test_transact_get_responses_in_order(t: Caller) -> None:
    """Rule: Responses follow the request order, {} for a missing item; projections apply per Get."""
    t("PutItem", TableName="txn", Item={"pk": {"S": "b"}, "x": {"S": "y"}})
    out = t("TransactGetItems", TransactItems=[
        _tget("b", ProjectionExpression="#x", ExpressionAttributeNames={"#x": "x"}), _tget("missing"), _tget("a")])
    assert out["Responses"] == [{"Item": {"x": {"S": "y"}}}, {}, {"Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}]


def test_transact_get_limits(t: Caller) -> None:
    """Rule: at most 100 Gets, no item twice, tables must exist."""
    assert "less than or equal to 100" in _error(
        t, "TransactGetItems", TransactItems=[_tget(f"k{n}") for n in range(101)]).message
    assert _error(t, "TransactGetItems", TransactItems=[_tget("a"), _tget("a")]).message == \
        "Transaction request cannot include multiple operations on one item"
    assert _error(t, "TransactGetItems", TransactItems=[_tget("a", "nope")]).code == "ResourceNotFoundException"


TRANSACT_GET_EXAMPLES = [
    ("2 RCU per 4 KB: a tiny item", [100], 2.0),
    ("a missing item still costs 2", [None], 2.0),
    ("5 KB rounds up to 8 KB: 4", [5 * 1024], 4.0),
    ("each item is rounded separately, then summed", [100, 4097], 6.0),
]


@pytest.mark.parametrize(("rule", "sizes", "expected"), TRANSACT_GET_EXAMPLES,
                         ids=[e[0] for e in TRANSACT_GET_EXAMPLES])
def test_transact_get_capacity(t: Caller, rule: str, sizes: list[int | None], expected: float) -> None:
    for n, size in enumerate(sizes):
        if size is not None:
            t("PutItem", TableName="txn", Item={"pk": {"S": f"i{n}"}, "pad": {"S": "x" * (size - 7)}})
    out = t("TransactGetItems", ReturnConsumedCapacity="TOTAL",
            TransactItems=[_tget(f"i{n}") for n in range(len(sizes))])
    assert out["ConsumedCapacity"] == [{"TableName": "txn", "CapacityUnits": expected}], rule


# -- contention: processes moving money -----------------------------------------------------------------
ACCOUNTS = 10
OPENING = 1000


def _engine(db: str) -> Caller:
    return Caller("native", Engine(db))


def _mover(db: str, seconds: float, seed: int) -> tuple[int, int]:
    """Move random amounts between random accounts until the time is up; (committed, cancelled)."""
    ddb, rng = _engine(db), random.Random(seed)
    committed = cancelled = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        source, target = rng.sample(range(ACCOUNTS), 2)
        amount = str(rng.randint(1, 300))
        try:
            ddb("TransactWriteItems", TransactItems=[
                {"Update": {"TableName": "bank", "Key": _key(f"acct{source}"),
                            "UpdateExpression": "SET balance = balance - :m", "ConditionExpression": "balance >= :m",
                            "ExpressionAttributeValues": {":m": {"N": amount}}}},
                {"Update": {"TableName": "bank", "Key": _key(f"acct{target}"),
                            "UpdateExpression": "SET balance = balance + :m",
                            "ExpressionAttributeValues": {":m": {"N": amount}}}}])
            committed += 1
        except DynamoDBError as error:
            assert error.code == "TransactionCanceledException"
            cancelled += 1
    ddb.engine.close()
    return committed, cancelled


def _auditor(db: str, seconds: float) -> tuple[int, list[int]]:
    """Read every account in one TransactGetItems until the time is up; (reads, totals that were wrong)."""
    ddb = _engine(db)
    reads, wrong = 0, []
    deadline = time.monotonic() + seconds
    gets = [{"Get": {"TableName": "bank", "Key": _key(f"acct{n}")}} for n in range(ACCOUNTS)]
    while time.monotonic() < deadline:
        out = ddb("TransactGetItems", TransactItems=gets)
        total = sum(int(r["Item"]["balance"]["N"]) for r in out["Responses"])
        reads += 1
        if total != ACCOUNTS * OPENING:
            wrong.append(total)
    ddb.engine.close()
    return reads, wrong


def _run_bank(tmp_path: Path, seconds: float) -> None:
    db = str(tmp_path / "bank.db")
    with Engine(db) as engine:
        setup = Caller("native", engine)
        create(setup, "bank")
        setup("BatchWriteItem", RequestItems={"bank": [
            {"PutRequest": {"Item": {"pk": {"S": f"acct{n}"}, "balance": {"N": str(OPENING)}}}}
            for n in range(ACCOUNTS)]})
    context = multiprocessing.get_context("spawn")
    with context.Pool(5) as pool:
        movers = [pool.apply_async(_mover, (db, seconds, seed)) for seed in range(4)]
        audit = pool.apply_async(_auditor, (db, seconds))
        results = [m.get(timeout=seconds + 120) for m in movers]
        reads, wrong = audit.get(timeout=seconds + 120)
    with Engine(db) as engine:
        items = Caller("native", engine)("Scan", TableName="bank", ConsistentRead=True)["Items"]
    assert sum(int(i["balance"]["N"]) for i in items) == ACCOUNTS * OPENING
    assert all(int(i["balance"]["N"]) >= 0 for i in items)
    assert wrong == [], "a reader saw a partial transaction"
    assert sum(c for c, _ in results) > 0 and reads > 0


BANK_SECONDS = float(os.environ.get("DYNAMOKIT_BANK_SECONDS", "10"))


def test_transactions_under_contention(tmp_path: Path) -> None:
    """Rule: transactions are all-or-nothing and isolated: 4 processes move money, totals never change."""
    _run_bank(tmp_path, BANK_SECONDS)


@pytest.mark.slow
def test_transactions_under_contention_long(tmp_path: Path) -> None:
    """The same contention run for 30 seconds."""
    _run_bank(tmp_path, 30.0)
