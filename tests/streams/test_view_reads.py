"""View reads (key-condition queries) and the capacity a view consumes, checked against DynamoDB's rules:
1 WCU per KB written (the larger of old and new item), failed conditional writes still consume, transactions
cost double; strongly consistent reads 1 RCU per 4 KB (Query: of the total read, per page)."""

from __future__ import annotations

import math

import pytest

from dynamokit import Engine
from dynamokit._engine.values import item_size
from dynamokit.model._values import to_item
from dynamokit.streams import View
from dynamokit.streams._views import Capacity, encode_version

KB = 1024


def stored_size(key: dict[str, str], attributes: dict[str, object], version: int) -> int:
    """DynamoDB's size of the item a View stores for `upsert(key, attributes, version)`."""
    return item_size({**to_item(attributes), **to_item(key), "_version": {"S": encode_version(version)}})


def padded(key: dict[str, str], size: int, version: int = 1) -> dict[str, str]:
    """Attributes making the stored item exactly `size` bytes."""
    base = stored_size(key, {"text": ""}, version)
    return {"text": "x" * (size - base)}


def written(engine: Engine) -> float:
    return engine.usage.snapshot()["write"].get("views", 0.0)


def test_query_sort_conditions_order_and_tombstones(view: View) -> None:
    for n in range(6):
        view.upsert({"pk": "feed", "sk": f"POST#{n}"}, {"n": n}, 1)
    view.upsert({"pk": "feed", "sk": "STATS"}, {"n": -1}, 1)
    view.upsert({"pk": "other", "sk": "POST#9"}, {"n": 9}, 1)
    view.delete({"pk": "feed", "sk": "POST#2"}, 2)

    def ns(**kwargs: object) -> list[int]:
        return [item["n"] for item in view.query("feed", **kwargs)]  # type: ignore[arg-type]

    assert ns(prefix="POST#") == [0, 1, 3, 4, 5]
    assert ns(prefix="POST#", descending=True, limit=2) == [5, 4]
    assert ns(sort=("between", ("POST#1", "POST#4"))) == [1, 3, 4]
    assert ns(sort=(">=", "POST#4")) == [4, 5, -1]
    assert ns(sort=("<", "POST#1")) == [0]
    assert ns(sort=("=", "STATS")) == [-1]
    # the tombstone is skipped, not counted: three live items although the first pages hold a tombstone
    assert ns(sort=(">=", "POST#1"), limit=3) == [1, 3, 4]
    first = view.query("feed", limit=1)[0]
    assert first == {"pk": "feed", "sk": "POST#0", "n": 0, "_version": 1} == view.get({"pk": "feed",
                                                                                     "sk": "POST#0"})
    assert view.query("nobody") == []
    with pytest.raises(ValueError):
        view.query("feed", sort=("~", "x"))
    with pytest.raises(ValueError):
        view.query("feed", sort=("=", "x"), prefix="y")


def test_query_follows_pages_past_one_megabyte(engine: Engine, view: View) -> None:
    size = 300 * KB  # four items, 1.2 MB: more than one page
    for n in range(4):
        key = {"pk": "big", "sk": f"{n}"}
        view.upsert(key, padded(key, size), 1)
    first_page = engine.call("Query", {"TableName": "views", "KeyConditionExpression": "pk = :p",
                                       "ExpressionAttributeValues": {":p": {"S": "big"}}})
    assert "LastEvaluatedKey" in first_page
    assert view.consumed.read == 0
    assert [item["sk"] for item in view.query("big")] == ["0", "1", "2", "3"]
    # The first page stops past 1 MB (all four items, 1200 KB: 300 RCU) with a LastEvaluatedKey; the second
    # reads nothing and still costs the minimum, 1 RCU.
    assert view.consumed.read == 4 * size / (4 * KB) + 1


def test_write_capacity_by_dynamodb_rules(engine: Engine, view: View) -> None:
    small, large = {"pk": "a", "sk": "-"}, {"pk": "b", "sk": "-"}
    assert view.consumed == Capacity()
    assert view.upsert(small, {"n": 1}, 1)  # under 1 KB: 1 WCU
    assert view.consumed.write == 1
    attributes = padded(large, int(2.5 * KB))
    assert view.upsert(large, attributes, 1)  # 2.5 KB: 3 WCU
    assert view.consumed.write == 1 + 3
    assert not view.upsert(large, {"n": 0}, 1)  # stale: the failed condition still costs the stored 2.5 KB
    assert view.consumed.write == 1 + 3 + 3
    assert view.delete(large, 2)  # a tombstone replacing 2.5 KB costs the larger, old item: 3 WCU
    assert view.consumed.write == 1 + 3 + 3 + 3
    assert view.consumed.read == 0
    assert view.consumed.write == written(engine)  # what the engine charged the table


def test_transactions_and_counters_cost_double(engine: Engine, view: View) -> None:
    with view.transaction() as tx:  # two small puts: 2 x 1 WCU, doubled
        tx.upsert({"pk": "a", "sk": "-"}, {"n": 1}, 5)
        tx.upsert({"pk": "b", "sk": "-"}, {"n": 1}, 5)
    assert view.consumed.write == 4
    with view.transaction() as tx:  # one stale part: the cancelled attempt costs 2 x 2, the retry 1 x 2
        tx.upsert({"pk": "a", "sk": "-"}, {"n": 2}, 4)
        tx.upsert({"pk": "c", "sk": "-"}, {"n": 1}, 5)
    assert view.consumed.write == 4 + 4 + 2
    assert view.add({"pk": "t", "sk": "-"}, "total", 1, "e1")  # event marker + counter: 2 x 2
    assert not view.add({"pk": "t", "sk": "-"}, "total", 1, "e1")  # cancelled, nothing to retry: 2 x 2
    assert view.consumed.write == 4 + 4 + 2 + 4 + 4
    assert view.consumed.write == written(engine)


def test_read_capacity_strongly_consistent(engine: Engine, view: View) -> None:
    key = {"pk": "a", "sk": "-"}
    view.upsert(key, padded(key, 5 * KB), 1)
    assert view.get(key) is not None  # 5 KB: 2 RCU
    assert view.consumed.read == 2
    assert view.get({"pk": "missing", "sk": "-"}) is None  # a missing item still costs 1
    assert view.consumed.read == 3
    view.upsert({"pk": "a", "sk": "~"}, {"n": 1}, 1)
    total = 5 * KB + stored_size({"pk": "a", "sk": "~"}, {"n": 1}, 1)
    assert len(view.query("a")) == 2  # a Query rounds the sum of the sizes read up to 4 KB
    assert view.consumed.read == 3 + math.ceil(total / (4 * KB))
    assert view.consumed.read == engine.usage.snapshot()["read"]["views"]
