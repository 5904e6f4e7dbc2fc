"""Legacy (pre-expression) parameters, translated into the equivalent expressions.

AttributesToGet, Expected/ConditionalOperator, KeyConditions, QueryFilter, ScanFilter and AttributeUpdates
become Projection-, Condition-, KeyCondition-, Filter- and UpdateExpressions with generated placeholders,
so one evaluator serves both styles. Mixing the two styles in one request is DynamoDB's ValidationException.
"""

from __future__ import annotations

from typing import Any

from .errors import DynamoDBError, invalid_parameter, validation

# legacy parameter -> the expression parameter it becomes
_TARGETS = {
    "AttributesToGet": "ProjectionExpression",
    "Expected": "ConditionExpression",
    "KeyConditions": "KeyConditionExpression",
    "QueryFilter": "FilterExpression",
    "ScanFilter": "FilterExpression",
    "AttributeUpdates": "UpdateExpression",
}


def sources(targets: tuple[str, ...]) -> tuple[str, ...]:
    """The legacy parameters `translate` turns into any of the expression parameters `targets`, with the
    ConditionalOperator that joins their conditions."""
    return (*(p for p, target in _TARGETS.items() if target in targets), "ConditionalOperator")


_EXPRESSION_PARAMETERS = ("ProjectionExpression", "ConditionExpression", "KeyConditionExpression",
                          "FilterExpression", "UpdateExpression", "ExpressionAttributeNames",
                          "ExpressionAttributeValues")
_ARITY = {"EQ": 1, "NE": 1, "LE": 1, "LT": 1, "GE": 1, "GT": 1, "NOT_NULL": 0, "NULL": 0, "CONTAINS": 1,
          "NOT_CONTAINS": 1, "BEGINS_WITH": 1, "BETWEEN": 2}
_SYMBOLS = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
_SCALARS = frozenset({"S", "N", "B"})
# The value types each ComparisonOperator accepts (EQ and NE take any); dynalite's tests, run against DynamoDB.
_VALUE_TYPES = {"LT": _SCALARS, "LE": _SCALARS, "GT": _SCALARS, "GE": _SCALARS, "IN": _SCALARS,
                "BETWEEN": _SCALARS, "BEGINS_WITH": frozenset({"S", "B"}),
                "CONTAINS": _SCALARS | {"BOOL", "NULL"}, "NOT_CONTAINS": _SCALARS | {"BOOL", "NULL"}}
_FILTERS = ("Expected", "QueryFilter", "ScanFilter")  # the conditions ConditionalOperator joins


class _Builder:
    """Generated placeholders for one request, added to the ones the request already has (if any)."""

    def __init__(self, names: Any = None, values: Any = None) -> None:
        self.names: dict[str, str] = dict(names) if isinstance(names, dict) else {}
        self.values: dict[str, Any] = dict(values) if isinstance(values, dict) else {}
        self.generated: set[str] = set()

    def name(self, attribute: str) -> str:
        for key in self.generated:
            if self.names.get(key) == attribute:
                return key
        key = self._fresh("#legacy", self.names)
        self.names[key] = attribute
        return key

    def value(self, value: Any) -> str:
        key = self._fresh(":legacy", self.values)
        self.values[key] = value
        return key

    def _fresh(self, prefix: str, taken: dict[str, Any]) -> str:
        n = len(self.generated)
        while f"{prefix}{n}" in taken:
            n += 1
        self.generated.add(f"{prefix}{n}")
        return f"{prefix}{n}"


def translate(request: dict[str, Any], accepted: tuple[str, ...]) -> dict[str, Any]:
    """`request` with its legacy parameters replaced by expressions (unchanged when it has none).

    Only legacy parameters whose expression counterpart is in `accepted` (the operation's) are considered.
    """
    legacy = [p for p in _TARGETS if p in request and _TARGETS[p] in accepted]
    joined = "ConditionalOperator" in request
    if not legacy and not joined:
        return request
    modern = [p for p in _EXPRESSION_PARAMETERS if p in request]
    mixed = bool(modern) and _mixable(legacy, modern)
    conflicting = [p for p in legacy if p != "KeyConditions"] if mixed else legacy
    conflicting = conflicting + ["ConditionalOperator"] if joined else conflicting
    if modern and conflicting:
        raise validation("Can not use both expression and non-expression parameters in the same request: "
                         f"Non-expression parameters: {{{', '.join(conflicting)}}} Expression parameters: "
                         f"{{{', '.join(modern)}}}")
    if joined and not any(request.get(p) for p in _FILTERS if p in legacy):
        raise validation("ConditionalOperator cannot be used without Filter or Expected")
    out = {k: v for k, v in request.items() if k not in legacy and k != "ConditionalOperator"}
    build = _Builder(request.get("ExpressionAttributeNames"), request.get("ExpressionAttributeValues"))
    joiner = request.get("ConditionalOperator", "AND")
    if joiner not in ("AND", "OR"):
        raise validation(f"1 validation error detected: Value '{joiner}' at 'conditionalOperator' failed to "
                         "satisfy constraint: Member must satisfy enum value set: [AND, OR]")
    for parameter in legacy:
        spec = request[parameter]
        target = _TARGETS[parameter]
        if parameter == "AttributesToGet":
            text = _projection(spec, build)
        elif parameter == "AttributeUpdates":
            text = _updates(spec, build)
        elif parameter == "Expected":
            text = _conditions(spec, build, joiner, expected=True)
        else:
            text = _conditions(spec, build, "AND" if parameter == "KeyConditions" else joiner, expected=False)
        if text:
            out[target] = text
    if build.names:
        out["ExpressionAttributeNames"] = build.names
    if build.values:
        out["ExpressionAttributeValues"] = build.values
    return out


def _mixable(legacy: list[str], modern: list[str]) -> bool:
    """Whether legacy KeyConditions may join the request's expressions: DynamoDB allows it with any expression
    but a KeyConditionExpression (its error for KeyConditions + QueryFilter + ProjectionExpression names only
    QueryFilter as the non-expression parameter)."""
    expressions = [p for p in modern if p.endswith("Expression")]
    return "KeyConditions" in legacy and bool(expressions) and "KeyConditionExpression" not in modern


def _projection(names: Any, build: _Builder) -> str:
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise validation("1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy "
                         "constraint: Member must have length greater than or equal to 1")
    if len(set(names)) != len(names):
        raise validation(f"One or more parameter values were invalid: Duplicate value in attribute name: "
                         f"{next(n for n in names if names.count(n) > 1)}")
    return ", ".join(build.name(n) for n in names)


def _updates(updates: Any, build: _Builder) -> str:
    if not isinstance(updates, dict):
        raise validation("AttributeUpdates must be a map")
    clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}
    for attribute, update in updates.items():
        if not isinstance(update, dict):
            raise DynamoDBError("SerializationException", "Start of structure or map expected")
        action = update.get("Action", "PUT")
        value = update.get("Value")
        name = build.name(attribute)
        if action == "PUT":
            if value is None:
                raise invalid_parameter(f"Only DELETE action is allowed when no attribute value is specified: "
                                        f"{attribute}")
            clauses["SET"].append(f"{name} = {build.value(value)}")
        elif action == "DELETE":
            if value is None:
                clauses["REMOVE"].append(name)
            else:
                clauses["DELETE"].append(f"{name} {build.value(value)}")
        elif action == "ADD":
            if value is None:
                raise invalid_parameter(f"Only DELETE action is allowed when no attribute value is specified: "
                                        f"{attribute}")
            if "L" in value:
                empty = build.value({"L": []})
                clauses["SET"].append(f"{name} = list_append(if_not_exists({name}, {empty}), {build.value(value)})")
            else:
                clauses["ADD"].append(f"{name} {build.value(value)}")
        else:
            raise validation(f"1 validation error detected: Value '{action}' at 'attributeUpdates.{attribute}."
                             "member.action' failed to satisfy constraint: Member must satisfy enum value set: "
                             "[ADD, PUT, DELETE]")
    return " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses.items() if parts)


def _conditions(spec: Any, build: _Builder, joiner: str, expected: bool) -> str:
    if not isinstance(spec, dict):
        raise validation("Conditions must be a map")
    parts = [_condition(attribute, condition, build, expected) for attribute, condition in spec.items()]
    if len(parts) == 1:
        return parts[0]
    return f" {joiner} ".join(f"({p})" for p in parts)


def _condition(attribute: str, condition: Any, build: _Builder, expected: bool) -> str:
    if not isinstance(condition, dict):
        raise DynamoDBError("SerializationException", "Start of structure or map expected")
    name = build.name(attribute)
    operator = condition.get("ComparisonOperator")
    if operator is None and expected:
        exists = condition.get("Exists", True)
        if "Value" in condition:
            if exists is False:
                raise invalid_parameter(f"Value cannot be used when Exists is false for Attribute: {attribute}")
            return f"{name} = {build.value(condition['Value'])}"
        if exists is False:
            return f"attribute_not_exists({name})"
        raise invalid_parameter(f"Value must be provided when Exists is true for Attribute: {attribute}")
    if expected and ("Value" in condition or "Exists" in condition):
        raise invalid_parameter("Exists and Value cannot be used with ComparisonOperator for Attribute: "
                                f"{attribute}")
    values = condition.get("AttributeValueList") or []  # JSON null: absent, as DynamoDB reads it
    if not isinstance(values, list):
        raise TypeError("AttributeValueList")  # named by Engine.call as DynamoDB's SerializationException
    if operator == "IN":
        if not values:
            raise invalid_parameter("Invalid number of argument(s) for the IN ComparisonOperator")
        _check_types(operator, values)
        return f"{name} IN ({', '.join(build.value(v) for v in values)})"
    if operator not in _ARITY:
        raise validation(f"1 validation error detected: Value '{operator}' at 'comparisonOperator' failed to "
                         "satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, "
                         "NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]")
    if len(values) != _ARITY[operator]:
        raise invalid_parameter(f"Invalid number of argument(s) for the {operator} ComparisonOperator")
    _check_types(operator, values)
    placeholders = [build.value(v) for v in values]
    if operator in _SYMBOLS:
        return f"{name} {_SYMBOLS[operator]} {placeholders[0]}"
    if operator == "NOT_NULL":
        return f"attribute_exists({name})"
    if operator == "NULL":
        return f"attribute_not_exists({name})"
    if operator == "CONTAINS":
        return f"contains({name}, {placeholders[0]})"
    if operator == "NOT_CONTAINS":
        return f"attribute_exists({name}) AND NOT contains({name}, {placeholders[0]})"
    if operator == "BEGINS_WITH":
        return f"begins_with({name}, {placeholders[0]})"
    return f"{name} BETWEEN {placeholders[0]} AND {placeholders[1]}"


def _check_types(operator: str, values: list[Any]) -> None:
    """The AttributeValueList's values share one type, which `operator` accepts."""
    kinds = [next(iter(v)) for v in values if isinstance(v, dict) and len(v) == 1]
    if len(set(kinds)) > 1:
        raise invalid_parameter("AttributeValues inside AttributeValueList must be of same type")
    allowed = _VALUE_TYPES.get(operator)
    bad = next((k for k in kinds if allowed is not None and k not in allowed), None)
    if bad is not None:
        raise invalid_parameter(f"ComparisonOperator {operator} is not valid for {bad} AttributeValue type")
