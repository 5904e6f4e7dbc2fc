"""Request shapes from botocore's DynamoDB service model: explains malformed JSON as DynamoDB does.

Operations trust the shape of what they read; when one trips over a wrong JSON type, the engine asks
`problem()` what was wrong and answers DynamoDB's SerializationException. Nothing here runs on the hot path.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.model import Shape

_SCALAR_NAMES = {str: "STRING_VALUE", bool: "BOOLEAN_VALUE", int: "NUMBER_VALUE", float: "NUMBER_VALUE"}
_TARGETS = {"string": "String", "integer": "Integer", "long": "Long", "boolean": "Boolean", "blob": "Blob",
            "double": "Double", "float": "Float", "timestamp": "Timestamp"}


@functools.lru_cache(maxsize=2)
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def _input_shape(operation: str) -> Shape | None:
    for service in ("dynamodb", "dynamodbstreams"):
        model = _model(service)
        if operation in model.operation_names:
            return model.operation_model(operation).input_shape
    return None


def problem(operation: str, request: dict[str, Any]) -> str | None:
    """DynamoDB's SerializationException message for the first wrong JSON type in `request`, or None."""
    shape = _input_shape(operation)
    return None if shape is None else _check(shape, request)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "Start of structure or map found where not expected"
    if isinstance(value, list):
        return "Start of list found where not expected"
    return ""


def _check(shape: Shape, value: Any) -> str | None:
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return _mismatch(value, "Structure")
        for name, member in value.items():
            member_shape = shape.members.get(name)
            if member_shape is not None:
                found = _check(member_shape, member)
                if found:
                    return found
        return None
    if kind == "list":
        if not isinstance(value, list):
            return _mismatch(value, "List")
        return next((found for element in value if (found := _check(shape.member, element))), None)
    if kind == "map":
        if not isinstance(value, dict):
            return _mismatch(value, "Map")
        return next((found for element in value.values() if (found := _check(shape.value, element))), None)
    if kind in ("string", "blob"):
        ok = isinstance(value, str) or (kind == "blob" and isinstance(value, (bytes, bytearray)))
        return None if ok else _mismatch(value, _TARGETS[kind])
    if kind in ("integer", "long"):
        return None if isinstance(value, int) and not isinstance(value, bool) else _mismatch(value, _TARGETS[kind])
    if kind == "boolean":
        return None if isinstance(value, bool) else _mismatch(value, "Boolean")
    if kind in ("double", "float", "timestamp"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else _mismatch(value, _TARGETS[kind])
    return None


def _mismatch(value: Any, target: str) -> str:
    structural = _describe(value)
    if structural:
        return structural
    if isinstance(value, bool):
        return f"{'TRUE' if value else 'FALSE'}_VALUE cannot be converted to {target}"
    return f"{_SCALAR_NAMES.get(type(value), 'VALUE')} cannot be converted to {target}"
