"""Seeding tables from DynamoDB JSON and plain JSON, in files or Python values."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

import dynamokit
from dynamokit import Engine
from dynamokit.testing._seeding import is_typed, seed

from .conftest import ORDERS, USERS


def _items(engine: Engine, table: str) -> list[dict[str, Any]]:
    return sorted(engine.call("Scan", {"TableName": table})["Items"], key=json.dumps)


@pytest.fixture
def engine() -> Any:
    with Engine() as made:
        made.call("CreateTable", USERS)
        made.call("CreateTable", ORDERS)
        yield made


def test_plain_json_file_named_by_table(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps([{"pk": "u1", "age": 36, "score": 0.1, "tags": ["a"], "address": {"zip": None},
                                 "admin": True}]))
    assert seed(engine, path) == 1
    assert _items(engine, "users") == [{
        "pk": {"S": "u1"}, "age": {"N": "36"}, "score": {"N": "0.1"}, "tags": {"L": [{"S": "a"}]},
        "address": {"M": {"zip": {"NULL": True}}}, "admin": {"BOOL": True}}]


def test_dynamodb_json_mapping_file_with_scan_and_batch_shapes(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "fixtures.json"
    path.write_text(json.dumps({
        "users": {"Items": [{"pk": {"S": "u1"}, "roles": {"SS": ["a", "b"]}}]},  # aws dynamodb scan output
        "orders": [{"PutRequest": {"Item": {"customer": {"S": "c"}, "order": {"S": str(n)}}}} for n in range(60)],
    }))
    assert seed(engine, path) == 61
    assert _items(engine, "users") == [{"pk": {"S": "u1"}, "roles": {"SS": ["a", "b"]}}]
    assert engine.call("Scan", {"TableName": "orders"})["Count"] == 60


def test_export_json_lines(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text('{"Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}\n{"Item": {"pk": {"S": "b"}}}\n')
    assert seed(engine, path) == 2
    assert [item["pk"]["S"] for item in _items(engine, "users")] == ["a", "b"]


def test_python_values_and_typed_override(engine: Engine) -> None:
    # Plain JSON that looks like DynamoDB JSON: typed=False stores it as a map.
    assert seed(engine, [{"pk": "p", "value": {"S": "not a type"}}], "users", typed=False) == 1
    assert _items(engine, "users")[0]["value"] == {"M": {"S": {"S": "not a type"}}}
    assert seed(engine, {"users": [{"pk": "q", "price": Decimal("1.50"), "ratio": 0.25}]}) == 1
    assert engine.call("GetItem", {"TableName": "users", "Key": {"pk": {"S": "q"}}})["Item"]["price"] == {"N": "1.5"}
    assert engine.call("GetItem", {"TableName": "users", "Key": {"pk": {"S": "q"}}})["Item"]["ratio"] == {"N": "0.25"}


def test_guessing_the_format() -> None:
    assert is_typed({"pk": {"S": "a"}, "n": {"N": "1"}, "m": {"M": {}}})
    assert not is_typed({"pk": "a"})
    assert not is_typed({"pk": {"S": 1}})
    assert not is_typed({"pk": {"X": "a"}})


def test_bad_items_are_refused_by_the_engine(engine: Engine) -> None:
    with pytest.raises(dynamokit.DynamoDBError, match="key"):
        seed(engine, [{"nokey": "x"}], "users")
    with pytest.raises(ValueError, match="without a table"):
        seed(engine, [{"pk": "x"}])


def test_mock_seed_argument(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps([{"pk": "seeded"}]))

    @dynamokit.mock(tables=[USERS], seed=path)
    def body() -> list[str]:
        table = boto3.resource("dynamodb").Table("users")
        table.put_item(Item={"pk": "added"})
        return sorted(item["pk"] for item in table.scan()["Items"])

    assert body() == ["added", "seeded"]
    assert body() == ["added", "seeded"]  # each run starts from the seed again
