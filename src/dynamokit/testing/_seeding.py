"""Loading items into tables: DynamoDB JSON (typed) or plain JSON, from files or Python values.

Accepted shapes, per table: a list of items; `{"Items": [...]}` (Scan output, `aws dynamodb scan`); a
BatchWriteItem request list (`[{"PutRequest": {"Item": ...}}]`, as in `aws dynamodb batch-write-item
--request-items file://...`); JSON lines of `{"Item": ...}` (DynamoDB's S3 export). A file holds either one
table's items (the table is named by the file's stem) or a mapping `{table: items}`. Each item is DynamoDB
JSON if every attribute is a one-key type descriptor (`{"S": "x"}`), else plain JSON (numbers become N,
lists L, objects M); `typed=` overrides the guess.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import orjson
from boto3.dynamodb.types import TypeSerializer

from .._engine import Engine

Source = str | os.PathLike[str] | Mapping[str, Any] | Iterable[Any]

_TYPES: dict[str, type | tuple[type, ...]] = {
    "S": str, "N": str, "B": str, "BOOL": bool, "NULL": bool, "M": dict, "L": list,
    "SS": list, "NS": list, "BS": list,
}
_serializer = TypeSerializer()


def seed(engine: Engine, source: Source, table: str | None = None, *, typed: bool | None = None) -> int:
    """Write the items of `source` (a file, a `{table: items-or-file}` mapping, or items for `table`) into
    `engine`'s existing tables with BatchWriteItem; returns how many items were written."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        loaded = _load(path)
        if isinstance(loaded, dict) and "Items" not in loaded and table is None:
            return seed(engine, loaded, typed=typed)
        return seed(engine, loaded, table or path.stem, typed=typed)
    if isinstance(source, Mapping) and table is None:
        return sum(seed(engine, items, name, typed=typed) for name, items in source.items())
    if table is None:
        raise ValueError("seed: items given without a table name")
    if isinstance(source, Mapping):
        source = source["Items"]
    items = [_item(entry, typed) for entry in cast(Iterable[Any], source)]
    for start in range(0, len(items), 25):
        requests: Any = [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]
        while requests:
            left = engine.call("BatchWriteItem", {"RequestItems": {table: requests}})["UnprocessedItems"]
            requests = left.get(table)
    return len(items)


def _load(path: Path) -> Any:
    """A JSON document, or JSON lines (one value per line)."""
    text = path.read_bytes()
    try:
        return _decimals(orjson.loads(text))
    except orjson.JSONDecodeError:
        return [_decimals(orjson.loads(line)) for line in text.splitlines() if line.strip()]


def _decimals(value: Any) -> Any:
    """JSON floats as Decimals (what boto3 serializes as N without losing digits)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _decimals(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_decimals(member) for member in value]
    return value


def _item(entry: Any, typed: bool | None) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise TypeError(f"seed: an item must be a JSON object, not {type(entry).__name__}")
    if len(entry) == 1:  # a BatchWriteItem request or an export line
        only = next(iter(entry))
        if only == "PutRequest":
            entry = entry[only]["Item"]
        elif only == "Item" and isinstance(entry[only], dict):
            entry = entry[only]
    if typed is None:
        typed = is_typed(entry)
    if typed:
        return entry
    return {name: _serializer.serialize(_decimals(value)) for name, value in entry.items()}


def is_typed(item: Mapping[str, Any]) -> bool:
    """Whether every attribute of `item` is a DynamoDB JSON type descriptor."""
    if not item:
        return False
    for value in item.values():
        if not isinstance(value, dict) or len(value) != 1:
            return False
        kind, inner = next(iter(value.items()))
        expected = _TYPES.get(kind)
        if expected is None or not isinstance(inner, expected):
            return False
    return True
