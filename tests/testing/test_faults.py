"""Injected faults and throttling, through real boto3 clients and their retry modes, on the real engine."""

from __future__ import annotations

import importlib
import random
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import dynamokit
from dynamokit import Fault
from dynamokit._engine import Engine
from dynamokit._engine.throttle import PROVISIONED_MESSAGE

ORDERS = {"TableName": "orders", "BillingMode": "PAY_PER_REQUEST",
          "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
          "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}
USERS = {**ORDERS, "TableName": "users"}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry backoff, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=slept.append))
    return slept


def retrying(mode: str, attempts: int = 10) -> Any:
    return boto3.client("dynamodb", config=Config(retries={"mode": mode, "max_attempts": attempts}))


def put(ddb: Any, key: str, table: str = "orders") -> dict[str, Any]:
    return ddb.put_item(TableName=table, Item={"id": {"S": key}})


@pytest.mark.parametrize("mode", ["standard", "adaptive", "legacy"])
def test_retry_modes_recover_from_injected_throttles(mode: str, sleeps: list[float]) -> None:
    fault = Fault("PutItem", "ThrottlingException", table="orders", times=2)
    with dynamokit.mock(tables=[ORDERS], faults=[fault]) as engine:
        response = put(retrying(mode), "o1")
        assert response["ResponseMetadata"]["RetryAttempts"] == 2
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert engine.faults.fired == [("PutItem", "ThrottlingException")] * 2
        assert len(sleeps) == 2
        assert not importlib.import_module("dynamokit.client")._pending  # nothing kept after the call
        assert engine.call("GetItem", {"TableName": "orders", "Key": {"id": {"S": "o1"}}})["Item"]


def test_retry_attempts_follow_the_seeded_fault_sequence(sleeps: list[float]) -> None:
    with dynamokit.mock(tables=[ORDERS], faults=[Fault("PutItem", rate=0.5, table="orders")], fault_seed=7) as engine:
        ddb = retrying("standard", attempts=30)
        retries = [put(ddb, f"o{n}")["ResponseMetadata"]["RetryAttempts"] for n in range(20)]
    draws = random.Random(7)
    expected = []
    for _ in range(20):
        failed = 0
        while draws.random() < 0.5:
            failed += 1
        expected.append(failed)
    assert retries == expected
    assert sum(retries) == len(engine.faults.fired) > 0


def test_exhausted_retries_raise_the_fault_and_write_nothing(sleeps: list[float]) -> None:
    with dynamokit.mock(tables=[ORDERS], faults=[Fault("PutItem", "InternalServerError")]) as engine:
        with pytest.raises(ClientError) as raised:
            put(retrying("standard", attempts=3), "o1")
        assert raised.value.response["Error"]["Code"] == "InternalServerError"
        assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 3
        assert len(engine.faults.fired) == 4
        assert "Item" not in engine.call("GetItem", {"TableName": "orders", "Key": {"id": {"S": "o1"}}})


def test_transaction_conflicts_are_not_retried(sleeps: list[float]) -> None:
    with dynamokit.mock(tables=[ORDERS], faults=[Fault("UpdateItem", "TransactionConflictException")]):
        with pytest.raises(ClientError) as raised:
            retrying("standard").update_item(TableName="orders", Key={"id": {"S": "o1"}},
                                              UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}})
        assert raised.value.response["Error"]["Code"] == "TransactionConflictException"
        assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 0
        assert sleeps == []


def test_faults_are_deterministic_with_their_seed() -> None:
    def run(seed: int) -> list[tuple[str, str]]:
        engine = Engine(faults=[Fault("ListTables", rate=0.3), Fault(None, "InternalServerError", rate=0.1)],
                        fault_seed=seed)
        for _ in range(60):
            try:
                engine.call("ListTables")
            except dynamokit.DynamoDBError:
                pass
        return engine.faults.fired

    assert run(3) == run(3)
    assert run(3) != run(4)
    assert {error for _, error in run(3)} == {"ThrottlingException", "InternalServerError"}


def test_faults_match_their_operation_and_table(sleeps: list[float]) -> None:
    with dynamokit.mock(tables=[ORDERS, USERS], faults=[Fault("PutItem", table="orders")]) as engine:
        ddb = retrying("legacy", attempts=0)
        put(ddb, "u1", table="users")
        ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})
        ddb.batch_write_item(RequestItems={"users": [{"PutRequest": {"Item": {"id": {"S": "u2"}}}}]})
        assert engine.faults.fired == []
        with pytest.raises(ClientError, match="ThrottlingException"):
            put(ddb, "o1")
        assert engine.faults.fired == [("PutItem", "ThrottlingException")]


def test_faults_never_fire_when_off(sleeps: list[float]) -> None:
    with dynamokit.mock(tables=[ORDERS]) as engine:
        assert not engine.faults and engine.throttle is None and engine._admit == ()
        ddb = retrying("standard")
        for n in range(50):
            assert put(ddb, f"o{n}")["ResponseMetadata"]["RetryAttempts"] == 0
        assert engine.faults.fired == [] and sleeps == []
    engine = Engine(faults=[Fault("PutItem")])
    engine.faults.clear()
    assert engine._admit == ()


def test_unknown_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        Fault("PutItem", "Oops")
    with pytest.raises(ValueError, match="probability"):
        Fault("PutItem", rate=2)


# -- throttling ----------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def provisioned(reads: int, writes: int, **extra: Any) -> dict[str, Any]:
    return {"TableName": "orders", "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {"ReadCapacityUnits": reads, "WriteCapacityUnits": writes},
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}], **extra}


def native_puts(engine: Engine, count: int, start: int = 0) -> int:
    """How many of `count` puts succeed before the first throttle."""
    for n in range(count):
        try:
            engine.call("PutItem", {"TableName": "orders", "Item": {"id": {"S": f"o{start + n}"}}})
        except dynamokit.DynamoDBError as error:
            assert error.code == "ProvisionedThroughputExceededException"
            return n
    return count


def test_a_provisioned_table_throttles_after_its_burst_credit() -> None:
    clock = Clock()
    engine = Engine(clock=clock, throttling=True)
    engine.call("CreateTable", provisioned(5, 5))
    clock.now += 1000  # unused capacity kept: 300 s of it, no more
    assert native_puts(engine, 2000) == 1500
    ddb = dynamokit.client(engine)
    with pytest.raises(ClientError) as raised:
        put(ddb, "late")
    assert raised.value.response["Error"] == {"Code": "ProvisionedThroughputExceededException",
                                              "Message": PROVISIONED_MESSAGE}
    clock.now += 1  # one second: 5 units
    assert native_puts(engine, 100, start=5000) == 5
    clock.now += 2
    assert native_puts(engine, 100, start=6000) == 10
    # reads have their own bucket: 5 RCU, an eventually consistent read of a small item costs 0.5
    clock.now += 0.0
    assert ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})["Item"]


def test_reads_throttle_by_their_cost() -> None:
    clock = Clock()
    engine = Engine(clock=clock, throttling=True)
    engine.call("CreateTable", provisioned(5, 5))  # no time passes: one second's units
    key = {"TableName": "orders", "Key": {"id": {"S": "o1"}}}
    reads = 0
    with pytest.raises(dynamokit.DynamoDBError, match="provisioned throughput"):
        while True:
            engine.call("GetItem", key)
            reads += 1
    assert reads == 10  # eventually consistent: 0.5 RCU each
    clock.now += 1
    for _ in range(5):
        engine.call("GetItem", {**key, "ConsistentRead": True})
    with pytest.raises(dynamokit.DynamoDBError, match="provisioned throughput"):
        engine.call("GetItem", key)


def test_a_gsi_throttles_writes_to_its_table() -> None:
    clock = Clock()
    engine = Engine(clock=clock, throttling=True)
    engine.call("CreateTable", provisioned(100, 100, AttributeDefinitions=[
        {"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"},
                                 "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 2}}]))
    assert native_puts(engine, 50) == 50  # no index key: the GSI is not written
    written = 0
    with pytest.raises(dynamokit.DynamoDBError, match="provisioned throughput"):
        while written < 50:
            engine.call("PutItem", {"TableName": "orders", "Item": {"id": {"S": f"g{written}"}, "g": {"S": "x"}}})
            written += 1
    assert written == 2
    query = {"TableName": "orders", "IndexName": "by-g", "KeyConditionExpression": "g = :g",
             "ExpressionAttributeValues": {":g": {"S": "x"}}}
    engine.call("Query", query)  # 1 RCU of its own: 0.5 per eventually consistent query
    engine.call("Query", query)
    with pytest.raises(dynamokit.DynamoDBError, match="provisioned throughput"):
        engine.call("Query", query)


def test_standard_retries_outlast_a_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    engine = Engine(clock=clock, throttling=True)
    engine.call("CreateTable", provisioned(1, 1))

    def sleep(seconds: float) -> None:
        clock.now += seconds  # botocore's backoff lets the table's capacity refill

    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=sleep))
    ddb = dynamokit.client(engine, config=Config(retries={"mode": "standard", "max_attempts": 20}))
    assert put(ddb, "a")["ResponseMetadata"]["RetryAttempts"] == 0
    response = put(ddb, "b")
    assert response["ResponseMetadata"]["RetryAttempts"] >= 1
    assert engine.call("GetItem", {"TableName": "orders", "Key": {"id": {"S": "b"}}})["Item"]


def test_on_demand_limits() -> None:
    clock = Clock()
    engine = Engine(clock=clock, throttling=True)
    engine.call("CreateTable", ORDERS)
    assert native_puts(engine, 300) == 300  # on-demand: unlimited
    assert engine.throttle is not None
    engine.throttle.limit("orders", requests=3)
    assert native_puts(engine, 10, start=1000) == 3
    clock.now += 1
    assert native_puts(engine, 10, start=2000) == 3
    engine.throttle.limit("orders")
    assert native_puts(engine, 10, start=3000) == 10


def test_throttling_is_off_by_default() -> None:
    clock = Clock()
    engine = Engine(clock=clock)
    engine.call("CreateTable", provisioned(1, 1))
    assert engine.throttle is None
    assert native_puts(engine, 100) == 100
    with dynamokit.mock(throttling=True) as mocked:
        assert mocked.throttle is not None
