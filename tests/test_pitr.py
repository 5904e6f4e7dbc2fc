"""Point-in-time recovery: a restore gives exactly the table's contents at the instant asked for.

DynamoDB rules checked (API Reference: UpdateContinuousBackups, DescribeContinuousBackups,
RestoreTableToPointInTime): restorable instants lie between EarliestRestorableDateTime and
LatestRestorableDateTime; a restore creates a new table with the items (and index contents) of that instant;
PointInTimeRecoveryUnavailableException without PITR; InvalidRestoreTimeException outside the window;
TableAlreadyExistsException for an existing target; the window's start moves with the recovery period.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from dynamokit import DynamoDBError, Engine

from .conftest import Caller, Clock, create, expect_error

DAY = 86400.0


def _scan(engine: Engine, name: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {"TableName": name}
    while True:
        page = engine.call("Scan", request)
        found.update({item["pk"]["S"]: item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _restore(engine: Engine, source: str, target: str, at: float) -> dict[str, dict[str, Any]]:
    engine.call("RestoreTableToPointInTime", {"SourceTableName": source, "TargetTableName": target,
                                              "RestoreDateTime": at})
    engine.wait_for_backfills(30)
    assert engine.call("DescribeTable", {"TableName": target})["Table"]["TableStatus"] == "ACTIVE"
    return _scan(engine, target)


@pytest.fixture
def clocked() -> Any:
    clock = Clock()
    with Engine(clock=clock) as engine:
        engine.call("CreateTable", {
            "TableName": "src", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexes": [{"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}]})
        yield engine, clock


def test_restores_equal_the_table_at_twenty_random_instants(clocked: Any) -> None:
    engine, clock = clocked
    rng = random.Random(7)
    for i in range(30):  # items that exist before PITR is enabled are in its base
        engine.call("PutItem", {"TableName": "src", "Item": {"pk": {"S": f"k{i}"}, "v": {"N": "0"}}})
    clock.advance(5)
    engine.call("UpdateContinuousBackups", {"TableName": "src", "PointInTimeRecoverySpecification": {
        "PointInTimeRecoveryEnabled": True}})
    model = {f"k{i}": {"pk": {"S": f"k{i}"}, "v": {"N": "0"}} for i in range(30)}
    history = [(clock(), dict(model))]
    for step in range(400):
        clock.advance(rng.choice([0.001, 0.5, 3.0]))
        key = f"k{rng.randrange(45)}"
        action = rng.random()
        if action < 0.45:
            item = {"pk": {"S": key}, "v": {"N": str(step)}, "g": {"S": rng.choice("ab")}}
            engine.call("PutItem", {"TableName": "src", "Item": item})
            model[key] = item
        elif action < 0.75:
            if key in model:
                engine.call("UpdateItem", {"TableName": "src", "Key": {"pk": {"S": key}},
                                           "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {
                                               ":v": {"N": str(step)}}})
                model[key] = {**model[key], "v": {"N": str(step)}}
        else:
            engine.call("DeleteItem", {"TableName": "src", "Key": {"pk": {"S": key}}})
            model.pop(key, None)
        history.append((clock(), dict(model)))
    clock.advance(1)
    for n, (at, expected) in enumerate(rng.sample(history, 20)):
        restored = _restore(engine, "src", f"at{n:02d}", at)
        assert restored == expected, f"restore at {at}"
        in_index = engine.call("Query", {"TableName": f"at{n:02d}", "IndexName": "by_g",
                                         "KeyConditionExpression": "g = :g",
                                         "ExpressionAttributeValues": {":g": {"S": "a"}}})["Items"]
        assert sorted(i["pk"]["S"] for i in in_index) == sorted(
            k for k, item in expected.items() if item.get("g") == {"S": "a"})


def test_latest_restorable_time_and_errors(clocked: Any) -> None:
    engine, clock = clocked
    engine.call("PutItem", {"TableName": "src", "Item": {"pk": {"S": "a"}}})
    with pytest.raises(DynamoDBError) as caught:
        engine.call("RestoreTableToPointInTime", {"SourceTableName": "src", "TargetTableName": "dst",
                                                  "UseLatestRestorableTime": True})
    assert caught.value.code == "PointInTimeRecoveryUnavailableException"
    engine.call("UpdateContinuousBackups", {"TableName": "src", "PointInTimeRecoverySpecification": {
        "PointInTimeRecoveryEnabled": True}})
    start = clock()
    clock.advance(10)
    engine.call("PutItem", {"TableName": "src", "Item": {"pk": {"S": "b"}}})
    engine.call("RestoreTableToPointInTime", {"SourceTableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/src",
                                              "TargetTableName": "dst", "UseLatestRestorableTime": True})
    engine.wait_for_backfills(10)
    assert set(_scan(engine, "dst")) == {"a", "b"}
    for at in (start - 1, clock() + 1):
        with pytest.raises(DynamoDBError) as caught:
            engine.call("RestoreTableToPointInTime", {"SourceTableName": "src", "TargetTableName": "late",
                                                      "RestoreDateTime": at})
        assert caught.value.code == "InvalidRestoreTimeException"
    with pytest.raises(DynamoDBError) as caught:
        engine.call("RestoreTableToPointInTime", {"SourceTableName": "src", "TargetTableName": "dst",
                                                  "RestoreDateTime": start})
    assert caught.value.code == "TableAlreadyExistsException"
    assert "late" not in engine.call("ListTables", {})["TableNames"]  # nothing half-created


def test_storage_is_bounded_by_the_recovery_period(clocked: Any) -> None:
    engine, clock = clocked
    engine.call("UpdateContinuousBackups", {"TableName": "src", "PointInTimeRecoverySpecification": {
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 1}})
    for i in range(50):
        engine.call("PutItem", {"TableName": "src", "Item": {"pk": {"S": "hot"}, "v": {"N": str(i)}}})
        clock.advance(3600)  # 50 hours of changes, one an hour
    conn = engine.storage.connection()
    assert conn.execute("SELECT COUNT(*) FROM pitr_log").fetchone()[0] == 50
    window = engine.call("DescribeContinuousBackups", {"TableName": "src"})[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert window["EarliestRestorableDateTime"] == pytest.approx(clock() - DAY)
    assert conn.execute("SELECT COUNT(*) FROM pitr_log").fetchone()[0] <= 25  # the last day's changes only
    at = clock() - DAY + 1800  # the change logged 24.5 hours ago is the latest by then
    assert _restore(engine, "src", "old", at)["hot"]["v"] == {"N": "26"}
    engine.call("UpdateContinuousBackups", {"TableName": "src", "PointInTimeRecoverySpecification": {
        "PointInTimeRecoveryEnabled": False}})
    assert conn.execute("SELECT COUNT(*) FROM pitr_log").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM pitr_base").fetchone()[0] == 0


def test_pitr_through_every_way_in(ddb: Caller) -> None:
    create(ddb, "pitr-src")
    ddb("PutItem", TableName="pitr-src", Item={"pk": {"S": "x"}})
    described = ddb("UpdateContinuousBackups", TableName="pitr-src", PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})["ContinuousBackupsDescription"]
    assert described["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    out = ddb("RestoreTableToPointInTime", SourceTableName="pitr-src", TargetTableName="pitr-dst",
              UseLatestRestorableTime=True)["TableDescription"]
    assert out["TableName"] == "pitr-dst" and out["RestoreSummary"]["SourceTableArn"].endswith("/pitr-src")
    ddb.engine.wait_for_backfills(10)
    assert ddb("GetItem", TableName="pitr-dst", Key={"pk": {"S": "x"}})["Item"] == {"pk": {"S": "x"}}
    assert expect_error(ddb, "RestoreTableToPointInTime", SourceTableName="nope-nope", TargetTableName="t-x",
                        UseLatestRestorableTime=True).code == "TableNotFoundException"
