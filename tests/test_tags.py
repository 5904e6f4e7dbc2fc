"""Tags (TagResource, UntagResource, ListTagsOfResource), DescribeLimits and DescribeEndpoints."""

from __future__ import annotations

from typing import Any

import pytest

from dynamokit import DynamoDBError, Engine

from .conftest import Caller, create

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/"


def _error(call: Any, operation: str, **request: Any) -> DynamoDBError:
    with pytest.raises(DynamoDBError) as caught:
        call(operation, **request)
    return caught.value


def _tags(**pairs: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


@pytest.fixture
def t(ddb: Caller) -> Caller:
    create(ddb, "tagged")
    return ddb


def test_tag_list_untag(t: Caller) -> None:
    """Rule: TagResource adds (or overwrites by key), UntagResource removes, ListTagsOfResource lists."""
    assert t("ListTagsOfResource", ResourceArn=ARN + "tagged") == {"Tags": []}
    t("TagResource", ResourceArn=ARN + "tagged", Tags=_tags(env="dev", team="a"))
    t("TagResource", ResourceArn=ARN + "tagged", Tags=_tags(env="prod"))
    assert t("ListTagsOfResource", ResourceArn=ARN + "tagged")["Tags"] == _tags(env="prod", team="a")
    t("UntagResource", ResourceArn=ARN + "tagged", TagKeys=["env", "absent"])
    assert t("ListTagsOfResource", ResourceArn=ARN + "tagged")["Tags"] == _tags(team="a")


def test_create_table_tags(ddb: Caller) -> None:
    """Rule: CreateTable's Tags are the table's tags; they go with the table when it is deleted."""
    create(ddb, "born", Tags=_tags(owner="me"))
    assert ddb("ListTagsOfResource", ResourceArn=ARN + "born")["Tags"] == _tags(owner="me")
    ddb("DeleteTable", TableName="born")
    create(ddb, "born")
    assert ddb("ListTagsOfResource", ResourceArn=ARN + "born")["Tags"] == []


def test_list_tags_pages(t: Caller) -> None:
    """Rule: ListTagsOfResource pages with NextToken."""
    t("TagResource", ResourceArn=ARN + "tagged", Tags=[{"Key": f"k{n:02}", "Value": "v"} for n in range(11)])
    first = t("ListTagsOfResource", ResourceArn=ARN + "tagged")
    second = t("ListTagsOfResource", ResourceArn=ARN + "tagged", NextToken=first["NextToken"])
    assert len(first["Tags"]) == 10 and len(second["Tags"]) == 1 and "NextToken" not in second
    assert {tag["Key"] for tag in first["Tags"] + second["Tags"]} == {f"k{n:02}" for n in range(11)}


def test_unknown_and_malformed_arns(t: Caller) -> None:
    """Rule: an unknown table ARN is ResourceNotFoundException ('ResourcArn', sic); a malformed one invalid."""
    for arn in (ARN + "nope", "arn:aws:dynamodb:eu-west-1:123456789012:table/tagged"):
        error = _error(t, "ListTagsOfResource", ResourceArn=arn)
        assert (error.code, error.message) == ("ResourceNotFoundException",
                                               f"Requested resource not found: ResourcArn: {arn} not found")
    error = _error(t, "TagResource", ResourceArn=ARN + "ab", Tags=_tags(a="b"))
    assert error.message == f"Invalid TableArn: Invalid ResourceArn provided as input {ARN}ab"


@pytest.mark.parametrize(("tags", "message"), [
    ([{"Key": "k" * 129, "Value": "v"}], "The Tag Key provided is invalid, Key: " + "k" * 129),
    ([{"Key": "k", "Value": "v" * 257}], "The Tag Value provided is invalid, Value: " + "v" * 257),
    ([{"Key": "a,b", "Value": "v"}], "The Tag Key provided is invalid, Key: a,b"),
    ([{"Key": "aws:zzz", "Value": "v"}], "Tag Key cannot be prefixed with aws:, Key: aws:zzz"),
    ([{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}],
     "Duplicate Tag Keys provided as input: Duplicate Tag Key found dup"),
])
def test_tag_validation_is_all_or_nothing(t: Caller, tags: list[dict[str, str]], message: str) -> None:
    """Rule: a bad tag fails the whole TagResource with a ValidationException; the good tags are not applied."""
    error = _error(t, "TagResource", ResourceArn=ARN + "tagged", Tags=[{"Key": "good", "Value": "g"}, *tags])
    assert (error.code, error.message) == ("ValidationException", message)
    assert t("ListTagsOfResource", ResourceArn=ARN + "tagged")["Tags"] == []


def test_unicode_tags_are_fine(t: Caller) -> None:
    """Rule: letters of any script, spaces and + - = . _ : / @ are allowed."""
    tags = _tags(ключ="café 表", path="a+b-c=d.e_f:g/h@i")
    t("TagResource", ResourceArn=ARN + "tagged", Tags=tags)
    assert sorted(t("ListTagsOfResource", ResourceArn=ARN + "tagged")["Tags"], key=str) == sorted(tags, key=str)


def test_at_most_50_tags(t: Caller) -> None:
    """Rule: at most 50 tags per table: 'Number of Tags exceed the current limit for the provided ResourceArn'."""
    t("TagResource", ResourceArn=ARN + "tagged", Tags=[{"Key": f"k{n}", "Value": ""} for n in range(50)])
    error = _error(t, "TagResource", ResourceArn=ARN + "tagged", Tags=_tags(one="more"))
    assert (error.code, error.message) == ("ValidationException",
                                           "Number of Tags exceed the current limit for the provided ResourceArn")
    assert len(t("ListTagsOfResource", ResourceArn=ARN + "tagged")["Tags"]) == 10
    error = _error(t, "UntagResource", ResourceArn=ARN + "tagged", TagKeys=[f"k{n}" for n in range(51)])
    assert error.message == "Number of Tags exceed the current limit for the provided ResourceArn"


def test_required_parameters(engine: Engine) -> None:
    """Rule: Tags / TagKeys must be given and non-empty; ResourceArn is required."""
    native = Caller("native", engine)  # boto3 refuses these client-side
    create(native, "tagged")
    assert _error(native, "TagResource", ResourceArn=ARN + "tagged").message == (
        "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
    assert _error(native, "TagResource", ResourceArn=ARN + "tagged", Tags=[]).message == \
        "Atleast one Tag needs to be provided as Input."
    assert _error(native, "UntagResource", ResourceArn=ARN + "tagged", TagKeys=[]).message == \
        "Atleast one Tag Key needs to be provided as Input."
    assert _error(native, "UntagResource", ResourceArn=ARN + "tagged", TagKeys=[""]).message == \
        "The Tag Key provided is invalid, Key: "
    assert _error(native, "ListTagsOfResource").message == "Invalid TableArn"
    assert _error(native, "TagResource", ResourceArn=ARN + "tagged", Tags=[{"Key": "k"}]).message == \
        "The Tag Value provided is invalid, Value: null"


def test_describe_limits(ddb: Caller) -> None:
    """Rule: DescribeLimits answers the region's default account and table throughput quotas."""
    assert ddb("DescribeLimits") == {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
                                     "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}


def test_describe_endpoints(ddb: Caller) -> None:
    """Rule: DescribeEndpoints answers the regional endpoint, cached for 1440 minutes."""
    assert ddb("DescribeEndpoints") == {"Endpoints": [{"Address": "dynamodb.us-east-1.amazonaws.com",
                                                       "CachePeriodInMinutes": 1440}]}
