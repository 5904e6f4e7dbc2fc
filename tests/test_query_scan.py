"""Query and Scan conformance: key conditions, order, paging, filters, Select, parallel segments."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Caller, create, expect_error


@pytest.fixture
def q(ddb: Caller) -> Caller:
    """Table qry: pk S, sk N; partition 'p' holds sk 0..19, partition 'o' holds 5 items."""
    create(ddb, "qry", range_key="sk", range_type="N")
    for n in range(20):
        ddb("PutItem", TableName="qry", Item={"pk": {"S": "p"}, "sk": {"N": str(n)}, "even": {"BOOL": n % 2 == 0}})
    for n in range(5):
        ddb("PutItem", TableName="qry", Item={"pk": {"S": "o"}, "sk": {"N": str(-n)}})
    return ddb


def _sks(out: dict[str, Any]) -> list[int]:
    return [int(i["sk"]["N"]) for i in out["Items"]]


def test_query_partition_in_order(q: Caller) -> None:
    """Rule: Query returns one partition sorted by the sort key (N by numeric value); reverse with ScanIndexForward."""
    out = q("Query", TableName="qry", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert _sks(out) == list(range(20))
    assert out["Count"] == out["ScannedCount"] == 20
    out = q("Query", TableName="qry", KeyConditionExpression="pk = :p", ScanIndexForward=False,
            ExpressionAttributeValues={":p": {"S": "o"}})
    assert _sks(out) == [0, -1, -2, -3, -4]


@pytest.mark.parametrize("condition, values, expected", [
    ("sk = :a", {":a": "5"}, [5]),
    ("sk < :a", {":a": "3"}, [0, 1, 2]),
    ("sk <= :a", {":a": "2"}, [0, 1, 2]),
    ("sk > :a", {":a": "17"}, [18, 19]),
    ("sk >= :a", {":a": "18"}, [18, 19]),
    ("sk BETWEEN :a AND :b", {":a": "4", ":b": "6"}, [4, 5, 6]),
])
def test_sort_key_conditions(q: Caller, condition: str, values: dict[str, str], expected: list[int]) -> None:
    """Rule: sort-key conditions =, <, <=, >, >=, BETWEEN (inclusive)."""
    attribute_values = {":p": {"S": "p"}, **{k: {"N": v} for k, v in values.items()}}
    out = q("Query", TableName="qry", KeyConditionExpression=f"pk = :p AND {condition}",
            ExpressionAttributeValues=attribute_values)
    assert _sks(out) == expected


def test_begins_with_on_string_sort_key(ddb: Caller) -> None:
    """Rule: begins_with on an S sort key selects the prefix range in UTF-8 byte order."""
    create(ddb, "strs", range_key="sk")
    for sk in ["a", "ab", "abc", "abd", "b", "ab\u00ff", "ac"]:
        ddb("PutItem", TableName="strs", Item={"pk": {"S": "p"}, "sk": {"S": sk}})
    out = ddb("Query", TableName="strs", KeyConditionExpression="pk = :p AND begins_with(sk, :pre)",
              ExpressionAttributeValues={":p": {"S": "p"}, ":pre": {"S": "ab"}})
    assert [i["sk"]["S"] for i in out["Items"]] == ["ab", "abc", "abd", "ab\u00ff"]


def test_query_paging_with_limit(q: Caller) -> None:
    """Rule: Limit stops a page; LastEvaluatedKey continues it via ExclusiveStartKey, with nothing lost or repeated."""
    seen: list[int] = []
    start = None
    pages = 0
    while True:
        request: dict[str, Any] = {"TableName": "qry", "KeyConditionExpression": "pk = :p", "Limit": 6,
                                   "ExpressionAttributeValues": {":p": {"S": "p"}}}
        if start:
            request["ExclusiveStartKey"] = start
        out = q("Query", **request)
        seen += _sks(out)
        pages += 1
        start = out.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == list(range(20))
    assert pages == 4


def test_filter_applies_after_limit(q: Caller) -> None:
    """Rule: the filter applies after Limit, so Count <= ScannedCount."""
    out = q("Query", TableName="qry", KeyConditionExpression="pk = :p", FilterExpression="even = :t", Limit=5,
            ExpressionAttributeValues={":p": {"S": "p"}, ":t": {"BOOL": True}})
    assert out["ScannedCount"] == 5
    assert out["Count"] == 3
    assert "LastEvaluatedKey" in out


def test_select_count(q: Caller) -> None:
    """Rule: Select=COUNT returns counts without Items."""
    out = q("Query", TableName="qry", KeyConditionExpression="pk = :p", Select="COUNT",
            ExpressionAttributeValues={":p": {"S": "p"}})
    assert out["Count"] == 20 and "Items" not in out


def test_query_missing_hash_key(q: Caller) -> None:
    """Rule: a key condition without the partition key: 'Query condition missed key schema element: pk'."""
    error = expect_error(q, "Query", TableName="qry", KeyConditionExpression="sk = :s",
                   ExpressionAttributeValues={":s": {"N": "1"}})
    assert error.message == "Query condition missed key schema element: pk"


def test_one_megabyte_pages(ddb: Caller) -> None:
    """Rule: a page stops after 1 MB read even without Limit."""
    create(ddb, "big", range_key="sk", range_type="N")
    blob = "x" * 100_000
    for n in range(25):
        ddb("PutItem", TableName="big", Item={"pk": {"S": "p"}, "sk": {"N": str(n)}, "v": {"S": blob}})
    out = ddb("Query", TableName="big", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert 10 <= out["Count"] < 25
    assert "LastEvaluatedKey" in out
    out = ddb("Scan", TableName="big")
    assert out["Count"] < 25 and "LastEvaluatedKey" in out


def test_scan_all_and_pages(q: Caller) -> None:
    """Rule: a paged Scan visits every item exactly once."""
    keys: list[tuple[str, int]] = []
    start = None
    while True:
        request: dict[str, Any] = {"TableName": "qry", "Limit": 7}
        if start:
            request["ExclusiveStartKey"] = start
        out = q("Scan", **request)
        keys += [(i["pk"]["S"], int(i["sk"]["N"])) for i in out["Items"]]
        start = out.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(keys) == sorted([("p", n) for n in range(20)] + [("o", -n) for n in range(5)])
    assert len(keys) == 25


def test_parallel_scan_segments_partition_the_table(q: Caller) -> None:
    """Rule: parallel Scan segments together cover the table, each item in exactly one segment."""
    seen: list[tuple[str, int]] = []
    for segment in range(4):
        out = q("Scan", TableName="qry", Segment=segment, TotalSegments=4)
        seen += [(i["pk"]["S"], int(i["sk"]["N"])) for i in out["Items"]]
    assert len(seen) == 25 and len(set(seen)) == 25
    error = expect_error(q, "Scan", TableName="qry", Segment=4, TotalSegments=4)
    assert error.code == "ValidationException"


def test_scan_filter_and_projection(q: Caller) -> None:
    """Scan applies FilterExpression and ProjectionExpression."""
    out = q("Scan", TableName="qry", FilterExpression="sk < :z", ProjectionExpression="sk",
            ExpressionAttributeValues={":z": {"N": "0"}})
    assert sorted(_sks(out)) == [-4, -3, -2, -1]
    assert all(set(i) == {"sk"} for i in out["Items"])
    assert out["ScannedCount"] == 25


def test_query_filter_may_not_name_key_attributes(ddb: Caller) -> None:
    """Rule: a Query's FilterExpression or QueryFilter may not name a key attribute: ValidationException
    'Filter Expression can only contain non-primary key attributes: Primary key attribute: NAME'; Scan may."""
    create(ddb, "kfs", range_key="sk")
    ddb("PutItem", TableName="kfs", Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "v": {"S": "x"}})
    error = expect_error(ddb, "Query", TableName="kfs", KeyConditionExpression="pk = :p",
                         FilterExpression="v = :p OR #s = :p", ExpressionAttributeNames={"#s": "sk"},
                         ExpressionAttributeValues={":p": {"S": "p"}})
    assert (error.code, error.message) == ("ValidationException", "Filter Expression can only contain "
                                           "non-primary key attributes: Primary key attribute: sk")
    error = expect_error(ddb, "Query", TableName="kfs", KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
        QueryFilter={"pk": {"ComparisonOperator": "NOT_NULL"}})
    assert error.message == "Filter Expression can only contain non-primary key attributes: Primary key attribute: pk"
    assert ddb("Scan", TableName="kfs", FilterExpression="sk = :s",
               ExpressionAttributeValues={":s": {"S": "s"}})["Count"] == 1
