"""The live usage page: the engine's running totals of operations, errors and consumed capacity per table and
index, with rates; as JSON for the page's refresh (under --auth: test_login.py)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from dynamokit._engine import Engine
from dynamokit._errors import DynamoDBError

from .conftest import Browser, create_posts


def cells(text: str, table: str) -> list[list[str]]:
    body = text.split(f'id="{table}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)] for row in body.split("</tr>") if row]


def test_usage_per_table_and_index_operation_and_error(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    for i in range(3):
        engine.call("PutItem", {"TableName": "posts", "Item": {"pk": {"S": "a"}, "sk": {"S": str(i)},
                                                               "author": {"S": "x"}, "created": {"N": "1"}}})
    engine.call("Query", {"TableName": "posts", "KeyConditionExpression": "pk = :p",
                          "ExpressionAttributeValues": {":p": {"S": "a"}}, "ConsistentRead": True})
    for bad in ({"TableName": "posts", "Item": {"pk": {"N": "x"}}}, {"TableName": "nope", "Item": {}}):
        with pytest.raises(DynamoDBError):
            engine.call("PutItem", bad)
    page = browser.get("/console/usage")
    assert page.status == 200 and 'href="/console/usage"' in page.text
    rows = {row[0]: row[1:] for row in cells(page.text, "usage-tables")}
    assert rows["posts"][0::2] == ["6", "1", "1.0", "3.0"]  # CreateTable, 3 puts, a query, a failed put
    assert rows["posts · by_author"][4::2] == ["0", "3.0"]
    assert rows["nope"][0::2] == ["1", "1", "0", "0"]
    assert all(float(rate.replace(",", "")) > 0 for rate in rows["posts"][1::2])
    assert ["posts", "ValidationException", "1"] == cells(page.text, "usage-errors")[1][:3]
    operations = {row[0]: row[1] for row in cells(page.text, "usage-operations")}
    assert operations["PutItem"] == "5" and operations["Query"] == "1"
    status, data = browser.api_get("/console/usage?format=json")
    assert status == 200 and data["tables"][0][0] == "nope" and data["errors"][0][:2] == ["nope",
                                                                                         "ResourceNotFoundException"]


def test_the_totals_stay_bounded_and_hostile_requests_are_counted(engine: Engine, monkeypatch: Any) -> None:
    from dynamokit._engine import capacity

    monkeypatch.setattr(capacity, "MAX_KEYS", 5)
    for request in [{"RequestItems": 5}, {"TableName": ["x"]}, *({"TableName": f"t{i:04}"} for i in range(50))]:
        with pytest.raises(DynamoDBError):
            engine.call("GetItem", request)
    activity = engine.usage.activity()
    assert len(activity["operations"]) <= 6 and len(activity["errors"]) <= 6
    assert sum(activity["operations"].values()) == 52 and activity["operations"]["", "GetItem"] >= 47
