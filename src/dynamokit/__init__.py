"""dynamokit: serverless data layers on Amazon DynamoDB, with an embedded DynamoDB-compatible engine."""

from importlib.metadata import PackageNotFoundError, version

from .client import client, resource
from .engine import DynamoDBError, Engine, EngineClosed

try:
    __version__ = version("dynamokit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["DynamoDBError", "Engine", "EngineClosed", "__version__", "client", "resource"]
