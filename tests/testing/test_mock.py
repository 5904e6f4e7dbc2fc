"""`dynamokit.mock`: every DynamoDB client of the process, however made, answered by one fresh engine."""

from __future__ import annotations

import asyncio
import unittest
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import dynamokit
from dynamokit import Engine, EngineClosed
from dynamokit.testing import MockError, active_mock

from .conftest import ORDERS, USERS, Leaked


def _names(engine: Engine) -> list[str]:
    return engine.call("ListTables")["TableNames"]


def test_context_manager_answers_clients_with_no_credentials_nor_region() -> None:
    with dynamokit.mock() as engine:
        made = boto3.client("dynamodb")
        made.create_table(**USERS)
        made.put_item(TableName="users", Item={"pk": {"S": "u1"}, "n": {"N": "1"}})
        assert _names(engine) == ["users"]
        assert engine.call("GetItem", {"TableName": "users", "Key": {"pk": {"S": "u1"}}})["Item"]["n"] == {"N": "1"}
        assert made.meta.region_name == "us-east-1"


def test_every_way_of_making_a_client_reaches_the_same_engine() -> None:
    with dynamokit.mock(tables=[USERS]) as engine:
        boto3.resource("dynamodb", region_name="eu-west-1").Table("users").put_item(Item={"pk": "a", "n": 1})
        session = boto3.Session(region_name="ap-south-1", aws_access_key_id="AKIA", aws_secret_access_key="s")
        session.resource("dynamodb").Table("users").put_item(Item={"pk": "b"})
        boto3.Session(profile_name=None).client("dynamodb", region_name="us-west-2").put_item(
            TableName="users", Item={"pk": {"S": "c"}})
        boto3.client("dynamodb", endpoint_url="https://dynamodb.example.invalid").put_item(
            TableName="users", Item={"pk": {"S": "d"}})
        keys = sorted(item["pk"]["S"] for item in engine.call("Scan", {"TableName": "users"})["Items"])
        assert keys == ["a", "b", "c", "d"]


def test_a_client_made_before_the_mock_is_answered_during_it_and_is_its_own_after() -> None:
    early = boto3.client("dynamodb", region_name="eu-central-1", aws_access_key_id="a", aws_secret_access_key="b")
    early_resource = boto3.resource("dynamodb", region_name="eu-central-1", aws_access_key_id="a",
                                    aws_secret_access_key="b")
    with dynamokit.mock(tables=[USERS]):
        early.put_item(TableName="users", Item={"pk": {"S": "x"}})
        assert early_resource.Table("users").get_item(Key={"pk": "x"})["Item"] == {"pk": "x"}
    with pytest.raises(Leaked, match="dynamodb.eu-central-1.amazonaws.com"):  # it would go to AWS again
        early.list_tables()


def test_streams_clients_are_answered() -> None:
    with dynamokit.mock(tables=[ORDERS]):
        boto3.client("dynamodb").put_item(TableName="orders", Item={"customer": {"S": "c"}, "order": {"S": "1"}})
        streams = boto3.client("dynamodbstreams", region_name="sa-east-1")
        arn = streams.list_streams(TableName="orders")["Streams"][0]["StreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator)["Records"]
        assert [r["eventName"] for r in records] == ["INSERT"]


def test_errors_are_dynamodb_errors() -> None:
    with dynamokit.mock():
        made = boto3.client("dynamodb")
        with pytest.raises(made.exceptions.ResourceNotFoundException):
            made.get_item(TableName="missing", Key={"pk": {"S": "a"}})


def test_an_explicitly_bound_client_keeps_its_engine() -> None:
    with Engine() as own:
        own.call("CreateTable", USERS)
        bound = dynamokit.client(own)
        with dynamokit.mock() as mocked:
            bound.put_item(TableName="users", Item={"pk": {"S": "own"}})
            assert _names(mocked) == []
        assert own.call("GetItem", {"TableName": "users", "Key": {"pk": {"S": "own"}}})["Item"]


def test_each_mock_gets_a_fresh_engine_and_closes_it() -> None:
    with dynamokit.mock(tables=[USERS]) as first:
        boto3.client("dynamodb").put_item(TableName="users", Item={"pk": {"S": "a"}})
    with pytest.raises(EngineClosed):
        first.call("ListTables")
    with dynamokit.mock(tables=[USERS]) as second:
        assert boto3.client("dynamodb").scan(TableName="users")["Items"] == []
        assert second is not first


def test_no_credential_chain_is_consulted(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "asked"
    config = tmp_path / "config"
    config.write_text(f"[default]\ncredential_process = sh -c 'touch {marker}; echo {{}}'\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with dynamokit.mock(tables=[USERS]):
        boto3.client("dynamodb").scan(TableName="users")
        boto3.resource("dynamodb").Table("users").scan()
    assert not marker.exists()


# -- decorators -----------------------------------------------------------------------------------------------
@dynamokit.mock(tables=[USERS])
def _put_and_count(key: str) -> int:
    made = boto3.client("dynamodb")
    made.put_item(TableName="users", Item={"pk": {"S": key}})
    return int(made.scan(TableName="users")["Count"])


def test_decorated_function_gets_a_fresh_engine_per_call() -> None:
    assert _put_and_count("a") == 1
    assert _put_and_count("b") == 1
    assert active_mock() is None


def test_bare_decorator() -> None:
    @dynamokit.mock
    def body() -> list[str]:
        return list(boto3.client("dynamodb").list_tables()["TableNames"])

    assert body() == []
    assert body.__name__ == "body"


def test_decorated_coroutine_function() -> None:
    @dynamokit.mock(tables=[USERS])
    async def body() -> int:
        assert active_mock() is not None
        return int(boto3.client("dynamodb").scan(TableName="users")["Count"])

    assert asyncio.iscoroutinefunction(body)
    assert asyncio.run(body()) == 0


@dynamokit.mock(tables=[USERS])
class TestDecoratedPytestClass:
    """Each test, from setup_method to teardown_method, has its own engine."""

    def setup_method(self) -> None:
        self.table = boto3.resource("dynamodb").Table("users")
        self.table.put_item(Item={"pk": "from-setup"})

    def teardown_method(self) -> None:
        assert active_mock() is not None  # still answering in teardown

    def test_one(self) -> None:
        self.table.put_item(Item={"pk": "one"})
        assert self.table.scan()["Count"] == 2

    def test_two(self) -> None:
        assert [item["pk"] for item in self.table.scan()["Items"]] == ["from-setup"]


@dynamokit.mock(tables=[USERS])
class DecoratedTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.client = boto3.client("dynamodb")

    def test_one(self) -> None:
        self.client.put_item(TableName="users", Item={"pk": {"S": "one"}})
        self.assertEqual(self.client.scan(TableName="users")["Count"], 1)

    def test_two(self) -> None:
        self.assertEqual(self.client.scan(TableName="users")["Count"], 0)


def test_decorated_unittest_class_runs_each_test_in_a_fresh_mock() -> None:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(DecoratedTestCase)
    result = unittest.TestResult()
    suite.run(result)
    assert result.testsRun == 2 and result.wasSuccessful(), result.failures + result.errors
    assert active_mock() is None


# -- bad use --------------------------------------------------------------------------------------------
def test_nested_mocks_are_refused() -> None:
    with dynamokit.mock() as engine:
        with pytest.raises(MockError, match="already active"), dynamokit.mock():
            pass
        assert active_mock() is not None and active_mock().engine is engine  # type: ignore[union-attr]


def test_a_mock_started_twice_is_refused() -> None:
    made = dynamokit.mock()
    made.start()
    try:
        with pytest.raises(MockError, match="already started"):
            made.start()
    finally:
        made.stop()
    with pytest.raises(MockError, match="not active"):
        made.stop()


def test_a_client_used_after_its_mock_ended_raises_without_sending() -> None:
    with dynamokit.mock(tables=[USERS]):
        made = boto3.client("dynamodb")
        table = boto3.resource("dynamodb").Table("users")
    with pytest.raises(MockError, match="has ended"):
        made.list_tables()
    with pytest.raises(MockError, match="has ended"):
        table.get_item(Key={"pk": "a"})


def test_a_failing_body_still_ends_the_mock() -> None:
    with pytest.raises(ClientError), dynamokit.mock():
        boto3.client("dynamodb").describe_table(TableName="missing")
    assert active_mock() is None


# -- tables ---------------------------------------------------------------------------------------------------
def test_tables_from_a_model_app() -> None:
    from ..model.models import blog_app

    with dynamokit.mock(tables=[blog_app(), USERS]) as engine:
        assert sorted(_names(engine)) == ["blog", "users"]
        indexes = boto3.client("dynamodb").describe_table(TableName="blog")["Table"]["GlobalSecondaryIndexes"]
        assert sorted(index["IndexName"] for index in indexes) == ["gsi1", "gsi2"]


def test_a_bad_table_fails_start_and_leaves_nothing_active() -> None:
    with pytest.raises(dynamokit.DynamoDBError):
        dynamokit.mock(tables=[{**USERS, "TableName": "x"}]).start()
    assert active_mock() is None


def test_clients_bound_to_an_engine_during_a_mock_keep_their_engine() -> None:
    with Engine() as own:
        own.call("CreateTable", USERS)
        with dynamokit.mock() as mocked:
            dynamokit.client(own).put_item(TableName="users", Item={"pk": {"S": "c"}})
            dynamokit.resource(own).Table("users").put_item(Item={"pk": "r"})
            assert _names(mocked) == []
        assert own.call("Scan", {"TableName": "users"})["Count"] == 2


@dynamokit.mock(tables=[USERS, ORDERS])
class TestRedecoratedSubclass(TestDecoratedPytestClass):
    """A subclass decorated again: one mock per test (not nested ones), with the subclass's tables."""

    def test_one(self) -> None:
        assert sorted(active_mock().engine.call("ListTables")["TableNames"]) == ["orders", "users"]  # type: ignore[union-attr]
        super().test_one()


def test_botocore_stubber_still_runs_first() -> None:
    from botocore.stub import Stubber

    with dynamokit.mock(tables=[USERS]):
        made = boto3.client("dynamodb")
        with Stubber(made) as stubber:
            stubber.add_response("list_tables", {"TableNames": ["stubbed"]})
            assert made.list_tables()["TableNames"] == ["stubbed"]
        assert made.list_tables()["TableNames"] == ["users"]


def test_clients_in_other_threads_are_answered() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def put(key: str) -> None:
        boto3.session.Session().client("dynamodb").put_item(TableName="users", Item={"pk": {"S": key}})

    with dynamokit.mock(tables=[USERS]) as engine:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(put, [f"k{n}" for n in range(8)]))
        assert engine.call("Scan", {"TableName": "users"})["Count"] == 8
