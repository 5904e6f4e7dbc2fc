"""The embedded DynamoDB-compatible engine."""

from .core import Engine, EngineClosed
from .errors import DynamoDBError

__all__ = ["DynamoDBError", "Engine", "EngineClosed"]
