"""DynamoDB JSON typed in by people: parsing with DynamoDB-shaped errors, and short cell renderings."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import orjson

from ..._errors import DynamoDBError


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


def cell(value: Any, limit: int | None = 200) -> str:
    """One attribute value: strings and numbers as they are, anything else as compact JSON (cut at `limit`)."""
    if isinstance(value, dict) and len(value) == 1:
        kind, inner = next(iter(value.items()))
        if kind in ("S", "N"):
            return str(inner)
        if kind == "BOOL":
            return "true" if inner else "false"
        if kind == "NULL":
            return "null"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


def kind(value: Any) -> str:
    return next(iter(value)) if isinstance(value, dict) and len(value) == 1 else "?"


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
NOT_PLAIN = ("Plain JSON has no sets and no binary: this item holds {} ({}), which only DynamoDB JSON can show. "
             "Edit it as DynamoDB JSON.")


def plain_text(item: dict[str, Any]) -> str:
    """An item as plain JSON (indented; numbers as stored); a ValidationException for sets, binary or a value
    that is not an attribute value."""
    def write(value: Any, path: str, indent: str) -> str:
        kind, inner = next(iter(value.items())) if isinstance(value, dict) and len(value) == 1 else ("?", None)
        if kind in ("SS", "NS", "BS", "B"):
            raise DynamoDBError("ValidationException", NOT_PLAIN.format(path, kind))
        if kind == "S" and isinstance(inner, str):
            return json.dumps(inner, ensure_ascii=False)
        if kind == "N" and isinstance(inner, str) and _NUMBER.fullmatch(inner.strip()):
            return str(Decimal(inner))  # valid JSON: "5." and ".5" come back as "5" and "0.5"
        if kind in ("BOOL", "NULL") and isinstance(inner, bool):
            return "null" if kind == "NULL" else "true" if inner else "false"
        if kind == "L" and isinstance(inner, list):
            inside = indent + "  "
            parts = [inside + write(v, f"{path}[{i}]", inside) for i, v in enumerate(inner)]
            return "[\n" + ",\n".join(parts) + "\n" + indent + "]" if parts else "[]"
        if kind == "M" and isinstance(inner, dict):
            return members(inner, path + ".", indent)
        raise DynamoDBError("ValidationException", f"{path} is not a DynamoDB attribute value: {cell(value)}")

    def members(values: dict[str, Any], prefix: str, indent: str) -> str:
        inside = indent + "  "
        parts = [f"{inside}{json.dumps(k, ensure_ascii=False)}: {write(v, prefix + k, inside)}"
                 for k, v in values.items()]
        return "{\n" + ",\n".join(parts) + "\n" + indent + "}" if parts else "{}"

    try:
        return members(item, "", "")
    except RecursionError:
        raise DynamoDBError("ValidationException", "The item is nested too deeply") from None


def from_plain(text: str, what: str, default: Any = None) -> Any:
    """The plain JSON object in `text` as DynamoDB attribute values, by DynamoDB's rules (the SDKs'):
    strings S, numbers N (exactly as typed), true/false BOOL, null NULL, arrays L, objects M."""
    from ...model._values import to_av  # on first use: importing the model layer costs pydantic

    if not text.strip():
        return default
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as error:
        raise DynamoDBError("SerializationException", f"{what} is not valid JSON: {error}") from None
    except RecursionError:
        raise DynamoDBError("SerializationException", f"{what} is nested too deeply") from None
    if not isinstance(value, dict):
        raise DynamoDBError("SerializationException", f"{what} must be a JSON object")
    try:
        return {k: to_av(v) for k, v in value.items()}
    except RecursionError:
        raise DynamoDBError("SerializationException", f"{what} is nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number DynamoDB can store")
