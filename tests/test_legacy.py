"""Legacy parameters: AttributesToGet, Expected, KeyConditions, QueryFilter, ScanFilter, AttributeUpdates."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Caller, create, expect_error


@pytest.fixture
def t(ddb: Caller) -> Caller:
    create(ddb, "leg", range_key="sk", range_type="N")
    for n in range(5):
        ddb("PutItem", TableName="leg", Item={"pk": {"S": "p"}, "sk": {"N": str(n)}, "v": {"S": f"v{n}"},
                                              "tags": {"SS": ["a", f"t{n}"]}})
    return ddb


def test_attributes_to_get(t: Caller) -> None:
    """Rule: AttributesToGet returns only the named top-level attributes."""
    out = t("GetItem", TableName="leg", Key={"pk": {"S": "p"}, "sk": {"N": "1"}}, AttributesToGet=["v"])
    assert out["Item"] == {"v": {"S": "v1"}}


def test_expected_value_exists_and_operators(t: Caller) -> None:
    """Rule: Expected with Value/Exists and ComparisonOperator conditions guard writes like ConditionExpression."""
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    t("PutItem", TableName="leg", Item={**key, "v": {"S": "w"}}, Expected={"v": {"Value": {"S": "v1"}}})
    assert expect_error(t, "PutItem", TableName="leg", Item=key, Expected={"v": {"Exists": False}}).code == \
        "ConditionalCheckFailedException"
    t("DeleteItem", TableName="leg", Key=key, Expected={"v": {"ComparisonOperator": "NOT_NULL"}})
    assert "Item" not in t("GetItem", TableName="leg", Key=key)


def test_expected_with_or(t: Caller) -> None:
    """Rule: ConditionalOperator OR joins Expected conditions."""
    key = {"pk": {"S": "p"}, "sk": {"N": "2"}}
    t("PutItem", TableName="leg", Item=key, ConditionalOperator="OR",
      Expected={"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "nope"}]},
                "missing": {"ComparisonOperator": "NULL"}})


def test_key_conditions_and_query_filter(t: Caller) -> None:
    """Rule: KeyConditions select the key range; QueryFilter filters after reading."""
    out = t("Query", TableName="leg", KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]}},
        QueryFilter={"tags": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "t2"}]}})
    assert out["ScannedCount"] == 3 and [i["sk"]["N"] for i in out["Items"]] == ["2"]


def test_scan_filter(t: Caller) -> None:
    """Rule: ScanFilter with IN and GE conditions (AND by default)."""
    out = t("Scan", TableName="leg", ScanFilter={
        "v": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "v1"}, {"S": "v3"}, {"S": "v4"}]},
        "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "3"}]}})
    assert sorted(i["sk"]["N"] for i in out["Items"]) == ["3", "4"]


def test_attribute_updates(t: Caller) -> None:
    """Rule: AttributeUpdates PUT sets, ADD adds numbers and set members, DELETE removes attributes or members."""
    key = {"pk": {"S": "p"}, "sk": {"N": "0"}}
    t("UpdateItem", TableName="leg", Key=key, AttributeUpdates={
        "n": {"Action": "ADD", "Value": {"N": "5"}}, "tags": {"Action": "DELETE", "Value": {"SS": ["a"]}},
        "v": {"Action": "DELETE"}, "w": {"Value": {"S": "new"}}})
    item = t("GetItem", TableName="leg", Key=key)["Item"]
    assert item == {**key, "n": {"N": "5"}, "tags": {"SS": ["t0"]}, "w": {"S": "new"}}


def test_mixing_legacy_and_expressions_is_rejected(t: Caller) -> None:
    """Rule: legacy and expression parameters cannot be mixed in one request."""
    error = expect_error(t, "GetItem", TableName="leg", Key={"pk": {"S": "p"}, "sk": {"N": "1"}}, AttributesToGet=["v"],
                   ProjectionExpression="v")
    assert error.message == ("Can not use both expression and non-expression parameters in the same request: "
                             "Non-expression parameters: {AttributesToGet} Expression parameters: "
                             "{ProjectionExpression}")


def test_key_conditions_mix_with_filter_and_projection_expressions(t: Caller) -> None:
    """Rule: legacy KeyConditions may be combined with FilterExpression and ProjectionExpression (DynamoDB's
    error for KeyConditions + QueryFilter + ProjectionExpression lists only QueryFilter as non-expression)."""
    keys = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "1"}]}}
    out = t("Query", TableName="leg", KeyConditions=keys, FilterExpression="#v <> :v",
            ProjectionExpression="sk, #v", ExpressionAttributeNames={"#v": "v"},
            ExpressionAttributeValues={":v": {"S": "v2"}})
    assert out["Items"] == [{"sk": {"N": str(n)}, "v": {"S": f"v{n}"}} for n in (1, 3, 4)]
    out = t("Query", TableName="leg", KeyConditions=keys, ProjectionExpression="v")
    assert out["Items"] == [{"v": {"S": f"v{n}"}} for n in (1, 2, 3, 4)]
    error = expect_error(t, "Query", TableName="leg", KeyConditions=keys, ProjectionExpression="v",
                         QueryFilter={"v": {"ComparisonOperator": "NOT_NULL"}})
    assert error.message == ("Can not use both expression and non-expression parameters in the same request: "
                             "Non-expression parameters: {QueryFilter} Expression parameters: "
                             "{ProjectionExpression}")
    error = expect_error(t, "Query", TableName="leg", KeyConditions=keys, KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues={":p": {"S": "p"}})
    assert "Non-expression parameters: {KeyConditions}" in error.message


@pytest.mark.parametrize("operator, values, message", [
    ("CONTAINS", [{"L": [{"S": "a"}]}], "ComparisonOperator CONTAINS is not valid for L AttributeValue type"),
    ("NOT_CONTAINS", [{"L": []}], "ComparisonOperator NOT_CONTAINS is not valid for L AttributeValue type"),
    ("CONTAINS", [{"SS": ["a"]}], "ComparisonOperator CONTAINS is not valid for SS AttributeValue type"),
    ("IN", [{"S": "a"}, {"N": "1"}], "AttributeValues inside AttributeValueList must be of same type"),
    ("GT", [{"BOOL": True}], "ComparisonOperator GT is not valid for BOOL AttributeValue type"),
])
def test_legacy_condition_value_types(t: Caller, operator: str, values: list[Any], message: str) -> None:
    """Rule: legacy conditions (Expected, QueryFilter, ScanFilter) take values of one type that the operator
    accepts: CONTAINS/NOT_CONTAINS no sets, lists or maps, IN no mixed types (ValidationException)."""
    condition = {"v": {"ComparisonOperator": operator, "AttributeValueList": values}}
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    for operation, request in (
            ("PutItem", {"Item": key, "Expected": condition}),
            ("Scan", {"ScanFilter": condition}),
            ("Query", {"KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                       "QueryFilter": condition})):
        error = expect_error(t, operation, TableName="leg", **request)
        assert error.code == "ValidationException"
        assert error.message.endswith("One or more parameter values were invalid: " + message)


def test_conditional_operator_needs_conditions(t: Caller) -> None:
    """Rule: ConditionalOperator without Expected (or with an empty one), or without a Query/ScanFilter, is a
    ValidationException."""
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    for request in ({}, {"Expected": {}}):
        error = expect_error(t, "PutItem", TableName="leg", Item=key, ConditionalOperator="OR", **request)
        assert error.code == "ValidationException" and "ConditionalOperator" in error.message
    assert expect_error(t, "Scan", TableName="leg", ConditionalOperator="AND").code == "ValidationException"
    assert "Item" in t("GetItem", TableName="leg", Key=key)
