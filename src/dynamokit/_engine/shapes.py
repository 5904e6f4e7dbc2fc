"""Request shapes from botocore's DynamoDB service model: explains malformed JSON as DynamoDB does.

Operations trust the shape of what they read; when one trips over a wrong JSON type, the engine asks
`problem()` what was wrong and answers DynamoDB's SerializationException. Nothing here runs on the hot path.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.model import Shape

from .errors import json_type_message

_TARGETS = {"string": "String", "integer": "Integer", "long": "Long", "boolean": "Boolean", "blob": "Blob",
            "double": "Double", "float": "Float", "timestamp": "Timestamp"}
_LIMITS = {"integer": 2**31, "long": 2**63}  # a JSON number outside Java's int/long cannot be read


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


def _check(shape: Shape, value: Any) -> str | None:
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return json_type_message(value, "Structure")
        for name, member in value.items():
            member_shape = shape.members.get(name)
            if member_shape is not None:
                found = _check(member_shape, member)
                if found:
                    return found
        return None
    if kind == "list":
        if not isinstance(value, list):
            return json_type_message(value, "List")
        return next((found for element in value if (found := _check(shape.member, element))), None)
    if kind == "map":
        if not isinstance(value, dict):
            return json_type_message(value, "Map")
        return next((found for element in value.values() if (found := _check(shape.value, element))), None)
    if kind in ("string", "blob"):
        ok = isinstance(value, str) or (kind == "blob" and isinstance(value, (bytes, bytearray)))
        return None if ok else json_type_message(value, _TARGETS[kind])
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool) and -_LIMITS[kind] <= value < _LIMITS[kind]
        return None if ok else json_type_message(value, _TARGETS[kind])
    if kind == "boolean":
        return None if isinstance(value, bool) else json_type_message(value, "Boolean")
    if kind in ("double", "float", "timestamp"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else json_type_message(value, _TARGETS[kind])
    return None

