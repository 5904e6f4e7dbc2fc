"""Secondary indexes: GSIs and LSIs, projections, sparse entries, index reads and online index creation."""

from __future__ import annotations

from typing import Any

import pytest

from dynamokit import DynamoDBError, Engine

from .conftest import Caller, create, expect_error


@pytest.fixture
def t(ddb: Caller) -> Caller:
    """Table idx: pk/sk; GSI by_owner (owner, created) KEYS_ONLY-plus-title; LSI by_rank (pk, rank) ALL."""
    create(ddb, "idx", range_key="sk", index_types={"created": "N", "rank": "N"},
           GlobalSecondaryIndexes=[{
               "IndexName": "by_owner",
               "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"},
                             {"AttributeName": "created", "KeyType": "RANGE"}],
               "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title"]}}],
           LocalSecondaryIndexes=[{
               "IndexName": "by_rank",
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "rank", "KeyType": "RANGE"}],
               "Projection": {"ProjectionType": "ALL"}}])
    for n in range(6):
        item = {"pk": {"S": "p"}, "sk": {"S": f"s{n}"}, "title": {"S": f"t{n}"}, "body": {"S": "b"},
                "rank": {"N": str(10 - n)}, "created": {"N": str(n)}}
        if n % 3 != 2:  # every third item has no owner: absent from the sparse GSI
            item["owner"] = {"S": "alice" if n % 2 == 0 else "bob"}
        ddb("PutItem", TableName="idx", Item=item)
    return ddb


def test_gsi_query_returns_projection_in_index_order(t: Caller) -> None:
    """Rule: a GSI query returns only projected attributes (keys + INCLUDE), sorted by the index sort key."""
    out = t("Query", TableName="idx", IndexName="by_owner", KeyConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": {"S": "alice"}})
    assert [i["created"]["N"] for i in out["Items"]] == ["0", "4"]
    assert set(out["Items"][0]) == {"pk", "sk", "owner", "created", "title"}


def test_sparse_index_scan(t: Caller) -> None:
    """Rule: items without the index key attributes are not in the index."""
    out = t("Scan", TableName="idx", IndexName="by_owner")
    assert out["Count"] == 4


def test_index_paging_carries_table_and_index_keys(t: Caller) -> None:
    """Rule: LastEvaluatedKey of an index read holds the table key and the index key."""
    out = t("Query", TableName="idx", IndexName="by_rank", KeyConditionExpression="pk = :p", Limit=2,
            ExpressionAttributeValues={":p": {"S": "p"}})
    assert set(out["LastEvaluatedKey"]) == {"pk", "sk", "rank"}
    assert [i["rank"]["N"] for i in out["Items"]] == ["5", "6"]
    rest = t("Query", TableName="idx", IndexName="by_rank", KeyConditionExpression="pk = :p",
             ExclusiveStartKey=out["LastEvaluatedKey"], ExpressionAttributeValues={":p": {"S": "p"}})
    assert [i["rank"]["N"] for i in rest["Items"]] == ["7", "8", "9", "10"]


def test_consistent_read_rejected_on_gsi(t: Caller) -> None:
    """Rule: GSIs are eventually consistent; ConsistentRead=true on a GSI is a ValidationException."""
    error = expect_error(t, "Query", TableName="idx", IndexName="by_owner", ConsistentRead=True,
                   KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
                   ExpressionAttributeValues={":o": {"S": "alice"}})
    assert error.message == "Consistent reads are not supported on global secondary indexes"


def test_index_key_type_checked_on_write(t: Caller) -> None:
    """Rule: an index key attribute of the wrong type fails the base-table write."""
    error = expect_error(t, "PutItem", TableName="idx", Item={"pk": {"S": "p"}, "sk": {"S": "x"}, "created": {"S": "no"},
                                                        "owner": {"S": "a"}})
    assert error.message == ("One or more parameter values were invalid: Type mismatch for Index Key created "
                             "Expected: N Actual: S IndexName: by_owner")


def test_index_follows_updates_and_deletes(t: Caller) -> None:
    """Index entries move when an index key changes and vanish when the item or the key attribute goes."""
    key = {"pk": {"S": "p"}, "sk": {"S": "s0"}}
    t("UpdateItem", TableName="idx", Key=key, UpdateExpression="SET #o = :b", ExpressionAttributeNames={"#o": "owner"},
      ExpressionAttributeValues={":b": {"S": "bob"}})
    bob = t("Query", TableName="idx", IndexName="by_owner", KeyConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": {"S": "bob"}})
    assert [i["sk"]["S"] for i in bob["Items"]] == ["s0", "s1", "s3", "s5"][:bob["Count"]]
    t("UpdateItem", TableName="idx", Key=key, UpdateExpression="REMOVE #o", ExpressionAttributeNames={"#o": "owner"})
    t("DeleteItem", TableName="idx", Key={"pk": {"S": "p"}, "sk": {"S": "s1"}})
    assert t("Scan", TableName="idx", IndexName="by_owner")["Count"] == 2


def test_describe_reports_indexes(t: Caller) -> None:
    """DescribeTable lists each index with its key, projection, status, item count and ARN."""
    table = t("DescribeTable", TableName="idx")["Table"]
    gsi = table["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "by_owner" and gsi["IndexStatus"] == "ACTIVE" and gsi["ItemCount"] == 4
    assert gsi["IndexArn"].endswith("/index/by_owner")
    assert table["LocalSecondaryIndexes"][0]["ItemCount"] == 6


def test_gsi_added_later_is_backfilled(engine: Engine) -> None:
    """A GSI added by UpdateTable to a populated table becomes ACTIVE and answers like one declared at creation."""
    items = 100_000
    for name, gsi in (("later", None), ("early", True)):
        request: dict[str, Any] = {
            "TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}
        if gsi:
            request["AttributeDefinitions"].append({"AttributeName": "g", "AttributeType": "S"})
            request["GlobalSecondaryIndexes"] = [{"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                                  "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}]
        engine.call("CreateTable", request)
    with engine.storage.write():  # load both tables in one transaction (fast)
        for n in range(items):
            item = {"pk": {"S": f"k{n}"}, "g": {"S": f"g{n % 500}"}}
            engine.call("PutItem", {"TableName": "later", "Item": item})
            engine.call("PutItem", {"TableName": "early", "Item": item})
    out = engine.call("UpdateTable", {
        "TableName": "later", "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}}]})
    assert out["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"
    engine.call("PutItem", {"TableName": "later", "Item": {"pk": {"S": "during"}, "g": {"S": "g7"}}})
    engine.call("PutItem", {"TableName": "early", "Item": {"pk": {"S": "during"}, "g": {"S": "g7"}}})
    engine.wait_for_backfills(timeout=120)
    gsi = engine.call("DescribeTable", {"TableName": "later"})["Table"]["GlobalSecondaryIndexes"][0]
    assert gsi["IndexStatus"] == "ACTIVE" and "Backfilling" not in gsi
    for g in ("g0", "g7", "g499"):
        answers = [engine.call("Query", {"TableName": name, "IndexName": "by_g", "KeyConditionExpression": "g = :g",
                                         "ExpressionAttributeValues": {":g": {"S": g}}})["Items"]
                   for name in ("later", "early")]
        assert answers[0] == answers[1] and len(answers[0]) >= 200


def test_query_on_backfilling_index_rejected(engine: Engine) -> None:
    """Rule: a GSI that is still backfilling cannot be read."""
    engine.call("CreateTable", {"TableName": "backfilling", "BillingMode": "PAY_PER_REQUEST",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
    with engine.storage.write():
        engine.call("UpdateTable", {
            "TableName": "backfilling", "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}}]})
        with pytest.raises(DynamoDBError) as caught:
            engine.call("Query", {"TableName": "backfilling", "IndexName": "by_g", "KeyConditionExpression": "g = :g",
                                  "ExpressionAttributeValues": {":g": {"S": "x"}}})
    assert caught.value.message == "Cannot read from backfilling global secondary index: by_g"
    engine.wait_for_backfills(timeout=60)


def test_delete_gsi(t: Caller) -> None:
    """UpdateTable can delete a GSI; its entries go with it."""
    out = t("UpdateTable", TableName="idx", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_owner"}}])
    assert "GlobalSecondaryIndexes" not in out["TableDescription"]
    assert expect_error(t, "Query", TableName="idx", IndexName="by_owner", KeyConditionExpression="#o = :o",
                  ExpressionAttributeNames={"#o": "owner"},
                  ExpressionAttributeValues={":o": {"S": "a"}}).code == "ValidationException"


@pytest.fixture
def multi(ddb: Caller) -> Caller:
    """GSI with a multi-attribute key: (region, team) HASH, (level S, score N) RANGE."""
    create(ddb, "multi", index_types={"score": "N"}, GlobalSecondaryIndexes=[{
        "IndexName": "by_team", "Projection": {"ProjectionType": "ALL"},
        "KeySchema": [{"AttributeName": "region", "KeyType": "HASH"}, {"AttributeName": "team", "KeyType": "HASH"},
                      {"AttributeName": "level", "KeyType": "RANGE"}, {"AttributeName": "score", "KeyType": "RANGE"}]}])
    rows = [("1", "eu", "red", "a", 100), ("2", "eu", "red", "a", 200), ("3", "eu", "red", "a", 300),
            ("4", "eu", "red", "b", 150), ("5", "eu", "blue", "a", 250), ("6", "eu", "red", "a\x00z", 5),
            ("7", "eu", "red", "a", -7)]
    for pk, region, team, level, score in rows:
        ddb("PutItem", TableName="multi", Item={"pk": {"S": pk}, "region": {"S": region}, "team": {"S": team},
                                                "level": {"S": level}, "score": {"N": str(score)}})
    ddb("PutItem", TableName="multi", Item={"pk": {"S": "8"}, "region": {"S": "eu"}, "team": {"S": "red"}})
    return ddb


@pytest.mark.parametrize("condition, values, expected", [
    ("", {}, ["7", "1", "2", "3", "6", "4"]),
    ("AND #l = :a", {":a": {"S": "a"}}, ["7", "1", "2", "3"]),
    ("AND #l > :a", {":a": {"S": "a"}}, ["6", "4"]),
    ("AND #l = :a AND score > :n", {":a": {"S": "a"}, ":n": {"N": "100"}}, ["2", "3"]),
    ("AND #l = :a AND score BETWEEN :n AND :m", {":a": {"S": "a"}, ":n": {"N": "-10"}, ":m": {"N": "200"}},
     ["7", "1", "2"]),
    ("AND #l = :a AND score <= :n", {":a": {"S": "a"}, ":n": {"N": "100"}}, ["7", "1"]),
    ("AND begins_with(#l, :a)", {":a": {"S": "a"}}, ["7", "1", "2", "3", "6"]),
])
def test_multi_attribute_gsi_query(multi: Caller, condition: str, values: dict[str, Any], expected: list[str]) -> None:
    """Rule: multi-attribute GSI keys: every partition attribute by equality; sort attributes left to right,
    equality on a prefix and an optional range operator on the last one; results sorted by the tuple."""
    out = multi("Query", TableName="multi", IndexName="by_team",
                KeyConditionExpression=f"#r = :r AND team = :t {condition}",
                ExpressionAttributeNames={"#r": "region", **({"#l": "level"} if "#l" in condition else {})},
                ExpressionAttributeValues={":r": {"S": "eu"}, ":t": {"S": "red"}, **values})
    assert [i["pk"]["S"] for i in out["Items"]] == expected


def test_multi_attribute_gsi_rules(multi: Caller) -> None:
    """Rule: a skipped sort attribute or a range operator before the last given one is a ValidationException."""
    base = {"TableName": "multi", "IndexName": "by_team", "ExpressionAttributeNames": {"#r": "region"}}
    error = expect_error(multi, "Query", KeyConditionExpression="#r = :r AND team = :t AND score > :n",
                   ExpressionAttributeValues={":r": {"S": "eu"}, ":t": {"S": "red"}, ":n": {"N": "1"}}, **base)
    assert "level" in error.message
    error = expect_error(multi, "Query", KeyConditionExpression="#r = :r AND score > :n",
                   ExpressionAttributeValues={":r": {"S": "eu"}, ":n": {"N": "1"}}, **base)
    assert "team" in error.message
    table = multi("DescribeTable", TableName="multi")["Table"]
    assert len(table["GlobalSecondaryIndexes"][0]["KeySchema"]) == 4


def test_write_validated_before_an_index_appeared_still_indexes(tmp_path: Any) -> None:
    """A write validated against the catalog before another process added a GSI is re-validated inside its
    transaction, so the new index never misses it (no stale or missing index entry)."""
    from dynamokit._engine import items

    path = str(tmp_path / "race.db")
    with Engine(path) as first, Engine(path) as second:
        first.call("CreateTable", {"TableName": "race", "BillingMode": "PAY_PER_REQUEST",
                                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                   "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        action = items.prepare_put(first, {"TableName": "race", "Item": {"pk": {"S": "a"}, "g": {"S": "x"}}})
        second.call("UpdateTable", {
            "TableName": "race", "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}}]})
        second.wait_for_backfills(timeout=60)
        items.run(first, action)
        out = second.call("Query", {"TableName": "race", "IndexName": "by_g", "KeyConditionExpression": "g = :g",
                                    "ExpressionAttributeValues": {":g": {"S": "x"}}})
        assert [i["pk"]["S"] for i in out["Items"]] == ["a"]


def test_item_collection_metrics(t: Caller) -> None:
    """Rule: ReturnItemCollectionMetrics=SIZE on a table with LSIs returns the item collection's key and a size
    estimate range in GB, for single writes, batch writes and transactions."""
    item = {"pk": {"S": "p"}, "sk": {"S": "new"}, "rank": {"N": "1"}}
    out = t("PutItem", TableName="idx", Item=item, ReturnItemCollectionMetrics="SIZE")
    assert out["ItemCollectionMetrics"] == {"ItemCollectionKey": {"pk": {"S": "p"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
    out = t("BatchWriteItem", RequestItems={"idx": [{"DeleteRequest": {"Key": {"pk": {"S": "p"}, "sk": {"S": "new"}}}}]},
            ReturnItemCollectionMetrics="SIZE")
    assert out["ItemCollectionMetrics"]["idx"][0]["ItemCollectionKey"] == {"pk": {"S": "p"}}
    out = t("TransactWriteItems", TransactItems=[{"Put": {"TableName": "idx", "Item": item}}],
            ReturnItemCollectionMetrics="SIZE")
    assert out["ItemCollectionMetrics"]["idx"][0]["SizeEstimateRangeGB"] == [0.0, 1.0]
    assert "ItemCollectionMetrics" not in t("PutItem", TableName="idx", Item=item)


def test_keys_only_lsi_fetches_unprojected_attributes(ddb: Caller) -> None:
    """Rule: querying a local secondary index for attributes it does not project fetches them from the table
    (AttributesToGet or ProjectionExpression), charged for the table item."""
    create(ddb, "lsi", range_key="sk", LocalSecondaryIndexes=[{
        "IndexName": "by_l", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                           {"AttributeName": "l", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    ddb("PutItem", TableName="lsi", Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "l": {"S": "x"},
                                          "v": {"S": "x" * 5000}})
    query = {"TableName": "lsi", "IndexName": "by_l", "KeyConditionExpression": "pk = :p",
             "ExpressionAttributeValues": {":p": {"S": "p"}}, "ReturnConsumedCapacity": "TOTAL"}
    legacy = {"TableName": "lsi", "IndexName": "by_l", "ReturnConsumedCapacity": "TOTAL",
              "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}}}
    out = ddb("Query", **legacy, AttributesToGet=["v", "l"])
    assert out["Items"] == [{"v": {"S": "x" * 5000}, "l": {"S": "x"}}]
    assert out["ConsumedCapacity"]["CapacityUnits"] == 2.0 / 2
    out = ddb("Query", **query, ProjectionExpression="#v", ExpressionAttributeNames={"#v": "v"})
    assert out["Items"] == [{"v": {"S": "x" * 5000}}]
    out = ddb("Query", **legacy, AttributesToGet=["sk"])
    assert out["Items"] == [{"sk": {"S": "s"}}] and out["ConsumedCapacity"]["CapacityUnits"] == 0.5
