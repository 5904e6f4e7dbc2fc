"""`dynamokit.mock` and moto's `mock_aws` in one test: moto answers S3 and SQS, dynamokit answers DynamoDB
(its `before-call` hook runs before moto's `before-send`), whichever was started first."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

import dynamokit

from .conftest import USERS

moto = pytest.importorskip("moto")


def _exercise(engine: dynamokit.Engine) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="reports")
    s3.put_object(Bucket="reports", Key="a.txt", Body=b"hello")
    assert s3.get_object(Bucket="reports", Key="a.txt")["Body"].read() == b"hello"
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="job-1")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "job-1"

    table = boto3.resource("dynamodb", region_name="us-east-1").Table("users")
    table.put_item(Item={"pk": "u1"})
    assert engine.call("GetItem", {"TableName": "users", "Key": {"pk": {"S": "u1"}}})["Item"] == {"pk": {"S": "u1"}}
    # moto accepts an unused ExpressionAttributeValues entry; DynamoDB (and dynamokit) reject it.
    with pytest.raises(ClientError, match="unused in expressions"):
        table.put_item(Item={"pk": "u2"}, ConditionExpression="attribute_not_exists(pk)",
                       ExpressionAttributeValues={":unused": "x"})
    from moto.dynamodb.models import dynamodb_backends

    assert not dynamodb_backends["123456789012"]["us-east-1"].tables  # moto never saw a DynamoDB request


def test_moto_started_first() -> None:
    with moto.mock_aws(), dynamokit.mock(tables=[USERS]) as engine:
        _exercise(engine)


def test_dynamokit_started_first() -> None:
    with dynamokit.mock(tables=[USERS]) as engine, moto.mock_aws():
        _exercise(engine)


@moto.mock_aws
@dynamokit.mock(tables=[USERS])
def test_stacked_decorators() -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="stacked-bucket")
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName="users", Item={"pk": {"S": "x"}})
    assert boto3.client("dynamodb", region_name="us-east-1").scan(TableName="users")["Count"] == 1
