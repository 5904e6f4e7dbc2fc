"""The `dynamokit_mock` fixture, with tables declared once by overriding `dynamokit_mock_options`."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from dynamokit import Engine
from dynamokit.testing import active_mock

from .conftest import USERS


@pytest.fixture
def dynamokit_mock_options() -> dict[str, Any]:
    return {"tables": [USERS], "seed": {"users": [{"pk": "seeded"}]}}


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_a_fresh_seeded_engine(dynamokit_mock: Engine, run: int) -> None:
    table = boto3.resource("dynamodb").Table("users")
    assert [item["pk"] for item in table.scan()["Items"]] == ["seeded"]
    table.put_item(Item={"pk": f"run-{run}"})
    assert dynamokit_mock.call("Scan", {"TableName": "users"})["Count"] == 2
    assert active_mock() is not None and active_mock().engine is dynamokit_mock  # type: ignore[union-attr]
