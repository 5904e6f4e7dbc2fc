"""Opaque paging cursors: a LastEvaluatedKey as URL-safe base64 JSON."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from ._errors import ModelError


def encode(last_key: dict[str, Any] | None) -> str | None:
    return None if not last_key else base64.urlsafe_b64encode(orjson.dumps(last_key)).decode().rstrip("=")


def decode(cursor: str) -> dict[str, Any]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise ModelError("invalid cursor") from None
    if not isinstance(value, dict):
        raise ModelError("invalid cursor")
    return value
