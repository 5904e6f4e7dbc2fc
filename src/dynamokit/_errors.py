"""`DynamoDBError`: DynamoDB's client and server errors, shaped as the service sends them.

Standard library only, so code that only catches it (a Lambda handler, the model layer) does not load the engine.
"""

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
