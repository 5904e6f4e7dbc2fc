"""botocore's parsing of JSON responses, compiled once per output shape.

The in-process client answers boto3 with exactly the dict botocore's JSON parser would build from the
engine's response bytes (members in model order, unknown members and nulls dropped, blobs decoded,
timestamps parsed), but visits only the parts of the shape that need work: item attribute values are
walked only when the response holds binary values, otherwise they are kept as orjson decoded them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.model import Shape

Convert = Callable[[Any], Any]
_ATTRIBUTE_VALUE = "AttributeValue"
_MISSING = object()


class ShapeParser:
    """Converts decoded JSON into botocore's parsed form for a service's shapes."""

    def __init__(self, blob_parser: Convert, timestamp_parser: Convert) -> None:
        self._blob, self._timestamp = blob_parser, timestamp_parser
        # (shape name, binary?) -> converter, or None when decoded JSON is already the parsed form. Only
        # finished converters are published here; compiling happens once, under the lock.
        self._compiled: dict[tuple[str, bool], Convert | None] = {}
        self._staged: dict[tuple[str, bool], Convert | None] = {}  # compiled, published when all are done
        self._building: dict[tuple[str, bool], Convert] = {}  # placeholders of recursive shapes
        self._lock = threading.RLock()

    def parse(self, shape: Shape | None, value: Any, binary: bool) -> dict[str, Any]:
        """`value` (decoded JSON of `shape`) as botocore parses it; `binary`: it may hold binary values."""
        if shape is None:
            return {}
        convert = self.compile(shape, binary)
        return value if convert is None else convert(value)

    def compile(self, shape: Shape, binary: bool) -> Convert | None:
        found = self._compiled.get((shape.name, binary), _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        with self._lock:
            made = self._compile(shape, binary)
            self._compiled.update(self._staged)
            self._staged.clear()
            return made

    def _compile(self, shape: Shape, binary: bool) -> Convert | None:
        key = (shape.name, binary)
        for done in (self._compiled, self._staged):
            if key in done:
                return done[key]
        if key in self._building:
            return self._building[key]
        if shape.name == _ATTRIBUTE_VALUE:
            made = self._attribute_value() if binary else None
        else:
            # Recursive shapes: a placeholder that calls the finished converter once it exists.
            slot: list[Convert] = []
            self._building[key] = lambda value: slot[0](value)
            made = self._build(shape, binary)
            del self._building[key]
            if made is not None:
                slot.append(made)
        self._staged[key] = made
        return made

    def _build(self, shape: Shape, binary: bool) -> Convert | None:
        kind = shape.type_name
        if kind == "structure":
            return self._structure(shape, binary)
        if kind == "list":
            item = self._compile(shape.member, binary)
            return None if item is None else (lambda value: [item(v) for v in value])
        if kind == "map":
            entry = self._compile(shape.value, binary)
            return None if entry is None else (lambda value: {k: entry(v) for k, v in value.items()})
        if kind == "blob":
            return self._blob
        if kind == "timestamp":
            return self._timestamp
        return None

    def _structure(self, shape: Shape, binary: bool) -> Convert | None:
        if shape.is_document_type:
            return None
        members = [(m.serialization.get("name", name), name, m) for name, m in shape.members.items()]
        compiled = [(wire, name, self._compile(m, binary)) for wire, name, m in members]

        def structure(value: Any) -> Any:
            if value is None:
                return None
            out = {}
            for wire, name, convert in compiled:
                found = value.get(wire)
                if found is not None:
                    out[name] = found if convert is None else convert(found)
            return out

        return structure

    def _attribute_value(self) -> Convert:
        blob = self._blob

        def attribute_value(value: Any) -> Any:
            if "B" in value:
                return {"B": blob(value["B"])}
            if "BS" in value:
                return {"BS": [blob(b) for b in value["BS"]]}
            if "M" in value:
                return {"M": {k: attribute_value(v) for k, v in value["M"].items()}}
            if "L" in value:
                return {"L": [attribute_value(v) for v in value["L"]]}
            return value

        return attribute_value


def may_hold_binary(body: bytes) -> bool:
    """False only when a response body certainly holds no binary attribute value ("B" or "BS")."""
    return b'"B":' in body or b'"BS":' in body
