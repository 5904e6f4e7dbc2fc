"""Resource identity: the engine and access control resolve what a request names through one parse.

DynamoDB rules checked: a data-plane `TableName` may be a table name or the table's ARN; the ARN of an index
or stream, or a malformed ARN, is a ValidationException; IAM authorizes the table the request reaches.
"""

from __future__ import annotations

from typing import Any

import pytest

from dynamokit import DynamoDBError, Engine
from dynamokit._engine.resources import Resource, parse_arn
from dynamokit.server._access import Principal, authorize

ACCOUNT = "123456789012"
PUBLIC = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/public"


@pytest.fixture
def db(engine: Engine) -> Engine:
    for name in ("public", "secret"):
        engine.call("CreateTable", {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        engine.call("PutItem", {"TableName": name, "Item": {"pk": {"S": "k"}, "from": {"S": name}}})
    return engine


def public_only() -> Principal:
    """A principal allowed everything on table `public` in any region and account (as docs/auth.md writes)."""
    return Principal.with_policies("alice", ACCOUNT, {}, [{
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": [
            "arn:aws:dynamodb:*:*:table/public", "arn:aws:dynamodb:*:*:table/public/*"]}]}])


def test_parse_arn_is_strict() -> None:
    assert parse_arn(PUBLIC) == Resource("aws", "us-east-1", ACCOUNT, "public")
    index = parse_arn(PUBLIC + "/index/by_x")
    assert (index.table, index.index, index.arn) == ("public", "by_x", PUBLIC + "/index/by_x")
    for bad in ("arn:x:table/secret/x:table/public", f"{PUBLIC}/x:table/other", f"{PUBLIC}/", "arn:aws:s3:::b",
                f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ab", f"{PUBLIC}/index/", None, 7):
        with pytest.raises(DynamoDBError) as caught:
            parse_arn(bad)
        assert caught.value.code == "ValidationException"


def test_table_arn_as_table_name_reaches_that_table(db: Engine) -> None:
    item = db.call("GetItem", {"TableName": PUBLIC, "Key": {"pk": {"S": "k"}}})["Item"]
    assert item["from"] == {"S": "public"}


@pytest.mark.parametrize("name", [
    "arn:x:table/secret/x:table/public",  # the crafted ARN of the hardening report
    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/secret/x:table/public",
    f"{PUBLIC}/index/by_x",  # an index ARN does not name a table
    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/public/stream/2024-01-01T00:00:00.000",
])
def test_malformed_or_non_table_arns_are_validation_errors(db: Engine, name: str) -> None:
    with pytest.raises(DynamoDBError) as caught:
        db.call("GetItem", {"TableName": name, "Key": {"pk": {"S": "k"}}})
    assert caught.value.code == "ValidationException"


def test_another_accounts_or_regions_table_is_not_found(db: Engine) -> None:
    for arn in ("arn:aws:dynamodb:us-east-1:999999999999:table/public",
                f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/public"):
        with pytest.raises(DynamoDBError) as caught:
            db.call("GetItem", {"TableName": arn, "Key": {"pk": {"S": "k"}}})
        assert caught.value.code == "ResourceNotFoundException"


@pytest.mark.parametrize(("operation", "request_"), [
    ("GetItem", {"Key": {"pk": {"S": "k"}}}),
    ("Scan", {}),
    ("PutItem", {"Item": {"pk": {"S": "stolen"}}}),
    ("DescribeTable", {}),
    ("DeleteTable", {}),
])
def test_crafted_arn_cannot_reach_a_table_the_policy_does_not_cover(db: Engine, operation: str,
                                                                    request_: dict[str, Any]) -> None:
    """The hardening report's bypass: policy and engine must agree on the table (here: refuse both)."""
    crafted = {"TableName": "arn:x:table/secret/x:table/public", **request_}
    with pytest.raises(DynamoDBError) as caught:
        authorize(public_only(), operation, crafted, db)
    assert caught.value.code in ("ValidationException", "AccessDeniedException")
    assert db.call("GetItem", {"TableName": "secret", "Key": {"pk": {"S": "k"}}})["Item"]["from"] == {"S": "secret"}


def test_policy_sees_the_table_an_arn_names(db: Engine) -> None:
    authorize(public_only(), "GetItem", {"TableName": PUBLIC, "Key": {"pk": {"S": "k"}}}, db)
    secret = PUBLIC.replace("public", "secret")
    with pytest.raises(DynamoDBError) as caught:
        authorize(public_only(), "GetItem", {"TableName": secret, "Key": {"pk": {"S": "k"}}}, db)
    assert caught.value.code == "AccessDeniedException" and secret in caught.value.message
    with pytest.raises(DynamoDBError) as caught:
        authorize(public_only(), "BatchGetItem", {"RequestItems": {secret: {"Keys": [{"pk": {"S": "k"}}]}}}, db)
    assert caught.value.code == "AccessDeniedException"


def test_leading_keys_are_found_through_an_arn(db: Engine) -> None:
    tenant = Principal.with_policies("alice", ACCOUNT, {}, [{
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:*:*:table/public",
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["k"]}}}]}])
    authorize(tenant, "GetItem", {"TableName": PUBLIC, "Key": {"pk": {"S": "k"}}}, db)
    with pytest.raises(DynamoDBError):
        authorize(tenant, "GetItem", {"TableName": PUBLIC, "Key": {"pk": {"S": "other"}}}, db)


def test_backup_and_restore_operations_are_authorized_on_their_resources(db: Engine) -> None:
    """CreateBackup on the table, DescribeBackup/RestoreTableFromBackup on the backup ARN (and the target
    table), RestoreTableToPointInTime on the source and target tables."""
    arn = db.call("CreateBackup", {"TableName": "secret", "BackupName": "bkp"})["BackupDetails"]["BackupArn"]
    for operation, request in (("CreateBackup", {"TableName": "secret", "BackupName": "x1x"}),
                               ("DescribeBackup", {"BackupArn": arn}),
                               ("RestoreTableFromBackup", {"BackupArn": arn, "TargetTableName": "public"}),
                               ("RestoreTableToPointInTime", {"SourceTableName": "secret",
                                                              "TargetTableName": "public"})):
        with pytest.raises(DynamoDBError) as caught:
            authorize(public_only(), operation, request, db)
        assert caught.value.code == "AccessDeniedException" and "table/secret" in caught.value.message
    authorize(public_only(), "CreateBackup", {"TableName": "public", "BackupName": "x1x"}, db)
