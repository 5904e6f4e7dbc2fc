"""The embedded DynamoDB-compatible engine.

`Engine` and `EngineClosed` are imported on first use (PEP 562), so the engine's pure helpers
(`capacity`, `values`, `numbers`) can be imported without SQLite and the engine's core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import DynamoDBError

if TYPE_CHECKING:
    from .core import Engine, EngineClosed

__all__ = ["DynamoDBError", "Engine", "EngineClosed"]


def __getattr__(name: str) -> Any:
    if name in ("Engine", "EngineClosed"):
        from . import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
