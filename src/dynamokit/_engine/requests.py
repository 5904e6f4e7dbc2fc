"""Request parameters shared by item and read operations: expressions with their names and values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import expressions as ex
from . import legacy
from .errors import DynamoDBError, validation
from .values import check_value, string, utf8

_PARSERS = {
    "ConditionExpression": ex.parse_condition,
    "FilterExpression": ex.parse_condition,
    "UpdateExpression": ex.parse_update,
    "ProjectionExpression": ex.parse_projection,
    "KeyConditionExpression": ex.parse_key_condition,
}


@dataclass
class Expressions:
    """The parsed expressions of one request, with their ExpressionAttributeNames and -Values."""

    asts: dict[str, Any]
    names: dict[str, str]
    values: dict[str, Any]

    def get(self, parameter: str) -> Any:
        return self.asts.get(parameter)


def prepare(request: dict[str, Any], *parameters: str) -> Expressions:
    """Parse the expression parameters an operation accepts and check names and values against them.

    Legacy parameters (Expected, AttributesToGet, KeyConditions, ...) are translated to expressions first.
    """
    request = legacy.translate(request, parameters)
    texts = {p: request[p] for p in parameters if request.get(p) is not None}
    for parameter, text in texts.items():
        if not isinstance(text, str):
            raise DynamoDBError("SerializationException", f"{parameter} must be a string")
        if not text:
            raise validation(f"Invalid {parameter}: The expression can not be empty;")
    names = request.get("ExpressionAttributeNames")
    values = request.get("ExpressionAttributeValues")
    for given, kind, sigil in ((names, "ExpressionAttributeNames", "#"), (values, "ExpressionAttributeValues", ":")):
        if isinstance(given, dict):
            bad = next((key for key in given if not (isinstance(key, str) and key.startswith(sigil)
                                                     and len(key) > 1)), None)
            if bad is not None:
                raise validation(f'{kind} contains invalid key: Syntax error; key: "{bad}"')
    if texts:
        for given, kind in ((names, "ExpressionAttributeNames"), (values, "ExpressionAttributeValues")):
            if given == {}:
                raise validation(f"{kind} must not be empty")
    asts: dict[str, Any] = {p: _PARSERS[p](text, p) for p, text in texts.items()}
    if not asts:
        used = " and ".join(parameters[:2]) if len(parameters) > 1 else (parameters[0] if parameters else "")
        verb = "are" if len(parameters) > 1 else "is"
        if names is not None:
            raise validation("ExpressionAttributeNames can only be specified when using expressions")
        if values is not None:
            raise validation(f"ExpressionAttributeValues can only be specified when using expressions: "
                             f"{used} {verb} null")
        return Expressions(asts, {}, {})
    if names is not None and not isinstance(names, dict):
        raise DynamoDBError("SerializationException", "ExpressionAttributeNames must be a map")
    if values is not None and not isinstance(values, dict):
        raise DynamoDBError("SerializationException", "ExpressionAttributeValues must be a map")
    checked = _checked_values(values) if values is not None else None
    for key, name in (names or {}).items():
        if not utf8(string(name)):
            raise validation(f"ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}")
    # The placeholder checks read the values (types, BETWEEN bounds): only validated ones.
    ex.check_placeholders(asts, names, checked)
    return Expressions(asts, names or {}, checked or {})


def _checked_values(values: dict[str, Any]) -> dict[str, Any]:
    """ExpressionAttributeValues validated (canonical numbers), with DynamoDB's message for an invalid one."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        try:
            checked[key] = check_value(value)[0]
        except DynamoDBError as error:
            if error.code != "ValidationException":
                raise
            wrapped = validation(f"ExpressionAttributeValues contains invalid value: {error.message} for key {key}")
            wrapped.value_message = error.message  # type: ignore[attr-defined]  # single-item writes show this
            raise wrapped from None
    return checked


def inputs(*parameters: str) -> frozenset[str]:
    """Every request parameter `prepare(request, *parameters)` reads: with none present, it prepares nothing."""
    return frozenset((*parameters, *legacy.sources(parameters), "ExpressionAttributeNames",
                      "ExpressionAttributeValues"))


def choice(request: dict[str, Any], parameter: str, allowed: tuple[str, ...], default: str) -> str:
    """An enum parameter, validated as DynamoDB does."""
    value = request.get(parameter, default)
    if value not in allowed:
        where = parameter[0].lower() + parameter[1:]
        raise validation(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
                         f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]")
    return str(value)
