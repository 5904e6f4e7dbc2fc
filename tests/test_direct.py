"""The in-process client hands item operations' parameters to the engine unserialized only when botocore's
validator accepts them and its serializer would give them back unchanged (`dynamokit.client._direct`)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from botocore.exceptions import ParamValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dynamokit
from dynamokit import Engine
from dynamokit.client._direct import OPERATIONS, ParamChecks, Unserialized

_client = dynamokit.client(Engine())
_model = _client.meta.service_model
_validator = _client._serializer._serializer._param_validator  # botocore's own, behind ours
_serializer = _client._serializer._serializer._serializer


class Text(str):
    """A str subclass: botocore accepts it, but it is not a plain JSON value."""


odd_scalars = st.one_of(
    st.none(), st.floats(allow_nan=True), st.binary(max_size=3), st.builds(bytearray, st.binary(max_size=3)),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.booleans(), st.just("\ud800"),
    st.builds(Text, st.text(max_size=3)), st.text(max_size=3), st.just(""),
)
names = st.sampled_from(["pk", "sk", "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS", "Bogus", "é"])


def attribute_values() -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.builds(lambda s: {"S": s}, st.text(max_size=5)),
        st.builds(lambda n: {"N": str(n)}, st.integers()),
        st.builds(lambda b: {"B": b}, st.binary(max_size=3)),
        st.builds(lambda b: {"BOOL": b}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(lambda ss: {"SS": ss}, st.lists(st.text(max_size=3), max_size=3)),
        st.builds(lambda ss: {"SS": tuple(ss)}, st.lists(st.text(max_size=3), max_size=2)),
        st.dictionaries(names, odd_scalars, max_size=2),
    )
    return st.recursive(scalar, lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(max_size=3), inner, max_size=3)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    ), max_leaves=8)


def requests() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    item = st.dictionaries(st.text(max_size=3), attribute_values(), max_size=4)
    put = st.fixed_dictionaries({"TableName": st.sampled_from(["t", "", Text("t")]), "Item": item},
                                optional={"ConditionExpression": st.text(max_size=4), "ReturnValues": odd_scalars,
                                          "Bogus": odd_scalars})
    get = st.fixed_dictionaries({"Key": item}, optional={"TableName": st.just("t"),
                                                         "ConsistentRead": odd_scalars})
    query = st.fixed_dictionaries({"TableName": st.just("t")}, optional={
        "Limit": odd_scalars, "ExpressionAttributeValues": st.dictionaries(st.text(max_size=3), attribute_values()),
        "ExpressionAttributeNames": st.dictionaries(st.text(max_size=3), odd_scalars, max_size=2)})
    batch = st.fixed_dictionaries({"RequestItems": st.dictionaries(st.sampled_from(["t", "u"]), st.lists(
        st.one_of(st.builds(lambda i: {"PutRequest": {"Item": i}}, item), st.just({}), st.just({"Bogus": 1})),
        max_size=3), max_size=2)})
    return st.one_of(st.tuples(st.just("PutItem"), put), st.tuples(st.just("GetItem"), get),
                     st.tuples(st.just("Query"), query), st.tuples(st.just("BatchWriteItem"), batch))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_a_passed_check_means_botocore_accepts_and_serializes_to_the_same_value(case: tuple[str, dict]) -> None:
    operation, params = case
    shape = _model.operation_model(operation).input_shape
    if not ParamChecks().check(shape, params):
        return
    assert not _validator.validate(params, shape).has_errors()
    body = _serializer.serialize_to_request(params, _model.operation_model(operation))["body"]
    assert orjson.loads(body) == params  # as the engine decodes a body


def test_the_check_says_no_to_what_botocore_would_change_or_refuse() -> None:
    shape = _model.operation_model("PutItem").input_shape
    check = ParamChecks().check
    assert check(shape, {"TableName": "tab", "Item": {"a": {"S": "x"}, "b": {"L": [{"N": "1"}]}}})
    for item in ({"a": {"B": b"x"}}, {"a": {"L": ({"S": "x"},)}}, {"a": {"S": 1}}, {"a": {"S": Text("x")}},
                 {"a": {"S": "\ud800"}}, {"a": {"BOOL": 1}}, {"a": {"Bogus": "x"}}, {"a": None}):
        assert not check(shape, {"TableName": "tab", "Item": item}), item
    assert not check(shape, {"Item": {}})  # a required member missing
    assert not check(shape, {"TableName": "", "Item": {}})  # under its minimum length


@pytest.fixture
def seen_bodies() -> tuple[Any, list[Any]]:
    client = dynamokit.client(Engine())
    client.create_table(TableName="tbl", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    bodies: list[Any] = []
    client.meta.events.register("before-call.dynamodb", lambda params, **_: bodies.append(params["body"]))
    return client, bodies


def test_item_operations_skip_serializing_and_answer_as_before(seen_bodies: tuple[Any, list[Any]]) -> None:
    client, bodies = seen_bodies
    client.put_item(TableName="tbl", Item={"pk": {"S": "a"}, "n": {"N": "1.50"}})
    client.update_item(TableName="tbl", Key={"pk": {"S": "a"}}, UpdateExpression="ADD n :one",
                       ExpressionAttributeValues={":one": {"N": "1"}})
    assert client.get_item(TableName="tbl", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}, "n": {"N": "2.5"}}
    assert [type(body) for body in bodies] == [Unserialized] * 3
    client.describe_table(TableName="tbl")  # not an item operation: serialized as always
    assert isinstance(bodies[-1], bytes) and type(bodies[-1]) is not Unserialized
    assert "DescribeTable" not in OPERATIONS


def test_parameters_botocore_transforms_are_serialized_by_botocore(seen_bodies: tuple[Any, list[Any]]) -> None:
    client, bodies = seen_bodies
    client.put_item(TableName="tbl", Item={"pk": {"S": "b"}, "raw": {"B": bytearray(b"\x00\xff")},
                                         "text": {"B": "hi"}, "list": {"L": ({"S": "x"},)}})
    assert type(bodies[-1]) is not Unserialized
    got = client.get_item(TableName="tbl", Key={"pk": {"S": "b"}})["Item"]
    assert got == {"pk": {"S": "b"}, "raw": {"B": b"\x00\xff"}, "text": {"B": b"hi"}, "list": {"L": [{"S": "x"}]}}


def test_invalid_parameters_still_raise_botocores_error(seen_bodies: tuple[Any, list[Any]]) -> None:
    client, bodies = seen_bodies
    with pytest.raises(ParamValidationError, match='Invalid type for parameter Item.pk.S'):
        client.put_item(TableName="tbl", Item={"pk": {"S": 1}})
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "Bogus"'):
        client.get_item(TableName="tbl", Key={"pk": {"S": "a"}}, Bogus=1)
    assert bodies == []
