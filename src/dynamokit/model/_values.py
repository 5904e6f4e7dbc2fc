"""Lossless conversion between Python values and DynamoDB's attribute values (wire shape)."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import math
import uuid
from collections.abc import Callable, Container, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


def _number(value: float | Decimal) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"DynamoDB numbers cannot be {value}")
        return repr(value)
    return str(value)


def _set(values: set[Any] | frozenset[Any]) -> AttributeValue:
    first = next(iter(values))
    if isinstance(first, str):
        return {"SS": sorted(values)}
    if isinstance(first, bytes):
        return {"BS": [base64.b64encode(v).decode() for v in sorted(values)]}
    if isinstance(first, enum.Enum):
        return _set({v.value for v in values})
    return {"NS": [_number(v) for v in sorted(values)]}


def _to_av_slow(value: Any) -> AttributeValue:
    if value is None:
        return {"NULL": True}
    if isinstance(value, enum.Enum):
        return to_av(value.value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return {"S": value.isoformat()}
    if isinstance(value, (bytes, bytearray)):
        return {"B": base64.b64encode(value).decode()}
    if isinstance(value, BaseModel):
        return {"M": to_item(value.__dict__)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_av(v) for k, v in value.items()}}
    if isinstance(value, (set, frozenset)):
        if not value:
            raise ValueError("DynamoDB sets cannot be empty")
        return _set(value)
    if isinstance(value, (list, tuple)):
        return {"L": [to_av(v) for v in value]}
    if isinstance(value, uuid.UUID):
        return {"S": str(value)}
    if isinstance(value, (int, float, Decimal)):  # int/float subclasses (IntEnum handled above)
        return {"N": _number(value)}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


# Exact types first (no isinstance chain); subclasses and everything else take the slow path.
_BY_TYPE: dict[type, Callable[[Any], AttributeValue]] = {
    str: lambda v: {"S": v},
    bool: lambda v: {"BOOL": v},
    int: lambda v: {"N": str(v)},
    float: lambda v: {"N": _number(v)},
    Decimal: lambda v: {"N": str(v)},
    dt.datetime: lambda v: {"S": v.isoformat()},
    dt.date: lambda v: {"S": v.isoformat()},
    bytes: lambda v: {"B": base64.b64encode(v).decode()},
    list: lambda v: {"L": [to_av(x) for x in v]},
    dict: lambda v: {"M": {str(k): to_av(x) for k, x in v.items()}},
    type(None): lambda v: {"NULL": True},
}


def to_av(value: Any) -> AttributeValue:
    """One Python value as a DynamoDB attribute value (datetimes as ISO text, enums as their value)."""
    convert = _BY_TYPE.get(value.__class__)
    return convert(value) if convert is not None else _to_av_slow(value)


def to_item(values: Mapping[str, Any]) -> Item:
    """A mapping as an item; None and empty sets are left out (DynamoDB has no empty sets)."""
    return {
        name: to_av(value)
        for name, value in values.items()
        if value is not None and not (isinstance(value, (set, frozenset)) and not value)
    }


def _n(text: str) -> int | Decimal:
    return Decimal(text) if ("." in text or "e" in text or "E" in text) else int(text)


def from_av(value: AttributeValue) -> Any:
    """One attribute value as plain Python (N as int or Decimal, exactly); the model types it."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        return _n(value["N"])
    if "M" in value:
        return from_item(value["M"])
    if "L" in value:
        return [from_av(v) for v in value["L"]]
    if "BOOL" in value:
        return value["BOOL"]
    if "NULL" in value:
        return None
    if "B" in value:
        return base64.b64decode(value["B"])
    if "SS" in value:
        return set(value["SS"])
    if "NS" in value:
        return {_n(v) for v in value["NS"]}
    if "BS" in value:
        return {base64.b64decode(v) for v in value["BS"]}
    raise ValueError(f"unknown attribute value {value!r}")


def from_item(item: Mapping[str, AttributeValue], only: Container[str] | None = None) -> dict[str, Any]:
    """An item as a dict of plain Python values (only the attributes named in `only`, if given)."""
    if only is None:
        return {name: from_av(value) for name, value in item.items()}
    return {name: from_av(value) for name, value in item.items() if name in only}
