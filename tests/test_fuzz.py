"""Property tests: random and malformed requests get a result or a DynamoDB client error, never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynamokit import DynamoDBError, Engine

_OPERATIONS = ["PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan", "CreateTable", "DescribeTable",
               "UpdateTable", "ListTables", "DeleteTable"]
_FIELDS = ["TableName", "Item", "Key", "ConditionExpression", "UpdateExpression", "ProjectionExpression",
           "FilterExpression", "KeyConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues",
           "ReturnValues", "Limit", "ExclusiveStartKey", "Select", "Segment", "TotalSegments", "IndexName",
           "ScanIndexForward", "ConsistentRead", "KeySchema", "AttributeDefinitions", "BillingMode",
           "ReturnConsumedCapacity", "Expected", "AttributesToGet", "AttributeUpdates", "KeyConditions"]

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.text(max_size=20),
                     st.sampled_from(["fuzz", "pk", "#n", ":v", "a.b[1]", "SET a = :v", "pk = :v", "ALL_OLD"]))
_attribute_values = st.recursive(
    st.one_of(st.builds(lambda s: {"S": s}, st.text(max_size=10)),
              st.builds(lambda n: {"N": n}, st.sampled_from(["1", "-0.5", "1e200", "x", "", "12345678901234567890"
                                                             "123456789012345678901"])),
              st.builds(lambda b: {"BOOL": b}, st.booleans()), st.just({"NULL": True}),
              st.builds(lambda s: {"SS": s}, st.lists(st.text(max_size=3), max_size=3))),
    lambda inner: st.one_of(st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
                            st.builds(lambda v: {"M": v}, st.dictionaries(st.text(max_size=3), inner, max_size=3))),
    max_leaves=8)
_values: Any = st.recursive(st.one_of(_scalars, _attribute_values),
                            lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(st.sampled_from(["pk", "sk", "a", ":v", "#n",
                                                                                     "S", "N", "M"]), inner,
                                                                    max_size=3)),
                            max_leaves=10)


def _engine() -> Engine:
    engine = Engine()
    engine.call("CreateTable", {"TableName": "fuzz", "BillingMode": "PAY_PER_REQUEST",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
    return engine


_ENGINE = _engine()
_ITEMS = _engine()  # its own: the random requests above may delete or replace the table "fuzz"


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(_OPERATIONS), st.dictionaries(st.sampled_from(_FIELDS), _values, max_size=6),
       st.booleans())
def test_random_requests_never_crash(operation: str, request: dict[str, Any], named_table: bool) -> None:
    """Every answer is a result or a DynamoDB client error (status 400), never an internal error."""
    if named_table and operation not in ("CreateTable", "DeleteTable"):
        request["TableName"] = "fuzz"
    try:
        result = _ENGINE.call(operation, request)
    except DynamoDBError as error:
        assert error.status == 400, error
        assert error.code != "InternalServerError"
        # The engine's last-resort mapping of stray Python errors must not be what answered.
        assert error.__cause__ is None, repr(error.__cause__)
    else:
        assert isinstance(result, dict)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.dictionaries(st.sampled_from([":v", ":w", ":x"]), _attribute_values, max_size=2),
       st.sampled_from(["ConditionExpression", "UpdateExpression", "ProjectionExpression"]))
def test_random_expressions_on_real_items(text: str, values: dict[str, Any], parameter: str) -> None:
    """Random expression text against a stored item: a result or a ValidationException, never a crash."""
    _ITEMS.call("PutItem", {"TableName": "fuzz", "Item": {"pk": {"S": "x"}, "a": {"L": [{"N": "1"}]}}})
    request: dict[str, Any] = {"TableName": "fuzz", "Key": {"pk": {"S": "x"}}, parameter: text}
    if values:
        request["ExpressionAttributeValues"] = values
    operation = "GetItem" if parameter == "ProjectionExpression" else "UpdateItem"
    try:
        _ITEMS.call(operation, request)
    except DynamoDBError as error:
        assert error.status == 400, error
