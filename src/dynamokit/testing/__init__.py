"""dynamokit.testing: a pytest plugin for applications built on dynamokit.

Fixtures (enabled through the `pytest11` entry point, or `-p dynamokit.testing.plugin`):
`dynamokit_engine` (an in-memory embedded engine per test), `dynamokit_client` (a boto3 DynamoDB client
answered in-process by it) and `dynamokit_tables` (a factory: `app = dynamokit_tables(app)` binds a model
App to the engine and creates its tables, fresh for each test); `dynamokit_mock` / `dynamokit_mock_server`
(every DynamoDB client of the process answered by a fresh engine: `_mock.py`, `docs/testing.md`).

Public names (imported on first use, PEP 562): `seed` (JSON items into existing tables), `MockError` (a
misused `dynamokit.mock`), `active_mock()` (the running mock, if any); `dynamokit.mock` itself is exported by `dynamokit`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._mock import MockError, active_mock
    from ._seeding import seed

__all__ = ["MockError", "active_mock", "seed"]

_LAZY = {"MockError": "._mock", "active_mock": "._mock", "seed": "._seeding"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LAZY[name], __name__), name)
