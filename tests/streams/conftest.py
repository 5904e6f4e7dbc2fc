"""Fixtures of the streams runtime tests: an engine on a fake clock, a source table with a stream, a view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.streams import View
from dynamokit.streams._tables import ensure_table

from ..conftest import Clock


def create_source(engine: Engine, name: str = "src", view_type: str = "NEW_AND_OLD_IMAGES") -> None:
    """A table keyed by string `pk`, with a stream."""
    engine.call("CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": view_type}})


def source_items(engine: Engine, name: str = "src") -> dict[str, dict[str, Any]]:
    """Every item of a source table, as {pk: {attribute: plain value}}."""
    from dynamokit.model._values import from_item

    out: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {"TableName": name, "ConsistentRead": True}
    while True:
        page = engine.call("Scan", request)
        for item in page["Items"]:
            plain = from_item(item)
            out[plain.pop("pk")] = plain
        if "LastEvaluatedKey" not in page:
            return out
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(clock: Clock) -> Iterator[Engine]:
    with Engine(clock=clock) as made:
        create_source(made)
        ensure_table(made, "views")
        yield made


@pytest.fixture
def view(engine: Engine) -> View:
    return View(engine, "views")
