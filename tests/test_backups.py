"""On-demand backups and the continuous-backups settings, through all three ways in.

DynamoDB rules checked (API Reference: CreateBackup, DescribeBackup, ListBackups, DeleteBackup,
RestoreTableFromBackup, DescribeContinuousBackups, UpdateContinuousBackups):
- a backup is the table's contents when it was taken; later writes do not reach it;
- RestoreTableFromBackup creates a new table (CREATING, with RestoreSummary) holding the backup's items and
  index contents; streams, TTL and tags are not restored; BillingMode / index overrides apply;
- errors: BackupNotFoundException, TableAlreadyExistsException, TableNotFoundException (continuous backups),
  ValidationException for bad names and RecoveryPeriodInDays outside 1-35.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from dynamokit import Engine

from .conftest import Caller, create, expect_error


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _table(ddb: Caller) -> str:
    name = _name("src")
    create(ddb, name, range_key="sk", GlobalSecondaryIndexes=[{
        "IndexName": "by_owner", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}])
    ddb("BatchWriteItem", RequestItems={name: [
        {"PutRequest": {"Item": {"pk": {"S": f"p{i % 3}"}, "sk": {"S": f"{i:03d}"}, "owner": {"S": f"o{i % 2}"},
                                 "n": {"N": str(i)}}}} for i in range(20)]})
    return name


def _wait_active(ddb: Caller, name: str) -> dict[str, Any]:
    for _ in range(500):
        table = ddb("DescribeTable", TableName=name)["Table"]
        if table["TableStatus"] == "ACTIVE":
            return table
        time.sleep(0.01)
    raise AssertionError(f"{name} never became ACTIVE")


def _items(ddb: Caller, name: str, **extra: Any) -> list[dict[str, Any]]:
    return sorted(ddb("Scan", TableName=name, **extra)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def test_backup_is_a_snapshot_and_restore_brings_it_back(ddb: Caller) -> None:
    source = _table(ddb)
    before = _items(ddb, source)
    created = ddb("CreateBackup", TableName=source, BackupName="nightly")["BackupDetails"]
    assert created["BackupStatus"] == "CREATING" and created["BackupType"] == "USER"
    assert created["BackupArn"].startswith(f"arn:aws:dynamodb:us-east-1:123456789012:table/{source}/backup/")
    ddb("PutItem", TableName=source, Item={"pk": {"S": "later"}, "sk": {"S": "x"}})  # not in the backup
    ddb("DeleteItem", TableName=source, Key={"pk": {"S": "p0"}, "sk": {"S": "000"}})

    described = ddb("DescribeBackup", BackupArn=created["BackupArn"])["BackupDescription"]
    assert described["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert described["SourceTableDetails"]["ItemCount"] == 20
    assert described["SourceTableDetails"]["TableName"] == source
    assert described["SourceTableFeatureDetails"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by_owner"

    target = _name("restored")
    restored = ddb("RestoreTableFromBackup", TargetTableName=target, BackupArn=created["BackupArn"])
    summary = restored["TableDescription"]["RestoreSummary"]
    assert summary["SourceBackupArn"] == created["BackupArn"] and summary["SourceTableArn"].endswith(source)
    table = _wait_active(ddb, target)
    assert table["RestoreSummary"]["RestoreInProgress"] is False
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert _items(ddb, target) == before
    by_owner = ddb("Query", TableName=target, IndexName="by_owner", KeyConditionExpression="#o = :o",
                   ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": {"S": "o1"}})
    assert by_owner["Count"] == 10  # index contents rebuilt


def test_restore_overrides_billing_and_indexes(ddb: Caller) -> None:
    source = _table(ddb)
    arn = ddb("CreateBackup", TableName=source, BackupName="bk1")["BackupDetails"]["BackupArn"]
    target = _name("over")
    ddb("RestoreTableFromBackup", TargetTableName=target, BackupArn=arn, BillingModeOverride="PROVISIONED",
        ProvisionedThroughputOverride={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexOverride=[])
    table = _wait_active(ddb, target)
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert "GlobalSecondaryIndexes" not in table
    assert {a["AttributeName"] for a in table["AttributeDefinitions"]} == {"pk", "sk"}
    assert len(_items(ddb, target)) == 20


def test_list_backups_filters_and_pages(ddb: Caller) -> None:
    source = _table(ddb)
    arns = [ddb("CreateBackup", TableName=source, BackupName=f"bk{i}")["BackupDetails"]["BackupArn"]
            for i in range(3)]
    page = ddb("ListBackups", TableName=source, Limit=2)
    assert [s["BackupArn"] for s in page["BackupSummaries"]] == arns[:2]
    rest = ddb("ListBackups", TableName=source, ExclusiveStartBackupArn=page["LastEvaluatedBackupArn"])
    assert [s["BackupArn"] for s in rest["BackupSummaries"]] == arns[2:] and "LastEvaluatedBackupArn" not in rest
    assert ddb("ListBackups", TableName=source, BackupType="SYSTEM")["BackupSummaries"] == []
    deleted = ddb("DeleteBackup", BackupArn=arns[0])["BackupDescription"]["BackupDetails"]
    assert deleted["BackupStatus"] == "DELETED"
    assert [s["BackupArn"] for s in ddb("ListBackups", TableName=source)["BackupSummaries"]] == arns[1:]


def test_backup_errors(ddb: Caller) -> None:
    source = _table(ddb)
    arn = ddb("CreateBackup", TableName=source, BackupName="bkp")["BackupDetails"]["BackupArn"]
    missing = arn[:-8] + "00000000"
    assert expect_error(ddb, "DescribeBackup", BackupArn=missing).code == "BackupNotFoundException"
    assert expect_error(ddb, "DeleteBackup", BackupArn=missing).code == "BackupNotFoundException"
    error = expect_error(ddb, "RestoreTableFromBackup", TargetTableName=source, BackupArn=arn)
    assert (error.code, error.message) == ("TableAlreadyExistsException", f"Table already exists: {source}")
    assert expect_error(ddb, "CreateBackup", TableName=source, BackupName="a!b").code == "ValidationException"
    assert expect_error(ddb, "CreateBackup", TableName="nope-nope", BackupName="bkp").code == \
        "ResourceNotFoundException"


def test_continuous_backups_settings(ddb: Caller) -> None:
    source = _table(ddb)
    off = ddb("DescribeContinuousBackups", TableName=source)["ContinuousBackupsDescription"]
    assert off == {"ContinuousBackupsStatus": "ENABLED",
                   "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}
    on = ddb("UpdateContinuousBackups", TableName=source, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7})["ContinuousBackupsDescription"]
    pitr = on["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED" and pitr["RecoveryPeriodInDays"] == 7
    assert pitr["EarliestRestorableDateTime"] <= pitr["LatestRestorableDateTime"]
    error = expect_error(ddb, "UpdateContinuousBackups", TableName=source, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 36})
    assert error.code == "ValidationException"
    assert expect_error(ddb, "DescribeContinuousBackups", TableName="nope-nope").code == "TableNotFoundException"


def test_backups_survive_the_engine_and_their_table(tmp_path: Any) -> None:
    """Backups are durable: stored beside the database, kept after the table is deleted."""
    path = str(tmp_path / "db.sqlite")
    with Engine(path) as engine:
        engine.call("CreateTable", {"TableName": "gone", "BillingMode": "PAY_PER_REQUEST",
                                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        engine.call("PutItem", {"TableName": "gone", "Item": {"pk": {"S": "a"}}})
        arn = engine.call("CreateBackup", {"TableName": "gone", "BackupName": "keep"})["BackupDetails"]["BackupArn"]
        engine.call("DeleteTable", {"TableName": "gone"})
    with Engine(path) as engine:
        engine.call("RestoreTableFromBackup", {"TargetTableName": "back", "BackupArn": arn})
        engine.wait_for_backfills(10)
        assert engine.call("Scan", {"TableName": "back"})["Items"] == [{"pk": {"S": "a"}}]


def test_restore_of_many_items_interleaves_with_other_writers(tmp_path: Any) -> None:
    """Restoring copies in chunks: other tables' writes go on meanwhile and nothing is lost."""
    from dynamokit._engine import backups

    with Engine(str(tmp_path / "db.sqlite")) as engine:
        for name in ("big", "busy"):
            engine.call("CreateTable", {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                                        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        for start in range(0, 5000, 25):
            engine.call("BatchWriteItem", {"RequestItems": {"big": [
                {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}}}} for i in range(start, start + 25)]}})
        arn = engine.call("CreateBackup", {"TableName": "big", "BackupName": "bkp"})["BackupDetails"]["BackupArn"]
        chunk = backups.RESTORE_CHUNK
        backups.RESTORE_CHUNK = 500
        try:
            engine.call("RestoreTableFromBackup", {"TargetTableName": "copy", "BackupArn": arn})
            writes = 0
            while engine.call("DescribeTable", {"TableName": "copy"})["Table"]["TableStatus"] != "ACTIVE":
                engine.call("PutItem", {"TableName": "busy", "Item": {"pk": {"S": f"w{writes}"}}})
                writes += 1
        finally:
            backups.RESTORE_CHUNK = chunk
        assert engine.call("Scan", {"TableName": "copy", "Select": "COUNT"})["Count"] == 5000
        assert engine.call("Scan", {"TableName": "busy", "Select": "COUNT"})["Count"] == writes


@pytest.mark.parametrize("operation", ["DescribeBackup", "DeleteBackup"])
def test_malformed_backup_arn_is_a_validation_error(ddb: Caller, operation: str) -> None:
    for arn in ("arn:aws:dynamodb:us-east-1:123456789012:table/not-a-backup", "x" * 40):
        assert expect_error(ddb, operation, BackupArn=arn).code == "ValidationException"


def test_aws_cli_backup_pitr_and_restore(tmp_path: Any) -> None:
    """The AWS CLI's create-backup, describe-continuous-backups, update-continuous-backups,
    restore-table-to-point-in-time and restore-table-from-backup work against `dynamokit serve`."""
    import json
    import os
    import shutil
    import subprocess

    from dynamokit.server._http import Server

    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds")}
    with Engine(str(tmp_path / "db.sqlite")) as engine, Server(engine, port=0) as server:
        def cli(*args: str) -> dict[str, Any]:
            done = subprocess.run([aws, "dynamodb", *args, "--endpoint-url", server.url, "--output", "json"],
                                  env=env, capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout) if done.stdout.strip() else {}

        engine.call("CreateTable", {"TableName": "orders", "BillingMode": "PAY_PER_REQUEST",
                                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        engine.call("PutItem", {"TableName": "orders", "Item": {"pk": {"S": "o1"}}})
        arn = cli("create-backup", "--table-name", "orders", "--backup-name", "nightly")["BackupDetails"]["BackupArn"]
        assert cli("describe-continuous-backups", "--table-name", "orders")["ContinuousBackupsDescription"][
            "PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
        cli("update-continuous-backups", "--table-name", "orders",
            "--point-in-time-recovery-specification", "PointInTimeRecoveryEnabled=true")
        cli("restore-table-to-point-in-time", "--source-table-name", "orders", "--target-table-name", "orders-pitr",
            "--use-latest-restorable-time")
        cli("restore-table-from-backup", "--target-table-name", "orders-copy", "--backup-arn", arn)
        engine.wait_for_backfills(10)
        for name in ("orders-pitr", "orders-copy"):
            assert engine.call("Scan", {"TableName": name})["Items"] == [{"pk": {"S": "o1"}}]
        assert [b["BackupName"] for b in cli("list-backups", "--table-name", "orders")["BackupSummaries"]] == \
            ["nightly"]
