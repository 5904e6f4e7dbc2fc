"""The small bookkeeping tables the streams runtime keeps in the engine (checkpoints, parking, backfills)."""

from __future__ import annotations

from .._errors import DynamoDBError
from ..model import Transport


def ensure_table(transport: Transport, name: str) -> None:
    """Create table `name` (string `pk` and `sk`, on demand) unless it exists."""
    try:
        transport.call("CreateTable", {
            "TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "S"}]})
    except DynamoDBError as error:
        if error.code != "ResourceInUseException":
            raise
