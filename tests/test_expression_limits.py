"""Expression size and nesting limits, checked through all three ways in and at the parser."""

from __future__ import annotations

import sys
import time

import pytest

import dynamokit._engine.expressions as ex
from dynamokit._engine.errors import DynamoDBError

from .conftest import Caller, create, expect_error


def nested(depth: int) -> str:
    """`depth` nested, non-redundant parentheses: (a = :v AND (a = :v AND ... a = :v)) with 2*depth+1 operators."""
    return "(a = :v AND " * depth + "a = :v" + ")" * depth


def test_149_nested_parentheses_within_300_operators(ddb: Caller) -> None:
    """Rule: DynamoDB accepts parentheses nested 149 deep when the expression has at most 300 operators; the
    limits are the operator count and the 4 KB size, not a nesting depth."""
    create(ddb)
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "x"}, "a": {"S": "v"}})
    out = ddb("Scan", TableName="tbl", FilterExpression=nested(149), ExpressionAttributeValues={":v": {"S": "v"}})
    assert out["Count"] == 1
    error = expect_error(ddb, "Scan", TableName="tbl", FilterExpression=nested(150),
                         ExpressionAttributeValues={":v": {"S": "v"}})
    assert error.message == "Invalid FilterExpression: The expression contains too many operators; operator count: 301"


def _parse_with_little_stack(text: str, kind: str) -> str:
    """Parse `text` with only 300 frames left before Python's recursion limit; the error message, or ''."""
    def descend(n: int) -> str:
        if n:
            return descend(n - 1)
        try:
            (ex.parse_update if kind == "UpdateExpression" else ex.parse_condition)(text, kind)
        except DynamoDBError as error:
            return error.message
        return ""
    depth = 0
    frame = sys._getframe()
    while frame:
        depth, frame = depth + 1, frame.f_back
    return descend(sys.getrecursionlimit() - depth - 700)


@pytest.mark.parametrize("text", [
    "(" * 2040 + "a = :v" + ")" * 2040,
    "a = " + "size((" * 400 + "b" + "))" * 400,
    "a = " + "size((" * 340 + "b" + "))" * 340,
    "NOT (" * 300 + "a = :v" + ")" * 300,
    "NOT (" * 299 + "a = :v" + ")" * 299,
    "contains((" * 320 + "a" + "), :v)" * 320,
    "(" * 4000,
])
def test_deep_input_stays_far_below_the_recursion_limit(text: str) -> None:
    """Rule: a 4 KB expression nested as deep as it can be never recurses near Python's limit: parsed or refused
    (ValidationException) within 700 frames, quickly."""
    text = text[:4096]
    start = time.perf_counter()
    message = _parse_with_little_stack(text, "ConditionExpression")
    assert time.perf_counter() - start < 0.5
    assert "RecursionError" not in message
    ex.parse_condition.cache_clear()
