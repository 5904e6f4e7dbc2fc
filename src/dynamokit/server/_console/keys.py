"""The key schema of a table and of each of its indexes, from DescribeTable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    """The key of the table or of one index: attribute names and their types."""

    index: str  # "" for the table
    pk: str
    sk: str | None
    types: dict[str, str]


def keys_of(table: dict[str, Any]) -> list[Key]:
    """The table's key, then each index's."""
    types = {d["AttributeName"]: d["AttributeType"] for d in table.get("AttributeDefinitions", [])}

    def key(index: str, schema: list[dict[str, str]]) -> Key:
        parts = {k["KeyType"]: k["AttributeName"] for k in schema}
        return Key(index, parts.get("HASH", ""), parts.get("RANGE"), types)

    found = [key("", table.get("KeySchema", []))]
    for index in table.get("GlobalSecondaryIndexes", []) + table.get("LocalSecondaryIndexes", []):
        found.append(key(index["IndexName"], index["KeySchema"]))
    return found
