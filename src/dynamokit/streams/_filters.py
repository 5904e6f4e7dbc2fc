"""Lambda FilterCriteria: event patterns matched against the Lambda shape of each record.

Supported: exact values, `prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric` and `exists`,
nested to any depth. A record matching no filter is dropped (and counted as handled), as Lambda does; so a
filter on NewImage drops REMOVE records."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

_MISSING = object()
_COMPARE = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">": operator.gt, ">=": operator.ge}


class Filters:
    """Compiled FilterCriteria (`{"Filters": [{"Pattern": "<json>"}]}`); an empty or absent one admits all."""

    def __init__(self, criteria: Mapping[str, Any] | None) -> None:
        self.patterns = [orjson.loads(f["Pattern"]) if isinstance(f["Pattern"], str) else f["Pattern"]
                         for f in (criteria or {}).get("Filters", ())]

    def admits(self, record: Mapping[str, Any]) -> bool:
        return not self.patterns or any(_match(p, record) for p in self.patterns)


def _match(pattern: Mapping[str, Any], value: Any) -> bool:
    for name, rule in pattern.items():
        field = value.get(name, _MISSING) if isinstance(value, Mapping) else _MISSING
        if isinstance(rule, Mapping):
            if field is _MISSING or not _match(rule, field):
                return False
        elif not _leaf(rule, field):
            return False
    return True


def _leaf(rules: Sequence[Any], field: Any) -> bool:
    values = field if isinstance(field, list) else [field]
    return any(_rule(rule, v) for rule in rules for v in values)


def _rule(rule: Any, value: Any) -> bool:
    if not isinstance(rule, Mapping):
        return value is not _MISSING and bool(value == rule)
    if "exists" in rule:
        return bool(rule["exists"]) == (value is not _MISSING)
    if value is _MISSING:
        return False
    if "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    if "suffix" in rule:
        return isinstance(value, str) and value.endswith(rule["suffix"])
    if "equals-ignore-case" in rule:
        return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
    if "anything-but" in rule:
        banned = rule["anything-but"]
        return value not in (banned if isinstance(banned, list) else [banned])
    if "numeric" in rule:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        terms = rule["numeric"]
        return all(_COMPARE[terms[i]](number, float(terms[i + 1])) for i in range(0, len(terms), 2))
    raise ValueError(f"unsupported filter rule {rule!r}")
