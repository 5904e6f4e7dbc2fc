"""DynamoDB's client and server errors, shaped as the service sends them."""

from __future__ import annotations

from typing import Any

from .._errors import DynamoDBError  # defined without the engine, so the model and handlers import it lightly


class EngineClosed(RuntimeError):
    """An operation was called on an Engine after `close()`."""


class DatabaseLocked(Exception):
    """A write on a thread that must not wait (see `storage.NO_WAIT`) found the database locked by another
    connection or process; nothing was written, so the whole request can run again where waiting is fine."""


def validation(message: str) -> DynamoDBError:
    return DynamoDBError("ValidationException", message)


_JSON_TOKENS = {str: "STRING_VALUE", bool: "BOOLEAN_VALUE", int: "NUMBER_VALUE", float: "NUMBER_VALUE",
                type(None): "NULL_VALUE"}


def json_type_message(value: Any, target: str) -> str:
    """DynamoDB's message for a JSON value that cannot be read as `target` (String, Blob, List, ...)."""
    if isinstance(value, dict):
        return "Start of structure or map found where not expected"
    if isinstance(value, list):
        return "Start of list found where not expected"
    if isinstance(value, bool):
        return f"{'TRUE' if value else 'FALSE'}_VALUE cannot be converted to {target}"
    return f"{_JSON_TOKENS.get(type(value), 'VALUE')} cannot be converted to {target}"


def wrong_json_type(value: Any, target: str) -> DynamoDBError:
    """DynamoDB's SerializationException for a JSON value of the wrong type, e.g. `{"N": 123}`."""
    return DynamoDBError("SerializationException", json_type_message(value, target))


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
