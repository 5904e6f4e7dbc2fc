"""The embedded DynamoDB-compatible engine."""

from .core import Engine
from .errors import DynamoDBError

__all__ = ["DynamoDBError", "Engine"]
