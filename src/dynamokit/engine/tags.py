"""Resource tags (TagResource, UntagResource, ListTagsOfResource) and small control-plane calls."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Operation

OPERATIONS: dict[str, Operation] = {}


def store(conn: sqlite3.Connection, arn: str, tags: list[dict[str, Any]]) -> None:
    """Store the tags given to CreateTable (inside its write transaction)."""
