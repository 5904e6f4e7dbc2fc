"""Measured differences from DynamoDB (issue 18) that fit no other file: each test names the rule it checks."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from dynamokit._engine.keys import partition_hash

from .conftest import Caller, create, expect_error


def test_size_of_size_is_refused(ddb: Caller) -> None:
    """Rule: size() takes a document path: size(size(a)) is a ValidationException."""
    create(ddb)
    error = expect_error(ddb, "Scan", TableName="tbl", FilterExpression="size(size(a)) > :n",
                         ExpressionAttributeValues={":n": {"N": "1"}})
    assert error.code == "ValidationException" and "function: size" in error.message


def test_projection_path_deeper_than_32_is_refused(ddb: Caller) -> None:
    """Rule: a document path has at most 32 levels: a 33-level ProjectionExpression is a ValidationException."""
    create(ddb)
    ddb("GetItem", TableName="tbl", Key={"pk": {"S": "a"}}, ProjectionExpression=".".join(["a"] * 32))
    error = expect_error(ddb, "GetItem", TableName="tbl", Key={"pk": {"S": "a"}},
                         ProjectionExpression=".".join(["a"] * 33))
    assert error.code == "ValidationException" and "nesting levels: 33" in error.message


def test_parallel_scan_start_key_must_lie_in_the_segment(ddb: Caller) -> None:
    """Rule: a parallel Scan's ExclusiveStartKey must belong to its Segment (ValidationException otherwise)."""
    create(ddb)
    key = next({"pk": {"S": f"k{n}"}} for n in range(100)
               if partition_hash(f"k{n}".encode()) >= 1 << 31)  # in segment 1 of 2
    ddb("Scan", TableName="tbl", Segment=1, TotalSegments=2, ExclusiveStartKey=key)
    error = expect_error(ddb, "Scan", TableName="tbl", Segment=0, TotalSegments=2, ExclusiveStartKey=key)
    assert error.code == "ValidationException" and "Segment" in error.message


def test_update_table_gsi_updates_need_definitions_and_actions(ddb: Caller) -> None:
    """Rule: UpdateTable creating a GSI needs AttributeDefinitions; GlobalSecondaryIndexUpdates may not be
    empty (ValidationException both)."""
    create(ddb)
    create_gsi = {"Create": {"IndexName": "by_pk", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                             "Projection": {"ProjectionType": "ALL"}}}
    assert expect_error(ddb, "UpdateTable", TableName="tbl",
                        GlobalSecondaryIndexUpdates=[create_gsi]).code == "ValidationException"
    assert expect_error(ddb, "UpdateTable", TableName="tbl",
                        GlobalSecondaryIndexUpdates=[]).code == "ValidationException"
    assert "GlobalSecondaryIndexes" not in ddb("DescribeTable", TableName="tbl")["Table"]


@pytest.mark.parametrize("name", ["xx", "a!b"])
def test_invalid_table_names_are_validation_errors(ddb: Caller, name: str) -> None:
    """Rule: a table name breaking the 3-255 [a-zA-Z0-9_.-] constraint is a ValidationException on every
    operation, data plane included, not ResourceNotFoundException."""
    for operation, request in (("GetItem", {"Key": {"pk": {"S": "a"}}}), ("PutItem", {"Item": {"pk": {"S": "a"}}}),
                               ("Query", {"KeyConditionExpression": "pk = :p",
                                          "ExpressionAttributeValues": {":p": {"S": "a"}}}),
                               ("Scan", {}), ("DescribeTable", {})):
        assert expect_error(ddb, operation, TableName=name, **request).code == "ValidationException"
    assert expect_error(ddb, "GetItem", TableName="fine", Key={"pk": {"S": "a"}}).code == \
        "ResourceNotFoundException"


def test_tag_resource_on_a_non_arn_is_access_denied(ddb: Caller) -> None:
    """Rule: TagResource naming something that is not an ARN answers AccessDeniedException."""
    error = expect_error(ddb, "TagResource", ResourceArn="not-an-arn", Tags=[{"Key": "k", "Value": "v"}])
    assert error.code == "AccessDeniedException"


def test_malformed_stream_arns_are_validation_errors(http_engine: tuple) -> None:
    """Rule: a malformed stream ARN in ListStreams, DescribeStream or GetShardIterator is a
    ValidationException; a well-formed unknown one ResourceNotFoundException."""
    _, url = http_engine
    streams = boto3.client("dynamodbstreams", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k",
                           aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))
    bad = "arn:aws:dynamodb:us-east-1:123456789012:table/tbl/index/x"
    calls = [(streams.list_streams, {"ExclusiveStartStreamArn": bad}),
             (streams.describe_stream, {"StreamArn": bad}),
             (streams.get_shard_iterator, {"StreamArn": bad, "ShardId": "shardId-" + "0" * 20,
                                           "ShardIteratorType": "LATEST"})]
    for call, request in calls:
        with pytest.raises(streams.exceptions.ClientError) as caught:
            call(**request)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(streams.exceptions.ResourceNotFoundException):
        streams.describe_stream(StreamArn="arn:aws:dynamodb:us-east-1:123456789012:table/tbl/stream/2020")
