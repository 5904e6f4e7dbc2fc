"""Item operations conformance: PutItem, GetItem, UpdateItem, DeleteItem, their limits and ReturnValues."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Caller, create, expect_error


@pytest.fixture
def t(ddb: Caller) -> Caller:
    create(ddb, "tbl")
    return ddb


def test_put_get_round_trip_all_types(t: Caller) -> None:
    """Every attribute type round-trips unchanged (numbers in canonical form)."""
    item = {"pk": {"S": "a"}, "n": {"N": "001.500"}, "s": {"S": ""}, "t": {"BOOL": True}, "z": {"NULL": True},
            "l": {"L": [{"S": "x"}, {"N": "2"}]}, "m": {"M": {"k": {"SS": ["b", "a"]}}}, "ns": {"NS": ["1", "2"]}}
    t("PutItem", TableName="tbl", Item=item)
    got = t("GetItem", TableName="tbl", Key={"pk": {"S": "a"}})["Item"]
    assert got["n"] == {"N": "1.5"}
    assert got["s"] == {"S": ""}
    assert got["l"] == item["l"] and got["m"] == item["m"] and got["z"] == {"NULL": True}


def test_get_missing_item_has_no_item(t: Caller) -> None:
    """GetItem of a missing key answers an empty result, not an error."""
    assert "Item" not in t("GetItem", TableName="tbl", Key={"pk": {"S": "nobody"}})


def test_key_must_match_schema(t: Caller) -> None:
    """Rule: a Key with missing, extra or mistyped attributes: 'The provided key element does not match the schema'."""
    for key in ({"pk": {"N": "1"}}, {"pk": {"S": "a"}, "x": {"S": "b"}}, {"other": {"S": "a"}}):
        error = expect_error(t, "GetItem", TableName="tbl", Key=key)
        assert error.message == "The provided key element does not match the schema"


def test_put_missing_key_and_wrong_key_type(t: Caller) -> None:
    """Rule: an item must carry its key attributes with the declared types."""
    assert expect_error(t, "PutItem", TableName="tbl", Item={"x": {"S": "a"}}).message == \
        "One or more parameter values were invalid: Missing the key pk in the item"
    assert expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"N": "1"}}).message == \
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"


def test_empty_string_key_rejected(t: Caller) -> None:
    """Rule: empty S/B are allowed in non-key attributes but never in key attributes."""
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": ""}})
    assert error.message == ("One or more parameter values are not valid. The AttributeValue for a key attribute "
                             "cannot contain an empty string value. Key: pk")


def test_key_size_limits(ddb: Caller) -> None:
    """Rule: hash keys are at most 2048 bytes and range keys at most 1024 bytes."""
    create(ddb, "keys", range_key="sk")
    ddb("PutItem", TableName="keys", Item={"pk": {"S": "a" * 2048}, "sk": {"S": "b" * 1024}})
    assert "2048" in expect_error(ddb, "PutItem", TableName="keys", Item={"pk": {"S": "a" * 2049}, "sk": {"S": "b"}}).message
    assert "1024" in expect_error(ddb, "PutItem", TableName="keys", Item={"pk": {"S": "a"}, "sk": {"S": "b" * 1025}}).message


def test_item_size_limit(t: Caller) -> None:
    """Rule: items are at most 400 KB by DynamoDB's size rules (name bytes + value bytes)."""
    # "pk" + "a" + "v" = 4 bytes, so a value of 400 KB - 4 bytes makes exactly 400 KB.
    t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"S": "x" * (400 * 1024 - 4)}})
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"S": "x" * (400 * 1024 - 3)}})
    assert error.message == "Item size has exceeded the maximum allowed size"


@pytest.mark.parametrize("value, message", [
    ("1" * 39, "Attempting to store more than 38 significant digits in a Number"),
    ("1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("1e-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ("abc", "A value provided cannot be converted into a number"),
])
def test_number_limits(t: Caller, value: str, message: str) -> None:
    """Rule: numbers have up to 38 significant digits, magnitude 1e-130 to below 1e126 (single-item writes
    report attribute-value checks with the "1 validation error detected: " prefix)."""
    assert expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "n": {"N": value}}).message == \
        "1 validation error detected: " + message


def test_sets_may_not_be_empty_or_have_duplicates(t: Caller) -> None:
    """Rule: sets are non-empty and duplicate-free."""
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "s": {"SS": []}})
    # AWS-verified (moto's test_put_item_empty_set): single-item writes prefix this check with a count.
    assert error.message == ("1 validation error detected: One or more parameter values were invalid: "
                             "An string set  may not be empty")
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "s": {"SS": ["a", "a"]}})
    assert error.message == ("1 validation error detected: One or more parameter values were invalid: "
                             "Input collection [a, a] contains duplicates.")
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "s": {"NS": ["1", "1.0"]}})
    assert "contains duplicates" in error.message


def test_nesting_limit(t: Caller) -> None:
    """Rule: documents nest at most 32 levels."""
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(33):
        value = {"L": [value]}
    assert expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "deep": value}).code == "ValidationException"


def test_put_return_values(t: Caller) -> None:
    """Rule: PutItem ReturnValues ALL_OLD returns the replaced item; other modes are rejected."""
    assert "Attributes" not in t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "1"}},
                                 ReturnValues="ALL_OLD")
    out = t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}}, ReturnValues="ALL_NEW").code == \
        "ValidationException"


def test_conditional_put(t: Caller) -> None:
    """Rule: a failed condition answers ConditionalCheckFailedException and writes nothing."""
    t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "1"}}, ConditionExpression="attribute_not_exists(pk)")
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "2"}},
                   ConditionExpression="attribute_not_exists(pk)")
    assert error.code == "ConditionalCheckFailedException"
    assert error.message == "The conditional request failed"
    assert t("GetItem", TableName="tbl", Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "1"}


def test_condition_failure_returns_old_item(t: Caller) -> None:
    """Rule: ReturnValuesOnConditionCheckFailure=ALL_OLD puts the current item in the error."""
    t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}}, ConditionExpression="v = :two",
                   ExpressionAttributeValues={":two": {"N": "2"}}, ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert error.extra["Item"] == {"pk": {"S": "a"}, "v": {"N": "1"}}


def test_update_item_return_values(t: Caller) -> None:
    """Rule: UpdateItem returns ALL_OLD, UPDATED_OLD, ALL_NEW or UPDATED_NEW attributes."""
    t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "x": {"N": "1"}, "y": {"S": "keep"}})
    out = t("UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="SET x = x + :one",
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
    assert out["Attributes"] == {"x": {"N": "2"}}
    out = t("UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="SET x = x + :one",
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_OLD")
    assert out["Attributes"] == {"x": {"N": "2"}}
    out = t("UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE y",
            ReturnValues="ALL_OLD")
    assert out["Attributes"] == {"pk": {"S": "a"}, "x": {"N": "3"}, "y": {"S": "keep"}}
    out = t("UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="SET z = :z",
            ExpressionAttributeValues={":z": {"S": "new"}}, ReturnValues="ALL_NEW")
    assert out["Attributes"] == {"pk": {"S": "a"}, "x": {"N": "3"}, "z": {"S": "new"}}


def test_update_creates_missing_item(t: Caller) -> None:
    """Rule: UpdateItem on a missing key creates the item (upsert)."""
    t("UpdateItem", TableName="tbl", Key={"pk": {"S": "new"}}, UpdateExpression="ADD c :one",
      ExpressionAttributeValues={":one": {"N": "1"}})
    assert t("GetItem", TableName="tbl", Key={"pk": {"S": "new"}})["Item"] == {"pk": {"S": "new"}, "c": {"N": "1"}}


def test_update_cannot_change_key(t: Caller) -> None:
    """Rule: updating a key attribute is a ValidationException naming it."""
    error = expect_error(t, "UpdateItem", TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="SET pk = :v",
                   ExpressionAttributeValues={":v": {"S": "b"}})
    assert error.message == ("One or more parameter values were invalid: Cannot update attribute pk. "
                             "This attribute is part of the key")


def test_delete_item_return_and_condition(t: Caller) -> None:
    """Rule: DeleteItem returns ALL_OLD, honours conditions; deleting a missing item is not an error."""
    t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    assert expect_error(t, "DeleteItem", TableName="tbl", Key={"pk": {"S": "a"}}, ConditionExpression="v = :v",
                  ExpressionAttributeValues={":v": {"N": "9"}}).code == "ConditionalCheckFailedException"
    out = t("DeleteItem", TableName="tbl", Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert "Attributes" not in t("DeleteItem", TableName="tbl", Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD")


def test_projection_expression_on_get(t: Caller) -> None:
    """GetItem with ProjectionExpression returns only the named (nested) attributes."""
    t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}},
                                      "other": {"S": "o"}})
    out = t("GetItem", TableName="tbl", Key={"pk": {"S": "a"}}, ProjectionExpression="#m.x",
            ExpressionAttributeNames={"#m": "m"})
    assert out["Item"] == {"m": {"M": {"x": {"N": "1"}}}}


def test_values_without_expression_rejected(t: Caller) -> None:
    """Rule: ExpressionAttributeValues without an expression is a ValidationException."""
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}},
                   ExpressionAttributeValues={":v": {"S": "x"}})
    assert error.message == ("1 validation error detected: ExpressionAttributeValues can only be specified "
                             "when using expressions: ConditionExpression is null")


def test_unused_value_rejected(t: Caller) -> None:
    """Rule: every ExpressionAttributeValues entry must be used."""
    error = expect_error(t, "PutItem", TableName="tbl", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
                   ExpressionAttributeValues={":u": {"S": "x"}})
    assert error.message == ("1 validation error detected: Value provided in ExpressionAttributeValues unused "
                             "in expressions: keys: {:u}")


def test_consumed_capacity(t: Caller) -> None:
    """Rule: writes cost 1 WCU per KB of the larger item; eventual reads 0.5 RCU per 4 KB (missing items too)."""
    out = t("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"S": "x" * 1500}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": "tbl", "CapacityUnits": 2.0}
    out = t("GetItem", TableName="tbl", Key={"pk": {"S": "zz"}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": "tbl", "CapacityUnits": 0.5}
    out = t("GetItem", TableName="tbl", Key={"pk": {"S": "a"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_update_of_missing_item_with_only_removals_creates_nothing(t: Caller) -> None:
    """Rule: an UpdateItem whose actions only REMOVE or DELETE creates no item when the item is missing
    (ALL_NEW returns no Attributes); any SET or ADD creates it."""
    key = {"pk": {"S": "gone"}}
    out = t("UpdateItem", TableName="tbl", Key=key, UpdateExpression="REMOVE a, b.c DELETE s :s",
            ExpressionAttributeValues={":s": {"SS": ["x"]}}, ReturnValues="ALL_NEW")
    assert "Attributes" not in out
    t("UpdateItem", TableName="tbl", Key=key, AttributeUpdates={"a": {"Action": "DELETE"}})
    assert "Item" not in t("GetItem", TableName="tbl", Key=key)
    out = t("UpdateItem", TableName="tbl", Key=key, UpdateExpression="REMOVE a SET b = :b",
            ExpressionAttributeValues={":b": {"S": "x"}}, ReturnValues="ALL_NEW")
    assert out["Attributes"] == {**key, "b": {"S": "x"}}
