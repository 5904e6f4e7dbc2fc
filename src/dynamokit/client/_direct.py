"""Handing boto3's parameters to the engine as they are, when serializing them would change nothing.

botocore validates a request's parameters and serializes them to JSON, which the engine then decodes: for a
BatchWriteItem of 25 items that round trip costs more than the engine's own work. For item operations whose
parameters are plain JSON values (dicts, lists, str, int, bool: what decoding the serialized body would give
back), the in-process client skips it. A check compiled once per input shape says whether botocore's
validator would accept the parameters without a report and its serializer would pass them through
unchanged; when it cannot say yes (blobs, floats, tuples, subclasses, a constraint not met...), botocore
validates and serializes as always, so errors and edge cases are botocore's own.

The engine never changes or keeps the parameters it is given (the test suite checks this on every call).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.model import OperationModel, Shape

Check = Callable[[Any], bool]

# Item operations: they keep nothing of a request after it, and answer from storage. Control-plane
# operations (rare, and some cache their request's parts) always go through botocore's serializer.
OPERATIONS = frozenset((
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
))
_INT64 = (-(2 ** 63), 2 ** 63)


def _never(_: Any) -> bool:
    return False


def _text(value: Any) -> bool:
    """A str whose JSON round trip gives it back (no lone surrogates)."""
    if type(value) is not str:
        return False
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


class Unserialized(bytes):
    """The body of a request left unserialized: empty bytes carrying the parameters."""

    params: dict[str, Any]


class ParamChecks:
    """Compiled checks of a service's input shapes: True only if the value certainly serializes to itself."""

    def __init__(self) -> None:
        self._compiled: dict[str, Check] = {}
        self._building: dict[str, Check] = {}
        self._lock = threading.Lock()

    def check(self, shape: Shape, value: Any) -> bool:
        found = self._compiled.get(shape.name)
        if found is None:
            with self._lock:
                found = self._compile(shape)
        return found(value)

    def _compile(self, shape: Shape) -> Check:
        if shape.name in self._compiled:
            return self._compiled[shape.name]
        if shape.name in self._building:
            return self._building[shape.name]
        slot: list[Check] = []
        self._building[shape.name] = lambda value: slot[0](value)  # recursive shapes (AttributeValue)
        made = self._build(shape)
        slot.append(made)
        del self._building[shape.name]
        self._compiled[shape.name] = made
        return made

    def _build(self, shape: Shape) -> Check:
        kind, meta = shape.type_name, shape.metadata
        least = meta.get("min")
        if meta.get("jsonvalue") or shape.serialization.get("hostLabel"):
            return _never
        if kind == "structure":
            return self._structure(shape)
        if kind == "list":
            return self._list(self._compile(shape.member), least or 0)
        if kind == "map":
            return self._map(self._compile(shape.key), self._compile(shape.value))
        if kind == "string":
            return _text if least is None else (lambda value: _text(value) and len(value) >= least)
        if kind in ("integer", "long"):
            low = max(_INT64[0], least if least is not None else _INT64[0])
            return lambda value: type(value) is int and low <= value < _INT64[1]
        if kind == "boolean":
            return lambda value: type(value) is bool
        return _never  # blob, timestamp, float, double: botocore's serializer transforms or checks them

    def _structure(self, shape: Shape) -> Check:
        if shape.is_document_type or any(m.serialization.get("name", n) != n for n, m in shape.members.items()):
            return _never
        members = {name: self._compile(member) for name, member in shape.members.items()}
        required = tuple(shape.required_members)
        union = shape.is_tagged_union  # botocore reports a union given no member or several

        def structure(value: Any) -> bool:
            if type(value) is not dict or (union and len(value) != 1):
                return False
            for name in required:
                if name not in value:
                    return False
            for name, member in value.items():
                check = members.get(name)
                if check is None or not check(member):
                    return False
            return True

        return structure

    @staticmethod
    def _list(item: Check, least: int) -> Check:
        def checked_list(value: Any) -> bool:
            if type(value) is not list or len(value) < least:
                return False
            for member in value:
                if not item(member):
                    return False
            return True

        return checked_list

    @staticmethod
    def _map(key: Check, entry: Check) -> Check:
        def checked_map(value: Any) -> bool:
            if type(value) is not dict:
                return False
            for name, member in value.items():
                if not key(name) or not entry(member):
                    return False
            return True

        return checked_map


class DirectSerializer:
    """Stands in for a client's serializer: item operations whose parameters pass their check become a
    request whose body is `Unserialized`; everything else goes to botocore's serializer (and validator)."""

    def __init__(self, serializer: Any) -> None:
        self._serializer = serializer
        self._checks = ParamChecks()

    def serialize_to_request(self, parameters: dict[str, Any], model: OperationModel) -> dict[str, Any]:
        shape = model.input_shape
        if model.name not in OPERATIONS or shape is None or not self._checks.check(shape, parameters):
            return self._serializer.serialize_to_request(parameters, model)  # type: ignore[no-any-return]
        body = Unserialized()
        body.params = parameters
        metadata = model.metadata
        return {
            "url_path": "/", "query_string": "", "method": model.http.get("method", "POST"),
            "headers": {"X-Amz-Target": f"{metadata['targetPrefix']}.{model.name}",
                        "Content-Type": f"application/x-amz-json-{metadata['jsonVersion']}"},
            "body": body,
        }
