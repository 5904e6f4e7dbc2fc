"""DynamoDB's client and server errors, shaped as the service sends them."""

from __future__ import annotations

from typing import Any

_DYNAMODB = "com.amazonaws.dynamodb.v20120810#"
_CORAL_VALIDATE = "com.amazon.coral.validate#"
_CORAL_SERVICE = "com.amazon.coral.service#"

# Error codes whose wire prefix is not the DynamoDB service namespace.
_PREFIXES = {
    "ValidationException": _CORAL_VALIDATE,
    "SerializationException": _CORAL_SERVICE,
    "UnknownOperationException": _CORAL_SERVICE,
    "UnrecognizedClientException": _CORAL_SERVICE,
    "InvalidSignatureException": _CORAL_SERVICE,
    "MissingAuthenticationTokenException": _CORAL_SERVICE,
    "AccessDeniedException": _CORAL_SERVICE,
    "IncompleteSignatureException": _CORAL_SERVICE,
}


class DynamoDBError(Exception):
    """An error answered to the caller, with DynamoDB's code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def wire(self) -> dict[str, Any]:
        """The JSON error body DynamoDB sends."""
        body: dict[str, Any] = {"__type": _PREFIXES.get(self.code, _DYNAMODB) + self.code}
        body.update(self.extra)
        body["message"] = self.message
        return body

    def __repr__(self) -> str:
        return f"DynamoDBError({self.code!r}, {self.message!r})"


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
