"""DynamoDB Streams conformance: StreamSpecification, record rules and the Streams API, through real boto3
(`dynamodbstreams`) in-process and over HTTP. Each test names the DynamoDB rule it checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import dynamokit
from dynamokit import DynamoDBError, Engine
from dynamokit._engine.commit import commit, locate

from .conftest import START, Caller, Clock, create, http_client


@dataclass
class Env:
    """One engine on a fake clock, reached through a dynamodb Caller and a dynamodbstreams client."""

    engine: Engine
    clock: Clock
    ddb: Caller
    streams: Any


def streams_http_client(url: str) -> Any:
    return boto3.client("dynamodbstreams", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k",
                        aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))


@pytest.fixture(params=["boto3", "http"])
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    """A fresh engine on a fake clock, through the in-process boto3 clients or over HTTP."""
    clock = Clock()
    with Engine(clock=clock) as engine:
        if request.param == "boto3":
            yield Env(engine, clock, Caller("boto3", engine, dynamokit.client(engine)),
                      dynamokit.client(engine, "dynamodbstreams"))
            return
        from dynamokit.server._http import Server

        with Server(engine, port=0) as server:
            yield Env(engine, clock, Caller("http", engine, http_client(server.url)),
                      streams_http_client(server.url))


# -- helpers shared by the stream tests ------------------------------------------------------------------
def stream_table(env: Env, view: str = "NEW_AND_OLD_IMAGES", name: str = "tbl", **extra: Any) -> str:
    """Create a table with a stream; returns the stream ARN."""
    out = create(env.ddb, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": view}, **extra)
    return out["TableDescription"]["LatestStreamArn"]


def put(env: Env, key: str, table: str = "tbl", **values: Any) -> None:
    attrs = {k: {"S": v} if isinstance(v, str) else {"N": str(v)} for k, v in values.items()}
    item = {"pk": {"S": key}, **attrs}
    env.ddb("PutItem", TableName=table, Item=item)


def delete(env: Env, key: str, table: str = "tbl") -> None:
    env.ddb("DeleteItem", TableName=table, Key={"pk": {"S": key}})


def error_of(call: Callable[..., Any], **request: Any) -> tuple[str, str]:
    """The (code, message) of the error a boto3 call raises."""
    with pytest.raises(ClientError) as caught:
        call(**request)
    error = caught.value.response["Error"]
    return error["Code"], error.get("Message", "")


def describe(streams: Any, arn: str, page: int = 100) -> dict[str, Any]:
    """DescribeStream with every shard, following LastEvaluatedShardId."""
    out = streams.describe_stream(StreamArn=arn, Limit=page)["StreamDescription"]
    shards = out["Shards"]
    while "LastEvaluatedShardId" in out:
        out = streams.describe_stream(StreamArn=arn, Limit=page,
                                      ExclusiveStartShardId=out["LastEvaluatedShardId"])["StreamDescription"]
        shards += out["Shards"]
    out["Shards"] = shards
    return out


def read_shard(streams: Any, arn: str, shard_id: str, kind: str = "TRIM_HORIZON",
               limit: int = 1000) -> tuple[list[dict[str, Any]], str | None]:
    """Every record now readable from a shard; also the iterator to continue with (None: shard finished)."""
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id,
                                          ShardIteratorType=kind)["ShardIterator"]
    return drain(streams, iterator, limit)


def drain(streams: Any, iterator: str | None, limit: int = 1000) -> tuple[list[dict[str, Any]], str | None]:
    records: list[dict[str, Any]] = []
    while iterator is not None:
        page = streams.get_records(ShardIterator=iterator, Limit=limit)
        records += page["Records"]
        iterator = page.get("NextShardIterator")
        if not page["Records"]:
            break
    return records, iterator


def read_all(streams: Any, arn: str) -> list[dict[str, Any]]:
    """Every readable record of a stream, shards in listed order (parents are listed before children)."""
    records: list[dict[str, Any]] = []
    for shard in describe(streams, arn)["Shards"]:
        records += read_shard(streams, arn, shard["ShardId"])[0]
    return records


def summary(records: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """(eventName, old v, new v) of each record, for records whose images carry an attribute `v`."""
    def v(image: dict[str, Any] | None) -> str | None:
        return None if image is None else next(iter(image["v"].values()))
    return [(r["eventName"], v(r["dynamodb"].get("OldImage")), v(r["dynamodb"].get("NewImage")))
            for r in records]


# -- StreamSpecification -----------------------------------------------------------------------------------
def test_enabled_stream_is_described(env: Env) -> None:
    """Rule: CreateTable with a StreamSpecification returns LatestStreamArn
    (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL) and LatestStreamLabel (an ISO 8601 timestamp);
    DescribeStream reports an ENABLED stream with the table's key schema and open shards."""
    arn = stream_table(env, "NEW_IMAGE")
    table = env.ddb("DescribeTable", TableName="tbl")["Table"]
    label = table["LatestStreamLabel"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", label)
    assert arn == table["LatestStreamArn"]
    assert arn == f"arn:aws:dynamodb:us-east-1:123456789012:table/tbl/stream/{label}"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert not any(k.startswith("_") for k in table)
    listed = env.streams.list_streams()["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": "tbl", "StreamLabel": label}]
    description = describe(env.streams, arn)
    assert description["StreamArn"] == arn and description["StreamLabel"] == label
    assert description["StreamStatus"] == "ENABLED"
    assert description["StreamViewType"] == "NEW_IMAGE"
    assert description["TableName"] == "tbl"
    assert description["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert description["CreationRequestDateTime"].timestamp() == pytest.approx(START, abs=0.001)
    assert 1 <= len(description["Shards"]) <= 16
    for shard in description["Shards"]:
        assert re.fullmatch(r"shardId-\d{20}-[0-9a-f]{8}", shard["ShardId"])
        assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]  # open shard
        assert "ParentShardId" not in shard


def test_update_table_enables_stream(env: Env) -> None:
    """Rule: UpdateTable with StreamSpecification enables a stream on an existing table; its records start
    with the changes made after enabling."""
    create(env.ddb, "tbl")
    put(env, "before", v=1)
    out = env.ddb("UpdateTable", TableName="tbl",
                  StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    arn = out["TableDescription"]["LatestStreamArn"]
    put(env, "after", v=2)
    assert [r["dynamodb"]["Keys"] for r in read_all(env.streams, arn)] == [{"pk": {"S": "after"}}]


def test_disable_and_reenable(env: Env) -> None:
    """Rule: disabling a stream closes it (StreamStatus DISABLED, every shard gets an EndingSequenceNumber)
    but it stays readable for 24 hours; re-enabling creates a new stream with a new label and ARN."""
    first = stream_table(env, "NEW_IMAGE")
    put(env, "a", v=1)
    env.ddb("UpdateTable", TableName="tbl", StreamSpecification={"StreamEnabled": False})
    put(env, "a", v=2)  # no stream: no record anywhere
    closed = describe(env.streams, first)
    assert closed["StreamStatus"] == "DISABLED"
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in closed["Shards"])
    assert summary(read_all(env.streams, first)) == [("INSERT", None, "1")]
    env.clock.advance(1)
    out = env.ddb("UpdateTable", TableName="tbl",
                  StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    second = out["TableDescription"]["LatestStreamArn"]
    assert second != first
    assert out["TableDescription"]["LatestStreamLabel"] != closed["StreamLabel"]
    put(env, "a", v=3)
    assert summary(read_all(env.streams, second)) == [("MODIFY", "2", "3")]
    assert summary(read_all(env.streams, first)) == [("INSERT", None, "1")]  # the old one is still readable
    listed = env.streams.list_streams(TableName="tbl")["Streams"]
    assert [s["StreamArn"] for s in listed] == [first, second]
    env.clock.advance(24 * 3600 + 2)  # 24 h after disabling, the old stream is gone
    assert [s["StreamArn"] for s in env.streams.list_streams()["Streams"]] == [second]
    assert error_of(env.streams.describe_stream, StreamArn=first)[0] == "ResourceNotFoundException"


def test_reenable_at_the_same_instant_gets_a_new_arn(env: Env) -> None:
    """Rule: every enabling creates a distinct stream (label and ARN), even within one millisecond."""
    first = stream_table(env, "KEYS_ONLY")
    env.ddb("UpdateTable", TableName="tbl", StreamSpecification={"StreamEnabled": False})
    second = env.ddb("UpdateTable", TableName="tbl", StreamSpecification={
        "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})["TableDescription"]["LatestStreamArn"]
    assert first != second


def test_deleted_table_keeps_its_stream_readable(env: Env) -> None:
    """Rule: after DeleteTable the stream stays readable (DISABLED) for 24 hours, then disappears."""
    arn = stream_table(env, "NEW_IMAGE")
    put(env, "a", v=1)
    env.ddb("DeleteTable", TableName="tbl")
    assert describe(env.streams, arn)["StreamStatus"] == "DISABLED"
    assert summary(read_all(env.streams, arn)) == [("INSERT", None, "1")]
    assert [s["StreamArn"] for s in env.streams.list_streams(TableName="tbl")["Streams"]] == [arn]
    env.clock.advance(24 * 3600 + 1)
    assert env.streams.list_streams()["Streams"] == []
    assert error_of(env.streams.describe_stream, StreamArn=arn)[0] == "ResourceNotFoundException"


# -- records -----------------------------------------------------------------------------------------------
def test_record_shape(env: Env) -> None:
    """Rule: a record has eventID, eventName, eventVersion "1.1", eventSource "aws:dynamodb", awsRegion and
    dynamodb {ApproximateCreationDateTime (epoch seconds), Keys, NewImage, SequenceNumber (21-40 digits),
    SizeBytes, StreamViewType}; SizeBytes is the size of Keys plus the images (AWS's documented example:
    Keys {Id: 101} with NewImage {Message: "New item!", Id: 101} is 26 bytes)."""
    env.ddb("CreateTable", TableName="tbl", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "N"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = env.ddb("DescribeTable", TableName="tbl")["Table"]["LatestStreamArn"]
    env.ddb("PutItem", TableName="tbl", Item={"Id": {"N": "101"}, "Message": {"S": "New item!"}})
    (record,) = read_all(env.streams, arn)
    assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert "userIdentity" not in record
    data = record["dynamodb"]
    assert data["ApproximateCreationDateTime"].timestamp() == int(START)
    assert data["Keys"] == {"Id": {"N": "101"}}
    assert data["NewImage"] == {"Id": {"N": "101"}, "Message": {"S": "New item!"}}
    assert "OldImage" not in data
    assert re.fullmatch(r"\d{21,40}", data["SequenceNumber"])
    assert data["SizeBytes"] == 26
    assert data["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_no_op_writes_emit_nothing(env: Env) -> None:
    """Rule: a write that changes nothing (identical put, identical update, deleting a missing item, a failed
    condition) emits no stream record."""
    arn = stream_table(env)
    put(env, "a", v=1)
    put(env, "a", v=1)
    env.ddb("UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "1"}})
    delete(env, "missing")
    with pytest.raises(DynamoDBError):
        env.ddb("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "9"}},
                ConditionExpression="attribute_not_exists(pk)")
    assert summary(read_all(env.streams, arn)) == [("INSERT", None, "1")]


def test_event_names(env: Env) -> None:
    """Rule: a new item is INSERT, a put or update over an existing item is MODIFY, a deletion is REMOVE."""
    arn = stream_table(env)
    env.ddb("UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "1"}})
    put(env, "a", v=2)
    env.ddb("UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "3"}})
    delete(env, "a")
    assert summary(read_all(env.streams, arn)) == [
        ("INSERT", None, "1"), ("MODIFY", "1", "2"), ("MODIFY", "2", "3"), ("REMOVE", "3", None)]


@pytest.mark.parametrize(("view", "new", "old"), [
    ("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False), ("OLD_IMAGE", False, True),
    ("NEW_AND_OLD_IMAGES", True, True)])
def test_view_types(env: Env, view: str, new: bool, old: bool) -> None:
    """Rule: StreamViewType decides the images: KEYS_ONLY none, NEW_IMAGE the item after, OLD_IMAGE the item
    before, NEW_AND_OLD_IMAGES both; an image exists only where the item does (no NewImage on REMOVE)."""
    arn = stream_table(env, view)
    put(env, "a", v=1)
    put(env, "a", v=2)
    delete(env, "a")
    records = read_all(env.streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    expected_new = [{"pk": {"S": "a"}, "v": {"N": "1"}}, {"pk": {"S": "a"}, "v": {"N": "2"}}, None]
    expected_old = [None, {"pk": {"S": "a"}, "v": {"N": "1"}}, {"pk": {"S": "a"}, "v": {"N": "2"}}]
    for record, new_image, old_image in zip(records, expected_new, expected_old, strict=True):
        data = record["dynamodb"]
        assert data["Keys"] == {"pk": {"S": "a"}}
        assert data["StreamViewType"] == view
        assert data.get("NewImage") == (new_image if new else None)
        assert data.get("OldImage") == (old_image if old else None)


def test_per_item_order_and_sequence_numbers(env: Env) -> None:
    """Rule: each change appears exactly once, in per-item modification order; sequence numbers increase
    within a shard; all records of one partition key are in one shard (while no shard rolls over)."""
    arn = stream_table(env, "NEW_IMAGE")
    keys = [f"k{i}" for i in range(12)]
    for n in range(120):
        put(env, keys[n % len(keys)], v=n)
    by_key: dict[str, list[str]] = {}
    shard_of: dict[str, str] = {}
    total = 0
    for shard in describe(env.streams, arn)["Shards"]:
        records = read_shard(env.streams, arn, shard["ShardId"])[0]
        total += len(records)
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        for r in records:
            key = r["dynamodb"]["Keys"]["pk"]["S"]
            assert shard_of.setdefault(key, shard["ShardId"]) == shard["ShardId"]
            by_key.setdefault(key, []).append(r["dynamodb"]["NewImage"]["v"]["N"])
    assert total == 120
    for i, key in enumerate(keys):
        assert by_key[key] == [str(n) for n in range(i, 120, len(keys))]
    assert len(set(shard_of.values())) > 1  # items are spread over several shards


def test_transaction_writes_each_emit_a_record(env: Env) -> None:
    """Rule: every item a batch writes appears once in the stream (batches are not atomic in the stream)."""
    arn = stream_table(env, "KEYS_ONLY")
    if "BatchWriteItem" not in env.engine.operations:
        pytest.skip("BatchWriteItem is not in the engine yet")
    env.ddb("BatchWriteItem", RequestItems={"tbl": [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}}
                                                    for i in range(5)]})
    keys = sorted(r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(env.streams, arn))
    assert keys == [f"b{i}" for i in range(5)]


def test_ttl_deletion_record_has_service_identity(env: Env) -> None:
    """Rule: a TTL deletion is a REMOVE record with userIdentity {"Type": "Service",
    "PrincipalId": "dynamodb.amazonaws.com"}; user writes carry no userIdentity."""
    arn = stream_table(env)
    env.ddb("UpdateTimeToLive", TableName="tbl",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    put(env, "a", v=1, ttl=int(START) - 10)
    assert env.engine.ttl.sweep() == 1
    insert, removal = read_all(env.streams, arn)
    assert "userIdentity" not in insert
    assert removal["eventName"] == "REMOVE"
    assert removal["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


# -- the API -----------------------------------------------------------------------------------------------
def test_list_streams_pages(env: Env) -> None:
    """Rule: ListStreams returns at most Limit streams with LastEvaluatedStreamArn to continue from
    (ExclusiveStartStreamArn), optionally only those of TableName."""
    arns = [stream_table(env, "KEYS_ONLY", name=f"tbl{i}") for i in range(5)]
    seen: list[str] = []
    out = env.streams.list_streams(Limit=2)
    while True:
        assert len(out["Streams"]) <= 2
        seen += [s["StreamArn"] for s in out["Streams"]]
        if "LastEvaluatedStreamArn" not in out:
            break
        out = env.streams.list_streams(Limit=2, ExclusiveStartStreamArn=out["LastEvaluatedStreamArn"])
    assert seen == arns
    assert [s["StreamArn"] for s in env.streams.list_streams(TableName="tbl3")["Streams"]] == [arns[3]]
    assert env.streams.list_streams(TableName="nothing")["Streams"] == []
    assert error_of(env.streams.list_streams, Limit=101)[0] == "ValidationException"


def test_describe_stream_pages_shards(env: Env) -> None:
    """Rule: DescribeStream returns at most Limit shards with LastEvaluatedShardId to continue from
    (ExclusiveStartShardId)."""
    arn = stream_table(env, "KEYS_ONLY")
    everything = env.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    paged = describe(env.streams, arn, page=1)["Shards"]
    assert paged == everything and len(paged) > 1
    first = env.streams.describe_stream(StreamArn=arn, Limit=1)["StreamDescription"]
    assert first["LastEvaluatedShardId"] == everything[0]["ShardId"]


def test_iterator_types(env: Env) -> None:
    """Rule: TRIM_HORIZON starts at the oldest record, LATEST after the newest, AT_SEQUENCE_NUMBER at a
    record and AFTER_SEQUENCE_NUMBER just after it."""
    arn = stream_table(env, "NEW_IMAGE", range_key="sk")
    for n in range(5):
        env.ddb("PutItem", TableName="tbl", Item={"pk": {"S": "p"}, "sk": {"S": f"{n}"}, "v": {"N": str(n)}})
    shard = next(s["ShardId"] for s in describe(env.streams, arn)["Shards"]
                 if read_shard(env.streams, arn, s["ShardId"])[0])
    records, _ = read_shard(env.streams, arn, shard)
    assert summary(records) == [("INSERT", None, str(n)) for n in range(5)]
    third = records[2]["dynamodb"]["SequenceNumber"]

    def starting(kind: str, **extra: Any) -> list[tuple[str, str | None, str | None]]:
        iterator = env.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind,
                                                  **extra)["ShardIterator"]
        return summary(drain(env.streams, iterator)[0])

    assert starting("AT_SEQUENCE_NUMBER", SequenceNumber=third) == summary(records[2:])
    assert starting("AFTER_SEQUENCE_NUMBER", SequenceNumber=third) == summary(records[3:])
    latest = env.streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                            ShardIteratorType="LATEST")["ShardIterator"]
    assert env.streams.get_records(ShardIterator=latest)["Records"] == []
    env.ddb("PutItem", TableName="tbl", Item={"pk": {"S": "p"}, "sk": {"S": "5"}, "v": {"N": "5"}})
    assert summary(drain(env.streams, latest)[0]) == [("INSERT", None, "5")]


def test_get_records_limit_and_next_iterator(env: Env) -> None:
    """Rule: GetRecords returns at most Limit records (1 to 1000) and a NextShardIterator that continues
    after the last one; an open shard always returns a NextShardIterator, even with no records."""
    arn = stream_table(env, "KEYS_ONLY", range_key="sk")
    for n in range(7):
        env.ddb("PutItem", TableName="tbl", Item={"pk": {"S": "p"}, "sk": {"S": f"{n}"}})
    shard = next(s["ShardId"] for s in describe(env.streams, arn)["Shards"]
                 if read_shard(env.streams, arn, s["ShardId"])[0])
    iterator = env.streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    sizes = []
    while True:
        page = env.streams.get_records(ShardIterator=iterator, Limit=3)
        sizes.append(len(page["Records"]))
        iterator = page["NextShardIterator"]
        if not page["Records"]:
            break
    assert sizes == [3, 3, 1, 0]
    assert error_of(env.streams.get_records, ShardIterator=iterator, Limit=1001)[0] == "ValidationException"


def test_get_records_stops_at_one_megabyte(env: Env) -> None:
    """Rule: GetRecords returns at most 1 MB of records (but always at least one)."""
    arn = stream_table(env, "NEW_IMAGE", range_key="sk")
    big = "x" * 300_000
    for n in range(5):
        env.ddb("PutItem", TableName="tbl", Item={"pk": {"S": "p"}, "sk": {"S": f"{n}"}, "blob": {"S": big}})
    shard = next(s["ShardId"] for s in describe(env.streams, arn)["Shards"]
                 if read_shard(env.streams, arn, s["ShardId"])[0])
    iterator = env.streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = env.streams.get_records(ShardIterator=iterator)
    assert len(first["Records"]) == 3
    second = env.streams.get_records(ShardIterator=first["NextShardIterator"])
    assert len(second["Records"]) == 2


def test_api_errors(env: Env) -> None:
    """Rule: unknown streams and shards are ResourceNotFoundException; malformed iterators, iterator types
    without their SequenceNumber and sequence numbers not of the shard are ValidationException."""
    arn = stream_table(env, "KEYS_ONLY")
    shard = describe(env.streams, arn)["Shards"][0]["ShardId"]
    missing = arn.replace("tbl/stream", "nope/stream")
    assert error_of(env.streams.describe_stream, StreamArn=missing)[0] == "ResourceNotFoundException"
    assert error_of(env.streams.get_shard_iterator, StreamArn=missing, ShardId=shard,
                    ShardIteratorType="LATEST")[0] == "ResourceNotFoundException"
    assert error_of(env.streams.get_shard_iterator, StreamArn=arn, ShardIteratorType="LATEST",
                    ShardId="shardId-00000000000000000000-deadbeef")[0] == "ResourceNotFoundException"
    assert error_of(env.streams.get_shard_iterator, StreamArn=arn, ShardId=shard,
                    ShardIteratorType="AT_SEQUENCE_NUMBER")[0] == "ValidationException"
    assert error_of(env.streams.get_shard_iterator, StreamArn=arn, ShardId=shard,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber="9" * 30)[0] == "ValidationException"
    put(env, "a")
    holder, other = sorted(describe(env.streams, arn)["Shards"],
                           key=lambda s: -len(read_shard(env.streams, arn, s["ShardId"])[0]))[:2]
    number = read_shard(env.streams, arn, holder["ShardId"])[0][0]["dynamodb"]["SequenceNumber"]
    assert error_of(env.streams.get_shard_iterator, StreamArn=arn, ShardId=other["ShardId"],
                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                    SequenceNumber=number)[0] == "ValidationException"  # a record of another shard
    assert error_of(env.streams.get_records, ShardIterator="garbage")[0] == "ValidationException"
    assert error_of(env.streams.get_records, ShardIterator=arn + "|1|AAAA")[0] == "ValidationException"


def test_stream_state_is_read_at_commit(env: Env) -> None:
    """Rule: a change is recorded in the stream enabled when it commits: a writer holding a table definition
    from before the stream was disabled adds nothing to the closed stream."""
    arn = stream_table(env, "KEYS_ONLY")
    stale = env.engine.table("tbl")
    env.ddb("UpdateTable", TableName="tbl", StreamSpecification={"StreamEnabled": False})
    with env.engine.storage.write() as conn:
        key = locate(stale, *stale.key.of_key({"pk": {"S": "late"}}))
        commit(env.engine, conn, stale, key, None, {"pk": {"S": "late"}}, 10)
    assert read_all(env.streams, arn) == []


def test_size_bytes_from_known_item_sizes(env: Env) -> None:
    """Rule: SizeBytes is the size of Keys plus the images the record carries, whether the writer passes the
    item sizes it already measured or the stream measures them."""
    arn = stream_table(env)
    table = env.engine.table("tbl")
    old, new = {"pk": {"S": "a"}, "v": {"N": "101"}}, {"pk": {"S": "a"}, "Message": {"S": "New item!"}}
    with env.engine.storage.write() as conn:
        env.engine.streams.record(conn, table, old, new, False)
        env.engine.streams.record(conn, table, old, new, False, (7, 19))
    measured, given = (r["dynamodb"]["SizeBytes"] for r in read_all(env.streams, arn))
    assert measured == given == 3 + 7 + 19


def test_removals_from_a_missing_item_emit_nothing(env: Env) -> None:
    """Rule: an UpdateItem that only REMOVEs or DELETEs on a missing item creates nothing, so the stream gets
    no record."""
    arn = stream_table(env)
    env.ddb("UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE v")
    put(env, "b", v="1")
    assert summary(read_all(env.streams, arn)) == [("INSERT", None, "1")]


def test_describe_stream_from_an_unknown_shard_id(env: Env) -> None:
    """Rule: DescribeStream lists shards in shard-id order; an ExclusiveStartShardId naming no shard starts the
    listing after its place in that order (Alternator, checked against DynamoDB, does the same)."""
    arn = stream_table(env)
    shards = [s["ShardId"] for s in describe(env.streams, arn)["Shards"]]
    assert shards == sorted(shards)

    def listed(start: str) -> list[str]:
        out = env.streams.describe_stream(StreamArn=arn, ExclusiveStartShardId=start)["StreamDescription"]
        return [s["ShardId"] for s in out["Shards"]]
    assert listed("shardId-" + "0" * 20) == shards
    assert listed(shards[0] + "x") == shards[1:]
    assert listed(shards[-1] + "x") == []
