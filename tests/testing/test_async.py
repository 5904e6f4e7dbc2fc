"""aiobotocore clients under `dynamokit.mock`: made during the mock, before it, and after it ended."""

from __future__ import annotations

import asyncio

import pytest

import dynamokit
from dynamokit.testing._mock import MockError

from .conftest import USERS, Leaked

aiobotocore_session = pytest.importorskip("aiobotocore.session")


async def _roundtrip() -> dict:
    session = aiobotocore_session.get_session()
    async with session.create_client("dynamodb") as made:
        await made.put_item(TableName="users", Item={"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}})
        item = (await made.get_item(TableName="users", Key={"pk": {"S": "a"}}))["Item"]
        with pytest.raises(made.exceptions.ResourceNotFoundException):
            await made.get_item(TableName="missing", Key={"pk": {"S": "a"}})
        return item


def test_aiobotocore_client_made_in_the_mock() -> None:
    with dynamokit.mock(tables=[USERS]) as engine:
        assert asyncio.run(_roundtrip()) == {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}}
        assert engine.call("Scan", {"TableName": "users"})["Count"] == 1


def test_aiobotocore_client_made_before_and_used_after() -> None:
    async def scenario() -> None:
        session = aiobotocore_session.get_session()
        async with session.create_client("dynamodb", region_name="eu-west-1", aws_access_key_id="a",
                                         aws_secret_access_key="b") as early:
            with dynamokit.mock(tables=[USERS]):
                assert (await early.scan(TableName="users"))["Count"] == 0
                async with session.create_client("dynamodb") as born:
                    await born.list_tables()
                    with pytest.raises(Leaked):  # other services are not answered
                        async with session.create_client("sqs", region_name="eu-west-1", aws_access_key_id="a",
                                                         aws_secret_access_key="b") as sqs:
                            await sqs.list_queues()
                    mocked = dynamokit.testing.active_mock()
                    assert mocked is not None
                    mocked.stop()
                    try:
                        with pytest.raises(MockError, match="has ended"):
                            await born.list_tables()
                    finally:
                        mocked.start()
            with pytest.raises(Leaked):  # back to its own endpoint
                await early.list_tables()

    asyncio.run(scenario())


@dynamokit.mock(tables=[USERS])
async def _decorated() -> int:
    async with aiobotocore_session.get_session().create_client("dynamodb") as made:
        return int((await made.scan(TableName="users"))["Count"])


def test_decorated_coroutine_with_aiobotocore() -> None:
    assert asyncio.run(_decorated()) == 0


def test_aiobotocore_clients_see_faults_unretried() -> None:
    """Injected faults reach aiobotocore clients on their first attempt (they are not retried in-process)."""
    async def scenario() -> dict:
        session = aiobotocore_session.get_session()
        async with session.create_client("dynamodb") as made:
            with pytest.raises(made.exceptions.ClientError) as raised:
                await made.put_item(TableName="users", Item={"pk": {"S": "a"}})
            return raised.value.response

    with dynamokit.mock(tables=[USERS], faults=[dynamokit.Fault("PutItem", "InternalServerError")]) as engine:
        response = asyncio.run(scenario())
        assert response["Error"]["Code"] == "InternalServerError"
        assert response["ResponseMetadata"]["RetryAttempts"] == 0
        assert engine.faults.fired == [("PutItem", "InternalServerError")]
