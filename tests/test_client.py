"""The in-process boto3 client answers at botocore's `before-call` step with its own compiled parsing of the
response. Rule checked: what a boto3 user gets (results, types, errors with their modeled fields) is exactly
what botocore's own HTTP-level parsing of the same response bytes gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserFactory

import dynamokit
from dynamokit import Engine
from dynamokit._protocol import handle
from dynamokit.client import Answer, install

from .conftest import Clock


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def botocore_parsed_client(engine: Engine, service: str = "dynamodb") -> Any:
    """The reference: a client whose HTTP send step the engine answers, so botocore parses every byte."""
    made = boto3.client(service, endpoint_url="http://reference.invalid", region_name=engine.region,
                        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))

    def send(request: Any, **_: Any) -> AWSResponse:
        target = request.headers["X-Amz-Target"]
        status, headers, body = handle(engine, target.decode() if isinstance(target, bytes) else target,
                                       request.body or b"")
        return AWSResponse(request.url, status, dict(headers), _Raw(body))

    made.meta.events.register_first("before-send", send)
    return made


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        result = call()
    except ClientError as error:
        result = {"raised": type(error).__name__, **error.response}
    metadata = result.get("ResponseMetadata", {})
    metadata.pop("RequestId", None)
    for header in ("x-amzn-requestid", "x-amz-crc32"):  # ids differ between the two engines
        metadata.get("HTTPHeaders", {}).pop(header, None)
    for description in ("Table", "TableDescription"):
        result.get(description, {}).pop("TableId", None)
    return result


SCRIPT: list[tuple[str, str, dict[str, Any]]] = [
    ("dynamodb", "create_table", {
        "TableName": "things", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "B"},
                                 {"AttributeName": "g", "AttributeType": "N"}],
        "GlobalSecondaryIndexes": [{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "ALL"}}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    ("dynamodb", "describe_table", {"TableName": "things"}),
    ("dynamodb", "put_item", {"TableName": "things", "ReturnConsumedCapacity": "INDEXES", "Item": {
        "pk": {"S": "a"}, "sk": {"B": b"\x00\xff"}, "g": {"N": "1"}, "bs": {"BS": [b"x", b"y"]},
        "doc": {"M": {"blob": {"B": b"\x01"}, "list": {"L": [{"B": b"\x02"}, {"S": "s"}, {"NULL": True}]}}},
        "flag": {"BOOL": False}, "ns": {"NS": ["1", "2.5"]}}}),
    ("dynamodb", "put_item", {"TableName": "things", "Item": {"pk": {"S": "a"}, "sk": {"B": b"\x01"},
                                                              "text": {"S": 'quote " B": in a string'}}}),
    ("dynamodb", "get_item", {"TableName": "things", "Key": {"pk": {"S": "a"}, "sk": {"B": b"\x00\xff"}}}),
    ("dynamodb", "get_item", {"TableName": "things", "Key": {"pk": {"S": "a"}, "sk": {"B": b"\x01"}}}),
    ("dynamodb", "get_item", {"TableName": "things", "Key": {"pk": {"S": "none"}, "sk": {"B": b"\x01"}}}),
    ("dynamodb", "update_item", {"TableName": "things", "Key": {"pk": {"S": "a"}, "sk": {"B": b"\x01"}},
                                 "UpdateExpression": "SET n = if_not_exists(n, :z) + :one, b = :b",
                                 "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"},
                                                               ":b": {"B": b"\x03"}},
                                 "ReturnValues": "ALL_NEW", "ReturnConsumedCapacity": "TOTAL"}),
    ("dynamodb", "query", {"TableName": "things", "KeyConditionExpression": "pk = :p",
                           "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": 1,
                           "ReturnConsumedCapacity": "INDEXES"}),
    ("dynamodb", "query", {"TableName": "things", "IndexName": "by-g", "KeyConditionExpression": "g = :g",
                           "ExpressionAttributeValues": {":g": {"N": "1"}}}),
    ("dynamodb", "scan", {"TableName": "things", "Select": "COUNT"}),
    ("dynamodb", "scan", {"TableName": "things"}),
    ("dynamodb", "put_item", {"TableName": "things", "Item": {"pk": {"S": "a"}, "sk": {"B": b"\x01"}},
                              "ConditionExpression": "attribute_not_exists(pk)",
                              "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("dynamodb", "batch_write_item", {"RequestItems": {"things": [
        {"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"B": bytes([n])}, "g": {"N": str(n)}}}}
        for n in range(5)]}, "ReturnConsumedCapacity": "TOTAL"}),
    ("dynamodb", "batch_get_item", {"RequestItems": {"things": {"Keys": [
        {"pk": {"S": "b"}, "sk": {"B": bytes([n])}} for n in range(3)]}}}),
    ("dynamodb", "transact_write_items", {"TransactItems": [
        {"ConditionCheck": {"TableName": "things", "Key": {"pk": {"S": "b"}, "sk": {"B": b"\x00"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Put": {"TableName": "things", "Item": {"pk": {"S": "c"}, "sk": {"B": b"\x00"}}}}]}),
    ("dynamodb", "transact_get_items", {"TransactItems": [
        {"Get": {"TableName": "things", "Key": {"pk": {"S": "a"}, "sk": {"B": b"\x00\xff"}}}}]}),
    ("dynamodb", "execute_statement", {"Statement": "SELECT * FROM things WHERE pk = 'a'"}),
    ("dynamodb", "describe_time_to_live", {"TableName": "things"}),
    ("dynamodb", "list_tables", {}),
    ("dynamodb", "get_item", {"TableName": "missing", "Key": {"pk": {"S": "a"}}}),
    ("dynamodb", "put_item", {"TableName": "things", "Item": {"pk": {"S": "a"}}}),
    ("dynamodbstreams", "list_streams", {}),
    ("dynamodb", "delete_item", {"TableName": "things", "Key": {"pk": {"S": "a"}, "sk": {"B": b"\x01"}},
                                 "ReturnValues": "ALL_OLD"}),
    ("dynamodb", "delete_table", {"TableName": "things"}),
]


def test_every_answer_equals_botocores_own_parse() -> None:
    """Same script, two engines on one fake clock: the fast client and botocore's full parse agree on every
    result, type and error, including blobs nested in maps, timestamps and modeled error fields."""
    results: list[list[Any]] = []
    for make in (lambda e, s: dynamokit.client(e, s), botocore_parsed_client):
        with Engine(clock=Clock()) as engine:
            clients = {service: make(engine, service) for service in ("dynamodb", "dynamodbstreams")}
            results.append([_outcome(lambda: getattr(clients[s], op)(**kw)) for s, op, kw in SCRIPT])
    fast, reference = results
    for (service, operation, _), got, expected in zip(SCRIPT, fast, reference):
        assert got == expected, f"{service}.{operation}"
    assert fast[4]["Item"]["doc"]["M"]["list"]["L"][0] == {"B": b"\x02"}
    assert fast[12]["raised"] == "ConditionalCheckFailedException" and "Item" in fast[12]
    assert fast[15]["CancellationReasons"][0]["Code"] == "ConditionalCheckFailed"


def test_stream_records_parse_timestamps_and_binary_keys() -> None:
    """GetRecords' ApproximateCreationDateTime is a timestamp and binary keys are bytes, as botocore parses."""
    answers = []
    for make in (lambda e, s: dynamokit.client(e, s), botocore_parsed_client):
        with Engine(clock=Clock()) as engine:
            db, streams = make(engine, "dynamodb"), make(engine, "dynamodbstreams")
            arn = db.create_table(**SCRIPT[0][2])["TableDescription"]["LatestStreamArn"]
            db.put_item(**SCRIPT[2][2])
            records = []
            for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                records += streams.get_records(ShardIterator=iterator)["Records"]
            for record in records:
                record.pop("eventID")
            answers.append(records)
    assert answers[0] == answers[1]
    assert answers[0][0]["dynamodb"]["Keys"]["sk"] == {"B": b"\x00\xff"}
    assert answers[0][0]["dynamodb"]["ApproximateCreationDateTime"].year >= 2026


def test_answers_are_the_callers_own() -> None:
    """Mutating a result must not reach the engine (botocore builds fresh objects for every response)."""
    with Engine() as engine:
        client = dynamokit.client(engine)
        client.create_table(**SCRIPT[0][2])
        first = client.describe_table(TableName="things")["Table"]
        first["KeySchema"].clear()
        assert client.describe_table(TableName="things")["Table"]["KeySchema"]


@pytest.mark.parametrize("hook", ["before-call.dynamodb.GetItem", "after-call.dynamodb.GetItem"])
def test_users_event_hooks_still_run(hook: str) -> None:
    with Engine() as engine:
        client = dynamokit.client(engine)
        client.create_table(**SCRIPT[0][2])
        seen: list[str] = []
        client.meta.events.register(hook, lambda **kw: seen.append(kw["model"].name))
        client.get_item(TableName="things", Key={"pk": {"S": "a"}, "sk": {"B": b"\x00"}})
        assert seen == ["GetItem"]


def test_first_calls_from_many_threads_at_once() -> None:
    """A client shared by threads compiles each response shape once; every thread gets complete answers."""
    import threading

    with Engine() as engine:
        setup = dynamokit.client(engine)
        setup.create_table(**SCRIPT[0][2])
        setup.put_item(**SCRIPT[2][2])
        shared = dynamokit.client(engine)
        barrier = threading.Barrier(8)
        answers: list[Any] = []

        def first_use() -> None:
            barrier.wait()
            answers.append((shared.get_item(**SCRIPT[4][2])["Item"],
                            shared.describe_table(TableName="things")["Table"]["KeySchema"]))

        threads = [threading.Thread(target=first_use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 8 and all(answer == answers[0] for answer in answers)
        assert answers[0][0]["doc"]["M"]["blob"] == {"B": b"\x01"}


def test_missing_botocore_internals_fall_back_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another botocore may lack the internals the in-process client reads (its endpoint's parser factory,
    the parser's blob and timestamp parsers, the client's serializer): each falls back to the public path
    with a warning, and every answer still equals botocore's own parse."""
    create = ResponseParserFactory.create_parser

    class Renamed:
        """A parser whose blob and timestamp parsers have other names."""

        def __init__(self, parser: Any) -> None:
            self.parser = parser

        def __getattr__(self, name: str) -> Any:
            if name in ("_blob_parser", "_timestamp_parser"):
                raise AttributeError(name)
            return getattr(self.parser, name)

    def renamed(self: ResponseParserFactory, protocol: str) -> Any:
        return Renamed(create(self, protocol))

    def stripped(engine: Engine, service: str) -> Any:
        made = boto3.client(service, endpoint_url="http://stripped.invalid", region_name=engine.region,
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
        del made._endpoint._response_parser_factory
        serializer = made.__dict__.pop("_serializer")
        with pytest.warns(RuntimeWarning) as caught:
            install(made, Answer(engine, made))
        made._serializer = serializer  # botocore's own, as if under a name dynamokit does not know
        missing = {str(w.message).split(" has no ")[1].split(";")[0] for w in caught}
        internals = {"Endpoint._response_parser_factory", "Renamed._blob_parser", "Renamed._timestamp_parser"}
        assert missing == internals | ({"DynamoDB._serializer"} if service == "dynamodb" else set()), missing
        return made

    monkeypatch.setattr(ResponseParserFactory, "create_parser", renamed)
    results: list[list[Any]] = []
    for make in (stripped, botocore_parsed_client):
        with Engine(clock=Clock()) as engine:
            clients = {service: make(engine, service) for service in ("dynamodb", "dynamodbstreams")}
            results.append([_outcome(lambda: getattr(clients[s], op)(**kw)) for s, op, kw in SCRIPT])
    assert results[0] == results[1]
    assert results[0][4]["Item"]["doc"]["M"]["list"]["L"][0] == {"B": b"\x02"}
