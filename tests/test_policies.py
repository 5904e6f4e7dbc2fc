"""Resource-based policies: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy with revisions."""

from __future__ import annotations

import json

import pytest

from dynamokit import DynamoDBError

from .conftest import Caller, create


def _policy(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Principal": {"AWS": "123456789012"}, "Effect": "Allow", "Action": [action], "Resource": "*"}]})


def test_policy_revisions(ddb: Caller) -> None:
    """Rule: putting the same policy is a no-op; a new policy gets a later revision; revisions guard updates."""
    arn = create(ddb, "pol")["TableDescription"]["TableArn"]
    first = ddb("PutResourcePolicy", ResourceArn=arn, Policy=_policy("dynamodb:*"))["RevisionId"]
    assert ddb("PutResourcePolicy", ResourceArn=arn, Policy=_policy("dynamodb:*"))["RevisionId"] == first
    second = ddb("PutResourcePolicy", ResourceArn=arn, Policy=_policy("dynamodb:GetItem"),
                 ExpectedRevisionId=first)["RevisionId"]
    assert second > first
    assert ddb("GetResourcePolicy", ResourceArn=arn)["RevisionId"] == second
    with pytest.raises(DynamoDBError) as caught:
        ddb("PutResourcePolicy", ResourceArn=arn, Policy=_policy("dynamodb:PutItem"), ExpectedRevisionId=first)
    assert caught.value.code == "PolicyNotFoundException"
    assert caught.value.message == (
        "Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision "
        f"id {first}, but the policy associated to target table pol has revision id {second}.")
    ddb("DeleteResourcePolicy", ResourceArn=arn, ExpectedRevisionId=second)
    with pytest.raises(DynamoDBError) as caught:
        ddb("GetResourcePolicy", ResourceArn=arn)
    assert caught.value.message == f"Resource-based policy not found for the provided ResourceArn: {arn}"


def test_policy_on_unknown_table(ddb: Caller) -> None:
    """Rule: a policy call on an unknown table answers ResourceNotFoundException naming the table."""
    arn = create(ddb, "pol")["TableDescription"]["TableArn"]
    with pytest.raises(DynamoDBError) as caught:
        ddb("GetResourcePolicy", ResourceArn=arn + "x")
    assert caught.value.message == "Requested resource not found: Table: polx not found"
