"""dynamokit: serverless data layers on Amazon DynamoDB, with an embedded DynamoDB-compatible engine."""

from importlib.metadata import PackageNotFoundError, version

from .client import client, resource
from .engine import DynamoDBError, Engine, EngineClosed

try:
    __version__ = version("dynamokit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["DynamoDBError", "Engine", "EngineClosed", "__version__", "client", "resource"]


def __getattr__(name: str) -> object:
    if name == "mock":  # dynamokit.mock, imported on first use
        from .testing.mock import mock

        return mock
    raise AttributeError(f"module 'dynamokit' has no attribute {name!r}")
