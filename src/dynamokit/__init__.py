"""dynamokit: serverless data layers on Amazon DynamoDB, with an embedded DynamoDB-compatible engine.

Names are imported on first use (PEP 562), so `import dynamokit.model` or `import dynamokit.streams`
in a Lambda function does not load the engine, SQLite or boto3.
"""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._errors import DynamoDBError

if TYPE_CHECKING:
    from ._engine import Engine, EngineClosed
    from ._engine.faults import Fault
    from .client import client, resource
    from .testing._mock import mock

try:
    __version__ = version("dynamokit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["DynamoDBError", "Engine", "EngineClosed", "Fault", "__version__", "client", "mock", "resource"]

_LAZY = {"Engine": "._engine", "EngineClosed": "._engine", "Fault": "._engine.faults", "client": ".client",
         "resource": ".client", "mock": ".testing._mock"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(ModuleType):
    """`dynamokit.client` stays the function when the submodule of the same name is imported (Python
    would otherwise bind the submodule to the package's attribute)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "client" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
