"""DynamoDB JSON typed in by people: parsing with DynamoDB-shaped errors, and short cell renderings."""

from __future__ import annotations

import json
from typing import Any

import orjson

from ...errors import DynamoDBError


def parse_json(text: str, what: str, default: Any = None) -> Any:
    """The JSON object in `text` (or `default` when blank); a SerializationException naming `what` if invalid."""
    if not text.strip():
        return default
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise DynamoDBError("SerializationException", f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise DynamoDBError("SerializationException", f"{what} must be a JSON object")
    return value


def cell(value: Any) -> str:
    """One attribute value, short: strings and numbers as they are, anything else as compact JSON."""
    if isinstance(value, dict) and len(value) == 1:
        kind, inner = next(iter(value.items()))
        if kind in ("S", "N"):
            return str(inner)
        if kind == "BOOL":
            return "true" if inner else "false"
        if kind == "NULL":
            return "null"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 200 else text[:199] + "…"


def kind(value: Any) -> str:
    return next(iter(value)) if isinstance(value, dict) and len(value) == 1 else "?"
