"""The DynamoDB expression language: parsing (cached), request checks, evaluation, updates, projection.

Parsed expressions keep `#name` and `:value` placeholders unresolved, so one cached parse serves every
request; names and values are supplied at check and evaluation time.
"""

from __future__ import annotations

from .attrs import AttrValue
from .checks import check_placeholders
from .evaluate import Item, Names, Values
from .nodes import Path
from .parsed import (
    ConditionAST,
    KeyConditionAST,
    Parsed,
    ProjectionAST,
    UpdateAST,
    key_conditions,
    parse_condition,
    parse_key_condition,
    parse_projection,
    parse_update,
)
from .project import project, project_paths, resolve_path
from .reserved import RESERVED_WORDS, is_reserved
from .update import apply_update, top_level_names


def evaluate_condition(ast: ConditionAST, item: Item, names: Names, values: Values) -> bool:
    """Whether `item` satisfies a condition or filter; missing attributes make comparisons false."""
    return ast.test(item, names, values)


__all__ = [
    "RESERVED_WORDS",
    "AttrValue",
    "ConditionAST",
    "KeyConditionAST",
    "Parsed",
    "Path",
    "ProjectionAST",
    "UpdateAST",
    "apply_update",
    "check_placeholders",
    "evaluate_condition",
    "is_reserved",
    "key_conditions",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
    "project",
    "project_paths",
    "resolve_path",
    "top_level_names",
]
