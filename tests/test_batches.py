"""BatchGetItem and BatchWriteItem conformance: limits, duplicates, all-or-nothing validation, 16 MB, capacity."""

from __future__ import annotations

from typing import Any

import pytest

from dynamokit import DynamoDBError, Engine

from .conftest import Caller, create


def _error(call: Any, operation: str, **request: Any) -> DynamoDBError:
    with pytest.raises(DynamoDBError) as caught:
        call(operation, **request)
    return caught.value


def _put(pk: str, **attrs: Any) -> dict[str, Any]:
    return {"PutRequest": {"Item": {"pk": {"S": pk}, **attrs}}}


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def _count(ddb: Caller, table: str) -> int:
    return int(ddb("Scan", TableName=table, Select="COUNT")["Count"])


@pytest.fixture
def two(ddb: Caller) -> Caller:
    create(ddb, "one")
    create(ddb, "two")
    return ddb


# -- BatchWriteItem -------------------------------------------------------------------------------------
def test_batch_write_puts_and_deletes_across_tables(two: Caller) -> None:
    """Rule: one BatchWriteItem puts and deletes in several tables; success answers UnprocessedItems {}."""
    out = two("BatchWriteItem", RequestItems={"one": [_put("a"), _put("b")], "two": [_put("a")]})
    assert out["UnprocessedItems"] == {}
    assert _count(two, "one") == 2 and _count(two, "two") == 1
    two("BatchWriteItem", RequestItems={"one": [{"DeleteRequest": {"Key": _key("a")}}, _put("c")]})
    assert sorted(i["pk"]["S"] for i in two("Scan", TableName="one")["Items"]) == ["b", "c"]


def test_batch_write_at_most_25_requests(two: Caller) -> None:
    """Rule: at most 25 Put/Delete requests in total: 'Too many items requested for the BatchWriteItem call'."""
    two("BatchWriteItem", RequestItems={"one": [_put(str(n)) for n in range(25)]})
    error = _error(two, "BatchWriteItem", RequestItems={"one": [_put(f"x{n}") for n in range(13)],
                                                        "two": [_put(f"y{n}") for n in range(13)]})
    assert (error.code, error.message) == ("ValidationException",
                                           "Too many items requested for the BatchWriteItem call")
    assert _count(two, "two") == 0


def test_batch_write_26_requests_for_one_table(two: Caller) -> None:
    """Rule: one table's list of more than 25 writes fails the map-value constraint: '... Member must have
    length less than or equal to 25, ...' (AWS's answer, as applications handling it show)."""
    error = _error(two, "BatchWriteItem", RequestItems={"one": [_put(f"x{n}") for n in range(26)]})
    assert error.code == "ValidationException"
    assert error.message.endswith("Map value must satisfy constraint: [Member must have length less than or "
                                  "equal to 25, Member must have length greater than or equal to 1]")
    assert _count(two, "one") == 0


@pytest.mark.parametrize("second", [_put("a", x={"S": "other"}), {"DeleteRequest": {"Key": _key("a")}}])
def test_batch_write_duplicate_keys_rejected(two: Caller, second: dict[str, Any]) -> None:
    """Rule: two requests on one item (put+put, put+delete) are a ValidationException; nothing is written."""
    error = _error(two, "BatchWriteItem", RequestItems={"one": [_put("z"), _put("a"), second]})
    assert (error.code, error.message) == ("ValidationException", "Provided list of item keys contains duplicates")
    assert _count(two, "one") == 0


def test_same_key_in_two_tables_is_not_a_duplicate(two: Caller) -> None:
    """Rule: duplicates are per table; the same key in different tables is fine."""
    two("BatchWriteItem", RequestItems={"one": [_put("a")], "two": [_put("a")]})
    assert _count(two, "one") == _count(two, "two") == 1


@pytest.mark.parametrize("bad", [
    {"PutRequest": {"Item": {"nokey": {"S": "x"}}}},
    {"PutRequest": {"Item": {"pk": {"N": "1"}}}},
    {"DeleteRequest": {"Key": {"pk": {"S": "a"}, "extra": {"S": "b"}}}},
])
def test_one_invalid_request_fails_the_whole_batch(two: Caller, bad: dict[str, Any]) -> None:
    """Rule: one invalid request fails the batch with a ValidationException and nothing is written."""
    error = _error(two, "BatchWriteItem", RequestItems={"one": [_put("good")], "two": [_put("good2"), bad]})
    assert error.code == "ValidationException"
    assert _count(two, "one") == _count(two, "two") == 0


def test_unknown_table_fails_the_whole_batch(two: Caller) -> None:
    """Rule: a missing table is a ResourceNotFoundException and the other tables' writes do not happen."""
    error = _error(two, "BatchWriteItem", RequestItems={"one": [_put("a")], "nope": [_put("b")]})
    assert error.code == "ResourceNotFoundException"
    assert _count(two, "one") == 0


def test_oversized_item_fails_the_whole_batch(two: Caller) -> None:
    """Rule: an item over 400 KB fails the batch ('Item size has exceeded the maximum allowed size')."""
    error = _error(two, "BatchWriteItem", RequestItems={"one": [_put("a"), _put("b", big={"S": "x" * 410_000})]})
    assert error.message == "Item size has exceeded the maximum allowed size"
    assert _count(two, "one") == 0


def test_batch_write_item_collection_metrics_accepted(two: Caller) -> None:
    """Rule: ReturnItemCollectionMetrics SIZE | NONE is accepted."""
    out = two("BatchWriteItem", RequestItems={"one": [_put("a")]}, ReturnItemCollectionMetrics="SIZE")
    assert out["UnprocessedItems"] == {}


def test_batch_write_shape_errors(engine: Engine) -> None:
    """Rule: RequestItems must be a non-empty map of non-empty lists, each request exactly one of Put/Delete."""
    native = Caller("native", engine)  # boto3 would refuse these shapes client-side
    create(native, "one")
    assert "at 'requestItems' failed to satisfy constraint" in _error(
        native, "BatchWriteItem", RequestItems={}).message
    assert "Member must have length less than or equal to 25" in _error(
        native, "BatchWriteItem", RequestItems={"one": []}).message
    both = {**_put("a"), "DeleteRequest": {"Key": _key("a")}}
    assert "exactly one of the supported datatypes" in _error(
        native, "BatchWriteItem", RequestItems={"one": [both]}).message


# -- BatchGetItem ---------------------------------------------------------------------------------------
@pytest.fixture
def filled(two: Caller) -> Caller:
    two("BatchWriteItem", RequestItems={"one": [_put(str(n), n={"N": str(n)}, s={"S": "x"}) for n in range(5)],
                                        "two": [_put("a", v={"S": "va"})]})
    return two


def test_batch_get_responses_per_table(filled: Caller) -> None:
    """Rule: Responses holds each table's found items; missing keys are simply absent; UnprocessedKeys {}."""
    out = filled("BatchGetItem", RequestItems={"one": {"Keys": [_key("1"), _key("3"), _key("nope")]},
                                               "two": {"Keys": [_key("a")], "ConsistentRead": True}})
    assert sorted(i["pk"]["S"] for i in out["Responses"]["one"]) == ["1", "3"]
    assert out["Responses"]["two"] == [{"pk": {"S": "a"}, "v": {"S": "va"}}]
    assert out["UnprocessedKeys"] == {}


def test_batch_get_projection_per_table(filled: Caller) -> None:
    """Rule: ProjectionExpression and ExpressionAttributeNames apply per table."""
    out = filled("BatchGetItem", RequestItems={
        "one": {"Keys": [_key("2")], "ProjectionExpression": "#n", "ExpressionAttributeNames": {"#n": "n"}},
        "two": {"Keys": [_key("a")]}})
    assert out["Responses"]["one"] == [{"n": {"N": "2"}}]
    assert out["Responses"]["two"] == [{"pk": {"S": "a"}, "v": {"S": "va"}}]


def test_batch_get_key_limits(filled: Caller) -> None:
    """Rule: at most 100 keys per table (constraint message) and 100 in total ('Too many items requested')."""
    error = _error(filled, "BatchGetItem", RequestItems={"one": {"Keys": [_key(str(n)) for n in range(101)]}})
    assert error.message == ("1 validation error detected: Value at 'requestItems.one.member.keys' failed to "
                             "satisfy constraint: Member must have length less than or equal to 100")
    error = _error(filled, "BatchGetItem", RequestItems={"one": {"Keys": [_key(str(n)) for n in range(60)]},
                                                         "two": {"Keys": [_key(str(n)) for n in range(60)]}})
    assert error.message == "Too many items requested for the BatchGetItem call"


def test_batch_get_duplicate_keys(filled: Caller) -> None:
    """Rule: duplicate keys in one table's list: 'Provided list of item keys contains duplicates'."""
    error = _error(filled, "BatchGetItem", RequestItems={"one": {"Keys": [_key("1"), _key("1")]}})
    assert (error.code, error.message) == ("ValidationException", "Provided list of item keys contains duplicates")


def test_batch_get_bad_key_and_table(filled: Caller) -> None:
    """Rule: a key not matching the schema is a ValidationException; a missing table ResourceNotFound."""
    assert _error(filled, "BatchGetItem", RequestItems={"one": {"Keys": [{"pk": {"N": "1"}}]}}).message == \
        "The provided key element does not match the schema"
    assert _error(filled, "BatchGetItem", RequestItems={"nope": {"Keys": [_key("1")]}}).code == \
        "ResourceNotFoundException"


def test_batch_get_stops_at_16_mb(engine: Engine) -> None:
    """Rule: a response stops before 16 MB; the rest come back in UnprocessedKeys with the table's parameters."""
    native = Caller("native", engine)
    create(native, "big")
    blob = "x" * 390_000
    for n in range(50):
        native("PutItem", TableName="big", Item={"pk": {"S": f"k{n:02}"}, "blob": {"S": blob}})
    keys = [_key(f"k{n:02}") for n in range(50)]
    out = native("BatchGetItem", RequestItems={"big": {"Keys": keys, "ConsistentRead": True}},
                 ReturnConsumedCapacity="TOTAL")
    returned = len(out["Responses"]["big"])
    unprocessed = out["UnprocessedKeys"]["big"]
    assert returned == (16 * 1024 * 1024) // (390_000 + 2 + 4 + 3)
    assert unprocessed["Keys"] == keys[returned:] and unprocessed["ConsistentRead"] is True
    assert out["ConsumedCapacity"] == [{"TableName": "big", "CapacityUnits": 96.0 * returned}]


# -- capacity: worked examples --------------------------------------------------------------------------
KB = 1024
# (rule, item sizes in bytes (None: a missing key), ConsistentRead, expected CapacityUnits)
BATCH_GET_EXAMPLES = [
    ("strongly consistent: each item rounded up to 4 KB, then summed", [1 * KB, 5 * KB, 9 * KB], True, 6.0),
    ("eventually consistent: half of the strongly consistent units", [1 * KB, 5 * KB, 9 * KB], False, 3.0),
    ("a missing key still costs a minimum read", [None], False, 0.5),
    ("exactly 4 KB is one unit, one byte more is two", [4 * KB, 4 * KB + 1], True, 3.0),
]


def _sized(pk: str, size: int) -> dict[str, Any]:
    """An item of exactly `size` bytes: 'pk' (2) + pk value + 'pad' (3) + padding."""
    return {"pk": {"S": pk}, "pad": {"S": "x" * (size - 2 - len(pk) - 3)}}


@pytest.mark.parametrize(("rule", "sizes", "consistent", "expected"), BATCH_GET_EXAMPLES,
                         ids=[e[0] for e in BATCH_GET_EXAMPLES])
def test_batch_get_capacity(two: Caller, rule: str, sizes: list[int | None], consistent: bool,
                            expected: float) -> None:
    for n, size in enumerate(sizes):
        if size is not None:
            two("PutItem", TableName="one", Item=_sized(f"i{n}", size))
    out = two("BatchGetItem", RequestItems={"one": {"Keys": [_key(f"i{n}") for n in range(len(sizes))],
                                                    "ConsistentRead": consistent}},
              ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [{"TableName": "one", "CapacityUnits": expected}], rule


def test_batch_write_capacity(two: Caller) -> None:
    """Rule: each write is 1 WCU per KB of the larger of old and new item; deleting a missing item costs 1."""
    two("PutItem", TableName="one", Item=_sized("old", 3 * KB))
    out = two("BatchWriteItem", ReturnConsumedCapacity="TOTAL", RequestItems={
        "one": [{"PutRequest": {"Item": _sized("new", 1536)}},        # 1.5 KB -> 2
                {"DeleteRequest": {"Key": _key("old")}},              # 3 KB old item -> 3
                {"DeleteRequest": {"Key": _key("missing")}}],         # missing -> 1
        "two": [{"PutRequest": {"Item": _sized("a", 100)}}]})         # tiny -> 1
    assert out["ConsumedCapacity"] == [{"TableName": "one", "CapacityUnits": 6.0},
                                       {"TableName": "two", "CapacityUnits": 1.0}]


def test_batch_write_capacity_indexes(ddb: Caller) -> None:
    """Rule: INDEXES splits the units into Table and each affected GSI (sparse: only items with the key)."""
    create(ddb, "gsi", GlobalSecondaryIndexes=[{"IndexName": "byg", "KeySchema": [
        {"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}])
    out = ddb("BatchWriteItem", ReturnConsumedCapacity="INDEXES", RequestItems={"gsi": [
        {"PutRequest": {"Item": {"pk": {"S": "a"}, "g": {"S": "x"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "b"}}}}]})
    assert out["ConsumedCapacity"] == [{"TableName": "gsi", "CapacityUnits": 3.0, "Table": {"CapacityUnits": 2.0},
                                        "GlobalSecondaryIndexes": {"byg": {"CapacityUnits": 1.0}}}]
