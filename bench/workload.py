"""The one fixed workload, in DynamoDB's wire shape, shared by every target.

Table `bench`: pk (S, HASH) + sk (N, RANGE), GSI `byg` on g (S, HASH) + sk (N, RANGE). Item n (~300 B) lives in
partition p{n % P} (P = items / 100, so 100 partitions of 100 items at 10k) at sk n // P, and in GSI partition
g{n % G} (G = items / 50: 50 items per GSI partition). Writes other than the load overwrite existing keys, so
the table keeps its size across rounds and Scan always reads the same data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

TABLE = "bench"
VALUE = "v" * 240
PER_PARTITION = 100
PER_GSI_PARTITION = 50

# Operations of the measured phase, in order; PutItem (the load) is measured first, on its own.
OPS = ["GetItem", "Query", "QueryGSI", "UpdateItem", "CondPutFail", "BatchWrite25", "Transact4", "Scan"]
ALL_OPS = ["PutItem", *OPS]
# The DynamoDB operation each workload op calls (Scan pages until the table is read in full).
API = {"PutItem": "PutItem", "GetItem": "GetItem", "Query": "Query", "QueryGSI": "Query", "UpdateItem": "UpdateItem",
       "CondPutFail": "PutItem", "BatchWrite25": "BatchWriteItem", "Transact4": "TransactWriteItems", "Scan": "Scan"}
POINT_OPS = ["PutItem", "GetItem", "UpdateItem", "CondPutFail"]

CREATE_TABLE = {
    "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                             {"AttributeName": "g", "AttributeType": "S"}],
    "GlobalSecondaryIndexes": [{
        "IndexName": "byg", "Projection": {"ProjectionType": "ALL"},
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]}],
}


class Workload:
    def __init__(self, items: int, seed: int = 7) -> None:
        self.items = items
        self.partitions = max(1, items // PER_PARTITION)
        self.gsi_partitions = max(1, items // PER_GSI_PARTITION)
        self.rnd = random.Random(seed)

    def key(self, n: int) -> dict[str, Any]:
        return {"pk": {"S": f"p{n % self.partitions}"}, "sk": {"N": str(n // self.partitions)}}

    def item(self, n: int) -> dict[str, Any]:
        return {**self.key(n), "g": {"S": f"g{n % self.gsi_partitions}"}, "n": {"N": str(n)}, "v": {"S": VALUE}}

    def any(self) -> int:
        return self.rnd.randrange(self.items)

    def request(self, op: str, i: int) -> dict[str, Any]:
        """The request for call number i of op (PutItem: i is the item to load)."""
        return getattr(self, "_" + op.lower())(i)

    def _putitem(self, i: int) -> dict[str, Any]:
        return {"TableName": TABLE, "Item": self.item(i % self.items)}

    def _getitem(self, i: int) -> dict[str, Any]:
        return {"TableName": TABLE, "Key": self.key(self.any())}

    def _query(self, i: int) -> dict[str, Any]:  # 50 items: the first half of a 100-item partition
        return {"TableName": TABLE, "KeyConditionExpression": "pk = :p AND sk < :n", "ExpressionAttributeValues": {
            ":p": {"S": f"p{self.rnd.randrange(self.partitions)}"}, ":n": {"N": str(PER_PARTITION // 2)}}}

    def _querygsi(self, i: int) -> dict[str, Any]:  # a whole 50-item GSI partition
        return {"TableName": TABLE, "IndexName": "byg", "KeyConditionExpression": "g = :g",
                "ExpressionAttributeValues": {":g": {"S": f"g{self.rnd.randrange(self.gsi_partitions)}"}}}

    def _updateitem(self, i: int) -> dict[str, Any]:
        return {"TableName": TABLE, "Key": self.key(self.any()), **COUNTER}

    def _condputfail(self, i: int) -> dict[str, Any]:  # the item exists: always ConditionalCheckFailed
        return {"TableName": TABLE, "Item": self.item(self.any()), "ConditionExpression": "attribute_not_exists(pk)"}

    def _batchwrite25(self, i: int) -> dict[str, Any]:
        start = self.any()
        return {"RequestItems": {TABLE: [{"PutRequest": {"Item": self.item((start + k) % self.items)}}
                                         for k in range(25)]}}

    def _transact4(self, i: int) -> dict[str, Any]:
        a, b, c, d = (self.any() for _ in range(4))
        while len({a, b, c, d}) < 4:
            a, b, c, d = (self.any() for _ in range(4))
        return {"TransactItems": [
            {"Put": {"TableName": TABLE, "Item": self.item(a)}},
            {"Put": {"TableName": TABLE, "Item": self.item(b)}},
            {"Update": {"TableName": TABLE, "Key": self.key(c), **COUNTER}},
            {"ConditionCheck": {"TableName": TABLE, "Key": self.key(d), "ConditionExpression": "attribute_exists(pk)"}},
        ]}

    def _scan(self, i: int) -> dict[str, Any]:
        return {"TableName": TABLE}


COUNTER = {"UpdateExpression": "SET #c = if_not_exists(#c, :z) + :one", "ExpressionAttributeNames": {"#c": "c"},
           "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"}}}


def run_op(call: Callable[[str, dict[str, Any]], dict[str, Any]], is_conditional_failure: Callable[[Exception], bool],
           op: str, request: dict[str, Any]) -> None:
    """One workload op through `call(api_operation, request)`; a full Scan follows LastEvaluatedKey to the end."""
    if op == "Scan":
        while True:
            page = call("Scan", request)
            if "LastEvaluatedKey" not in page:
                return
            request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}
    if op == "CondPutFail":
        try:
            call("PutItem", request)
        except Exception as error:  # the target's own error type
            if is_conditional_failure(error):
                return
            raise
        raise AssertionError("conditional put succeeded on an existing item")
    if op == "BatchWrite25":
        result = call("BatchWriteItem", request)
        while result.get("UnprocessedItems"):
            result = call("BatchWriteItem", {"RequestItems": result["UnprocessedItems"]})
        return
    call(API[op], request)
