"""DynamoDB's client and server errors, shaped as the service sends them."""

from __future__ import annotations

from typing import Any

from ..errors import DynamoDBError  # defined without the engine, so the model and handlers import it lightly


class EngineClosed(RuntimeError):
    """An operation was called on an Engine after `close()`."""


class DatabaseLocked(Exception):
    """A write on a thread that must not wait (see `storage.NO_WAIT`) found the database locked by another
    connection or process; nothing was written, so the whole request can run again where waiting is fine."""


def validation(message: str) -> DynamoDBError:
    return DynamoDBError("ValidationException", message)


def invalid_parameter(detail: str) -> DynamoDBError:
    """DynamoDB's 'One or more parameter values were invalid: ...' validation error."""
    return DynamoDBError("ValidationException", "One or more parameter values were invalid: " + detail)


def resource_not_found(message: str = "Requested resource not found") -> DynamoDBError:
    return DynamoDBError("ResourceNotFoundException", message)


def resource_in_use(message: str) -> DynamoDBError:
    return DynamoDBError("ResourceInUseException", message)


def conditional_check_failed(item: dict[str, Any] | None = None) -> DynamoDBError:
    extra = {"Item": item} if item is not None else {}
    return DynamoDBError("ConditionalCheckFailedException", "The conditional request failed", **extra)
