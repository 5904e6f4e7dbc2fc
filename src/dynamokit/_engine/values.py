"""Attribute values in DynamoDB's wire shape: validation, canonical numbers and item size."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from . import numbers
from .errors import DynamoDBError, invalid_parameter, validation, wrong_json_type

Item = dict[str, Any]
MAX_ITEM_SIZE = 400 * 1024
MAX_DEPTH = 32
_SCALARS = frozenset(("S", "N", "B", "BOOL", "NULL"))
_SET_NAMES = {"SS": "string", "NS": "number", "BS": "binary"}


def decode_binary(text: object) -> bytes:
    """The bytes of a wire B value (base64 text); raw bytes pass through for in-process callers."""
    if isinstance(text, (bytes, bytearray)):
        return bytes(text)
    if not isinstance(text, str):
        raise wrong_json_type(text, "Blob")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DynamoDBError("SerializationException", "Base64 encoded binary value is invalid") from None


def string(value: object) -> str:
    """A wire string (S, N's text, a set member): SerializationException for any other JSON type."""
    if type(value) is not str:
        raise wrong_json_type(value, "String")
    return value


def utf8(text: str) -> bytes:
    """The UTF-8 bytes of a wire string (see `not_unicode`)."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise not_unicode() from None


def not_unicode() -> DynamoDBError:
    """A string with an unpaired surrogate: only in-process callers can send one (JSON parsing refuses it)."""
    return DynamoDBError("SerializationException", "Invalid UTF-8 in a string value")


def encode_binary(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _number_size(text: str) -> int:
    digits = text.replace("-", "").replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def _check_set(kind: str, members: Any) -> tuple[list[Any], int]:
    if not isinstance(members, list):
        raise wrong_json_type(members, "List")
    if not members:
        raise invalid_parameter(f"An {_SET_NAMES[kind]} set  may not be empty")
    size = 0
    if kind == "NS":
        members = [numbers.canonical(string(m)) for m in members]
        keys: list[Any] = members
        size = sum(_number_size(m) for m in members)
    elif kind == "SS":
        for m in members:
            size += len(utf8(string(m)))
        keys = members
    else:
        keys = [decode_binary(m) for m in members]
        members = [encode_binary(k) for k in keys]
        size = sum(len(k) for k in keys)
    if len(set(keys)) != len(keys):
        shown = ", ".join(str(m) for m in members)
        raise invalid_parameter(f"Input collection [{shown}] contains duplicates.")
    return members, size


def check_value(value: Any, depth: int = 0) -> tuple[dict[str, Any], int]:
    """Validate one attribute value; return it with canonical numbers, and its size in bytes."""
    if not isinstance(value, dict) or not value:
        raise validation(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    if len(value) != 1:
        raise validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the"
            " supported datatypes"
        )
    ((kind, inner),) = value.items()
    if kind == "S":
        if type(inner) is not str:
            raise wrong_json_type(inner, "String")
        try:
            return value, len(inner.encode())
        except UnicodeEncodeError:
            raise not_unicode() from None
    if kind == "N":
        if type(inner) is not str:
            raise wrong_json_type(inner, "String")
        text = numbers.canonical(inner)
        return (value if text == inner else {"N": text}), _number_size(text)
    if kind == "B":
        data = decode_binary(inner)
        return (value if isinstance(inner, str) else {"B": encode_binary(data)}), len(data)
    if kind in ("BOOL", "NULL"):
        if not isinstance(inner, bool) or (kind == "NULL" and inner is not True):
            if kind == "NULL":
                raise invalid_parameter("Null attribute value types must have the value of true")
            raise wrong_json_type(inner, "Boolean")
        return value, 1
    if kind in _SET_NAMES:
        members, size = _check_set(kind, inner)
        return {kind: members}, size
    if depth >= MAX_DEPTH:
        raise invalid_parameter("Nesting Levels have exceeded supported limits")
    if kind == "L":
        if not isinstance(inner, list):
            raise wrong_json_type(inner, "List")
        out_list = []
        size = 3
        for element in inner:
            checked, n = check_value(element, depth + 1)
            out_list.append(checked)
            size += n + 1
        return {"L": out_list}, size
    if kind == "M":
        if not isinstance(inner, dict):
            raise wrong_json_type(inner, "Map")
        out_map = {}
        size = 3
        for name, element in inner.items():
            checked, n = check_value(element, depth + 1)
            out_map[name] = checked
            size += len(utf8(name)) + n + 1
        return {"M": out_map}, size
    raise DynamoDBError("SerializationException", f"Unknown attribute value type: {kind}")


def check_item(item: Any, limit: bool = True) -> tuple[Item, int]:
    """Validate a whole item (PutItem's Item): canonical copy and DynamoDB size in bytes.

    With `limit`, an item over 400 KB is refused too (see `check_size`)."""
    if not isinstance(item, dict):
        raise DynamoDBError("SerializationException", "Item must be a map of attribute values")
    out: Item = {}
    size = 0
    try:
        for name, value in item.items():
            if not name:
                raise invalid_parameter("An attribute name may not be empty")  # pragma: no cover - rare
            if type(value) is dict and len(value) == 1 and type(inner := value.get("S")) is str:
                out[name] = value  # the most common value, checked here as check_value would
                size += len(name.encode()) + len(inner.encode())
                continue
            checked, n = check_value(value)
            out[name] = checked
            size += len(name.encode()) + n
    except UnicodeEncodeError:
        raise not_unicode() from None
    if limit:
        check_size(size)
    return out, size


def check_size(size: int) -> None:
    if size > MAX_ITEM_SIZE:
        raise validation("Item size has exceeded the maximum allowed size")


def item_size(item: Item) -> int:
    """DynamoDB's size of an already-validated item."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(decode_binary(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(m.encode()) for m in inner)
    if kind == "NS":
        return sum(_number_size(m) for m in inner)
    if kind == "BS":
        return sum(len(decode_binary(m)) for m in inner)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
