"""IAM-style identity policies: real policy documents evaluated against requests on a real Engine, and a
multi-tenant design enforced over HTTP with real boto3 clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dynamokit import DynamoDBError, Engine
from dynamokit.server._access import PolicyError, Principal, authorize, tenant_policy
from dynamokit.server._auth import Authenticator, AuthorizingBackend, parse_credentials
from dynamokit.server._http import Server

from .test_auth import client, code_of, items_of

ACCOUNT = "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/tbl"


def policy(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {**statement, "Condition": condition} if condition else statement


def deny(action: Any, resource: Any = "*", **condition: Any) -> dict[str, Any]:
    return {**allow(action, resource, **condition), "Effect": "Deny"}


def user(*documents: dict[str, Any], name: str = "alice", tags: dict[str, str] | None = None) -> Principal:
    return Principal.with_policies(name, ACCOUNT, tags or {}, documents)


@pytest.fixture
def db(engine: Engine) -> Engine:
    """Table `tbl` (pk, sk) with a GSI `by_owner` (owner, sk) and a stream, holding items of users a and b."""
    engine.call("CreateTable", {
        "TableName": "tbl", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "owner")],
        "GlobalSecondaryIndexes": [{"IndexName": "by_owner", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                    "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"},
                                                  {"AttributeName": "sk", "KeyType": "RANGE"}]}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}})
    for pk in ("alice", "bob"):
        engine.call("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": pk}, "sk": {"S": "1"}, "owner": {"S": pk},
                                                             "score": {"N": "1"}, "secret": {"S": "x"}}})
    return engine


def denied(principal: Principal, engine: Engine, operation: str, request: dict[str, Any]) -> str:
    with pytest.raises(DynamoDBError) as caught:
        authorize(principal, operation, request, engine)
    assert caught.value.code == "AccessDeniedException" and caught.value.status == 400
    return caught.value.message


def get(pk: str, **extra: Any) -> dict[str, Any]:
    return {"TableName": "tbl", "Key": {"pk": {"S": pk}, "sk": {"S": "1"}}, **extra}


def query(pk: str, **extra: Any) -> dict[str, Any]:
    return {"TableName": "tbl", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}},
            **extra}


# -- actions, resources, effects ------------------------------------------------------------------------------

def test_default_deny_message(db: Engine) -> None:
    assert denied(user(), db, "PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}}}) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: dynamodb:PutItem on resource: "
        f"{TABLE_ARN} because no identity-based policy allows the dynamodb:PutItem action")


def test_action_wildcards_are_case_insensitive(db: Engine) -> None:
    reader = user(policy(allow("DynamoDB:get*", TABLE_ARN)))
    authorize(reader, "GetItem", get("alice"), db)
    denied(reader, db, "PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}}})
    denied(reader, db, "Query", query("alice"))


def test_explicit_deny_wins(db: Engine) -> None:
    principal = user(policy(allow("dynamodb:*"), deny("dynamodb:DeleteItem", "arn:aws:dynamodb:*:*:table/tb?")))
    authorize(principal, "GetItem", get("alice"), db)
    assert denied(principal, db, "DeleteItem", get("alice")).endswith(
        f"dynamodb:DeleteItem on resource: {TABLE_ARN} with an explicit deny in an identity-based policy")


def test_index_and_stream_resources(db: Engine) -> None:
    principal = user(policy(allow(["dynamodb:Query", "dynamodb:DescribeStream", "dynamodb:GetShardIterator",
                                   "dynamodb:GetRecords"], [f"{TABLE_ARN}/index/*", f"{TABLE_ARN}/stream/*"])))
    authorize(principal, "Query", {**query("alice"), "IndexName": "by_owner",
                                   "KeyConditionExpression": "#o = :p", "ExpressionAttributeNames": {"#o": "owner"}}, db)
    assert denied(principal, db, "Query", query("alice")).split(" on resource: ")[1].startswith(TABLE_ARN + " ")
    stream = db.call("DescribeTable", {"TableName": "tbl"})["Table"]["LatestStreamArn"]
    shards = db.call("DescribeStream", {"StreamArn": stream})["StreamDescription"]["Shards"]
    authorize(principal, "DescribeStream", {"StreamArn": stream}, db)
    iterator = db.call("GetShardIterator", {"StreamArn": stream, "ShardId": shards[0]["ShardId"],
                                            "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
    authorize(principal, "GetRecords", {"ShardIterator": iterator}, db)
    other = user(policy(allow("dynamodb:*", f"{TABLE_ARN}/index/*")))
    assert f"on resource: {stream} " in denied(other, db, "GetRecords", {"ShardIterator": iterator})


def test_not_action_and_not_resource(db: Engine) -> None:
    principal = user(policy({"Effect": "Allow", "NotAction": "dynamodb:Delete*", "NotResource": f"{TABLE_ARN}/index/*"}))
    authorize(principal, "GetItem", get("alice"), db)
    denied(principal, db, "DeleteItem", get("alice"))
    denied(principal, db, "Query", {**query("alice"), "IndexName": "by_owner"})


def test_account_wide_operations_need_star(db: Engine) -> None:
    denied(user(policy(allow("dynamodb:ListTables", TABLE_ARN))), db, "ListTables", {})
    authorize(user(policy(allow("dynamodb:ListTables"))), "ListTables", {}, db)


# -- condition keys ------------------------------------------------------------------------------------------

OWN_PARTITION = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}


def test_leading_keys_with_username(db: Engine) -> None:
    principal = user(policy(allow("dynamodb:*", TABLE_ARN, **OWN_PARTITION)))
    authorize(principal, "GetItem", get("alice"), db)
    authorize(principal, "Query", query("alice", FilterExpression="score > :s",
                                        ExpressionAttributeValues={":p": {"S": "alice"}, ":s": {"N": "0"}}), db)
    authorize(principal, "Query", {"TableName": "tbl", "KeyConditions": {
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "alice"}]}}}, db)
    authorize(principal, "UpdateItem", get("alice", UpdateExpression="SET score = :v",
                                           ExpressionAttributeValues={":v": {"N": "2"}}), db)
    denied(principal, db, "GetItem", get("bob"))
    denied(principal, db, "Query", query("bob"))
    denied(principal, db, "DeleteItem", get("bob"))
    denied(principal, db, "PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "bob"}, "sk": {"S": "2"}}})
    assert "dynamodb:Scan" in denied(principal, db, "Scan", {"TableName": "tbl"})  # no leading key: fails closed


def test_leading_keys_deny_fails_closed_for_scan(db: Engine) -> None:
    principal = user(policy(allow("dynamodb:*"),
                            deny("dynamodb:*", "*", **{"ForAnyValue:StringNotEquals": {
                                "dynamodb:LeadingKeys": ["${aws:username}"]}})))
    authorize(principal, "GetItem", get("alice"), db)
    assert "explicit deny" in denied(principal, db, "Scan", {"TableName": "tbl"})
    assert "explicit deny" in denied(principal, db, "GetItem", get("bob"))


def test_string_like_and_principal_tags(db: Engine) -> None:
    condition = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/team}#*"]}}
    tagged = user(policy(allow("dynamodb:GetItem", TABLE_ARN, **condition)), tags={"team": "red"})
    authorize(tagged, "GetItem", get("red#1"), db)
    denied(tagged, db, "GetItem", get("blue#1"))
    denied(tagged, db, "GetItem", get("red"))
    untagged = user(policy(allow("dynamodb:GetItem", TABLE_ARN, **condition)))
    denied(untagged, db, "GetItem", get("red#1"))  # an undefined variable matches nothing


def test_variables_only_in_2012_policies(db: Engine) -> None:
    old = user(policy(allow("dynamodb:GetItem", TABLE_ARN, **OWN_PARTITION), version="2008-10-17"))
    denied(old, db, "GetItem", get("alice"))
    authorize(old, "GetItem", get("${aws:username}"), db)


ATTRIBUTES_ONLY = {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "score"]},
                   "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}


def test_attributes_and_select(db: Engine) -> None:
    principal = user(policy(allow("dynamodb:*", TABLE_ARN, **ATTRIBUTES_ONLY)))
    authorize(principal, "GetItem", get("alice", ProjectionExpression="pk, #s", ExpressionAttributeNames={"#s": "score"}), db)
    authorize(principal, "GetItem", get("alice", AttributesToGet=["score"]), db)
    authorize(principal, "Query", query("alice", ProjectionExpression="score"), db)
    authorize(principal, "PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"},
                                                                   "score": {"N": "3"}}}, db)
    authorize(principal, "UpdateItem", get("alice", UpdateExpression="ADD score :v",
                                           ExpressionAttributeValues={":v": {"N": "1"}}), db)
    denied(principal, db, "GetItem", get("alice", ProjectionExpression="secret"))
    denied(principal, db, "GetItem", get("alice"))  # whole items: attributes unknown, fails closed
    denied(principal, db, "Query", query("alice"))  # Select is ALL_ATTRIBUTES
    denied(principal, db, "Query", query("alice", Select="ALL_ATTRIBUTES", ProjectionExpression="score"))
    denied(principal, db, "PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"},
                                                                    "secret": {"S": "y"}}})
    denied(principal, db, "UpdateItem", get("alice", UpdateExpression="SET secret = :v",
                                            ExpressionAttributeValues={":v": {"S": "y"}}))


def test_select_count_only(db: Engine) -> None:
    principal = user(policy(allow("dynamodb:Query", TABLE_ARN, StringEquals={"dynamodb:Select": "COUNT"})))
    authorize(principal, "Query", query("alice", Select="COUNT"), db)
    denied(principal, db, "Query", query("alice"))


def test_return_values(db: Engine) -> None:
    principal = user(policy(allow("dynamodb:UpdateItem", TABLE_ARN, StringEqualsIfExists={
        "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD"]})))
    update = get("alice", UpdateExpression="SET score = :v", ExpressionAttributeValues={":v": {"N": "2"}})
    authorize(principal, "UpdateItem", update, db)
    authorize(principal, "UpdateItem", {**update, "ReturnValues": "UPDATED_OLD"}, db)
    denied(principal, db, "UpdateItem", {**update, "ReturnValues": "ALL_NEW"})


def test_null_and_enclosing_operation(db: Engine) -> None:
    only_in_transactions = user(policy(allow("dynamodb:PutItem", TABLE_ARN, Null={
        "dynamodb:EnclosingOperation": "false"})))
    put = {"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}}}
    denied(only_in_transactions, db, "PutItem", put)
    authorize(only_in_transactions, "TransactWriteItems", {"TransactItems": [{"Put": put}]}, db)


@pytest.mark.parametrize("document, fragment", [
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]}, "Principal"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}, "Resource"),
    ({"Version": "2012-10-17", "Statement": [allow("*", "*", NumericLessThan={"a": "1"})]}, "unsupported"),
    ({"Version": "2012-10-17", "Statement": [allow("*", "*", **{"Each:StringEquals": {"a": "1"}})]}, "qualifier"),
    ({"Version": "2024-01-01", "Statement": [allow("*")]}, "Version"),
    ({"Version": "2012-10-17", "Statement": []}, "Statement"),
    ("{not json", "JSON"),
])
def test_invalid_policies_are_rejected(document: Any, fragment: str) -> None:
    with pytest.raises(PolicyError, match=fragment):
        user(document)


# -- every item of batches and transactions ------------------------------------------------------------------

def test_each_item_of_batches_and_transactions(db: Engine) -> None:
    principal = user(policy(allow(["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:GetItem",
                                   "dynamodb:PutItem", "dynamodb:UpdateItem"], TABLE_ARN, **OWN_PARTITION)))
    key = get("alice")["Key"]
    foreign = get("bob")["Key"]
    authorize(principal, "BatchGetItem", {"RequestItems": {"tbl": {"Keys": [key]}}}, db)
    denied(principal, db, "BatchGetItem", {"RequestItems": {"tbl": {"Keys": [key, foreign]}}})
    authorize(principal, "BatchWriteItem", {"RequestItems": {"tbl": [{"PutRequest": {"Item": key}}]}}, db)
    assert "dynamodb:BatchWriteItem" in denied(principal, db, "BatchWriteItem", {"RequestItems": {"tbl": [
        {"PutRequest": {"Item": key}}, {"DeleteRequest": {"Key": foreign}}]}})
    authorize(principal, "TransactGetItems", {"TransactItems": [{"Get": get("alice")}]}, db)
    denied(principal, db, "TransactGetItems", {"TransactItems": [{"Get": get("alice")}, {"Get": get("bob")}]})
    put = {"Put": {"TableName": "tbl", "Item": key}}
    authorize(principal, "TransactWriteItems", {"TransactItems": [put]}, db)
    assert "dynamodb:DeleteItem" in denied(principal, db, "TransactWriteItems", {"TransactItems": [
        put, {"Delete": get("alice")}]})  # the action of each item, here not granted
    assert "dynamodb:ConditionCheckItem" in denied(principal, db, "TransactWriteItems", {"TransactItems": [
        put, {"ConditionCheck": {**get("alice"), "ConditionExpression": "attribute_exists(pk)"}}]})
    denied(principal, db, "TransactWriteItems", {"TransactItems": [put, {"Update": get(
        "bob", UpdateExpression="SET score = :v", ExpressionAttributeValues={":v": {"N": "9"}})}]})
    denied(principal, db, "BatchWriteItem", {"RequestItems": "garbage"})  # unreadable: asks for "*"


# -- the multi-tenant design, over HTTP ----------------------------------------------------------------------

TENANT_KEYS = {"t1": ("AKIDT1", "secret-one"), "t2": ("AKIDT2", "secret-two")}


@pytest.fixture
def tenants(engine: Engine) -> Iterator[tuple[str, Engine]]:
    engine.call("CreateTable", {
        "TableName": "orders", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "tenant", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "tenant", "AttributeType": "S"},
                                 {"AttributeName": "id", "AttributeType": "S"}]})
    for tenant in TENANT_KEYS:
        for n in range(3):
            engine.call("PutItem", {"TableName": "orders", "Item": {"tenant": {"S": tenant}, "id": {"S": str(n)},
                                                                     "amount": {"N": str(n)}}})
    document = tenant_policy("orders")
    principals = [{"name": f"app-{tenant}", "access_key_id": key, "secret_access_key": secret,
                   "tags": {"tenant": tenant}, "policies": [document]}
                  for tenant, (key, secret) in TENANT_KEYS.items()]
    backend = AuthorizingBackend(engine, Authenticator(parse_credentials({"principals": principals}), "us-east-1"))
    with Server(backend, port=0) as server:
        yield server.url, engine


def _key(tenant: str, n: int) -> dict[str, Any]:
    return {"tenant": {"S": tenant}, "id": {"S": str(n)}}


def _tenant_calls(tenant: str, other: str) -> list[tuple[str, dict[str, Any]]]:
    """The data-plane calls of one tenant aimed at `other`'s partition (its own when other == tenant)."""
    return [
        ("get_item", {"TableName": "orders", "Key": _key(other, 0)}),
        ("query", {"TableName": "orders", "KeyConditionExpression": "tenant = :t",
                   "ExpressionAttributeValues": {":t": {"S": other}}}),
        ("batch_get_item", {"RequestItems": {"orders": {"Keys": [_key(tenant, 1), _key(other, 2)]}}}),
        ("put_item", {"TableName": "orders", "Item": {**_key(other, 7), "amount": {"N": "70"}}}),
        ("update_item", {"TableName": "orders", "Key": _key(other, 1), "UpdateExpression": "SET amount = :v",
                         "ExpressionAttributeValues": {":v": {"N": "99"}}}),
        ("batch_write_item", {"RequestItems": {"orders": [{"PutRequest": {"Item": {**_key(tenant, 8)}}},
                                                          {"DeleteRequest": {"Key": _key(other, 2)}}]}}),
        ("transact_write_items", {"TransactItems": [
            {"Put": {"TableName": "orders", "Item": {**_key(tenant, 9), "amount": {"N": "9"}}}},
            {"Update": {"TableName": "orders", "Key": _key(other, 0), "UpdateExpression": "SET amount = :v",
                        "ExpressionAttributeValues": {":v": {"N": "0"}}}}]}),
        ("delete_item", {"TableName": "orders", "Key": _key(other, 0)}),
    ]


def test_tenants_reach_only_their_own_partitions(tenants: tuple[str, Engine]) -> None:
    url, engine = tenants
    clients = {tenant: client(url, *keys) for tenant, keys in TENANT_KEYS.items()}
    before = items_of(engine, "orders")
    for tenant, other in (("t1", "t2"), ("t2", "t1")):
        for method, request in _tenant_calls(tenant, other):
            code, message, status = code_of(getattr(clients[tenant], method), **request)
            assert (code, status) == ("AccessDeniedException", 400), (tenant, method)
            assert message.startswith(f"User: arn:aws:iam::{ACCOUNT}:user/app-{tenant} is not authorized")
        assert code_of(clients[tenant].scan, TableName="orders")[0] == "AccessDeniedException"
    assert items_of(engine, "orders") == before  # every cross-tenant attempt left the data unchanged
    for tenant in TENANT_KEYS:
        calls = dict(_tenant_calls(tenant, tenant))
        own = clients[tenant]
        assert own.get_item(**calls["get_item"])["Item"]["amount"] == {"N": "0"}
        assert [i["tenant"]["S"] for i in own.query(**calls["query"])["Items"]] == [tenant] * 3
        got = own.batch_get_item(**calls["batch_get_item"])["Responses"]["orders"]
        assert {i["tenant"]["S"] for i in got} == {tenant}
        own.put_item(**calls["put_item"])
        own.update_item(**calls["update_item"])
        own.batch_write_item(**calls["batch_write_item"])
        own.transact_write_items(**calls["transact_write_items"])
    after = {(i["tenant"]["S"], i["id"]["S"]): i.get("amount", {}).get("N") for i in items_of(engine, "orders")}
    assert after == {(t, n): v for t in TENANT_KEYS for n, v in
                     (("0", "0"), ("1", "99"), ("7", "70"), ("8", None), ("9", "9"))}


def test_tenant_policy_document() -> None:
    document = tenant_policy("orders", region="eu-west-1", account_id=ACCOUNT, separator="#", indexes=False)
    assert document == {"Version": "2012-10-17", "Statement": [{
        "Sid": "TenantPartitionsOnly", "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                   "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                   "dynamodb:ConditionCheckItem"],
        "Resource": [f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders"],
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/tenant}#*"]}}}]}


def test_tenant_policy_with_prefixed_keys_and_indexes(engine: Engine) -> None:
    engine.call("CreateTable", {
        "TableName": "apps", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "gpk", "AttributeType": "S"}],
        "GlobalSecondaryIndexes": [{"IndexName": "by_gpk", "Projection": {"ProjectionType": "ALL"},
                                    "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}]}]})
    principal = user(tenant_policy("apps", separator="#"), tags={"tenant": "t1"})
    authorize(principal, "GetItem", {"TableName": "apps", "Key": {"pk": {"S": "t1#user#1"}}}, engine)
    denied(principal, engine, "GetItem", {"TableName": "apps", "Key": {"pk": {"S": "t2#user#1"}}})
    index_query = {"TableName": "apps", "IndexName": "by_gpk", "KeyConditionExpression": "gpk = :g"}
    authorize(principal, "Query", {**index_query, "ExpressionAttributeValues": {":g": {"S": "t1#x"}}}, engine)
    denied(principal, engine, "Query", {**index_query, "ExpressionAttributeValues": {":g": {"S": "t2#x"}}})


def test_partiql_actions(db: Engine) -> None:
    """PartiQL statements are authorized as dynamodb:PartiQLSelect/Insert/Update/Delete on their table or index,
    statement by statement in batches and transactions; LeadingKeys conditions fail closed for them."""
    reader = user(policy(allow("dynamodb:PartiQLSelect", [TABLE_ARN, f"{TABLE_ARN}/index/*"])))
    authorize(reader, "ExecuteStatement", {"Statement": "SELECT * FROM tbl WHERE pk = 'alice'"}, db)
    authorize(reader, "ExecuteStatement", {"Statement": 'SELECT * FROM "tbl"."by_owner" WHERE owner = \'a\''}, db)
    assert "dynamodb:PartiQLInsert" in denied(reader, db, "ExecuteStatement", {
        "Statement": "INSERT INTO tbl VALUE {'pk': 'x', 'sk': '1'}"})
    assert "dynamodb:PartiQLDelete" in denied(reader, db, "BatchExecuteStatement", {"Statements": [
        {"Statement": "SELECT * FROM tbl WHERE pk = 'alice'"},
        {"Statement": "DELETE FROM tbl WHERE pk = 'alice' AND sk = '1'"}]})
    tenant = user(policy(allow("dynamodb:PartiQL*", TABLE_ARN,
                               **{"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["alice"]}})))
    denied(tenant, db, "ExecuteStatement", {"Statement": "SELECT * FROM tbl WHERE pk = 'alice'"})
