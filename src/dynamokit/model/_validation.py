"""Checks made before anything is sent: attribute names exist, and updates leave a valid entity.

An update is checked field by field against the entity's declared types (constraints included): a required
field cannot be removed or set to None, a SET / ADD / list or set change must validate as the field's type.
Names that are neither fields, key attributes nor the type marker are refused with the closest field name,
unless the entity declares them free-form (`Options(extra=True)` or `Options(extra=("name", ...))`).
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterable
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from ._builders import Condition, Update
from ._codec import field_adapter
from ._errors import InvalidUpdate, UnknownAttribute

if TYPE_CHECKING:
    from ._bound import Bound


def _inner(annotation: Any) -> Any:
    """X for `X | None`, else the annotation."""
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not NoneType]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _allows_extra(bound: Bound[Any], name: str) -> bool:
    extra = bound.entity.options.extra
    return extra is True or (isinstance(extra, tuple) and name in extra)


def _unknown(kind: str, where: str, name: str, known: Iterable[str]) -> UnknownAttribute:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return UnknownAttribute(
        f"{where}: {kind} '{name}' is not a field{hint} (free-form attributes: Options(extra=...))"
    )


def check_path(bound: Bound[Any], path: str, kind: str = "attribute") -> FieldInfo | None:
    """A document path must start at a field (or a key attribute / the type marker) and follow nested models.

    Returns the field the path ends at when it walks fields all the way (None below a list index, a dict or
    a free-form attribute)."""
    fields: dict[str, FieldInfo] = bound.entity.__pydantic_fields__  # model_fields is a slower property
    if "." not in path and "[" not in path and path in fields:  # the common case: a top-level field
        return fields[path]
    if "[" in path:
        segments, indexed = re.split(r"\.|\[\d+\]", path), True
    else:
        segments, indexed = path.split("."), False
    segments = [s for s in segments if s]
    root = segments[0] if segments else path
    if root not in fields:
        if root in bound.key_attributes or root == bound.table.type_attribute or _allows_extra(bound, root):
            return None
        if root in (bound.table.pk, bound.table.sk):
            return None
        raise _unknown(kind, bound.name, root, fields)
    info, walked = fields[root], root
    for segment in segments[1:]:
        model = _inner(info.annotation)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None  # a dict, list, Any, ...: free-form below this point
        nested = model.__pydantic_fields__
        if segment not in nested:
            raise _unknown(kind, f"{bound.name}.{walked}", segment, nested)
        info, walked = nested[segment], f"{walked}.{segment}"
    return None if indexed else info


def check_condition(bounds: Iterable[Bound[Any]], condition: Condition | None) -> None:
    """Every path a condition or filter names exists on at least one of `bounds`."""
    if condition is None:
        return
    bounds = list(bounds)
    for path in condition.paths():
        errors = []
        for bound in bounds:
            try:
                check_path(bound, path)
            except UnknownAttribute as error:
                errors.append(error)
        if len(errors) == len(bounds):
            raise errors[0]


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}


def _validator(info: FieldInfo, constraints: bool) -> TypeAdapter[Any]:
    """A field's validator, with its constraints or of its type alone; built once per field."""
    key = id(info) * 2 + constraints
    cached = _ADAPTERS.get(key)
    if cached is None or cached[0] is not info:
        adapter = field_adapter(info) if constraints else TypeAdapter(_inner(info.annotation))
        cached = _ADAPTERS[key] = (info, adapter)
    return cached[1]


_SHAPES: dict[int, tuple[FieldInfo, Any, Any]] = {}


def _shape(info: FieldInfo) -> tuple[Any, Any]:
    """The type of a field (None removed) and its generic origin (list, set, ...), found once per field."""
    cached = _SHAPES.get(id(info))
    if cached is None or cached[0] is not info:
        base = _inner(info.annotation)
        cached = _SHAPES[id(info)] = (info, base, typing.get_origin(base))
    return cached[1], cached[2]


def _reason(error: ValidationError) -> str:
    return str(error.errors()[0].get("msg", error))


def check_update(bound: Bound[Any], update: Update) -> None:
    """Refuse, before sending, an update that would leave the stored item invalid for its entity.

    Values that replace a field (set, if_not_exists) are validated with the field's constraints; amounts and
    elements (add, subtract, delete, append, prepend) by type only, since the result depends on the stored value.
    """
    for kind, path, value in update.actions:
        info = check_path(bound, path, "update of")
        if info is None:
            continue
        if kind == "set" and value.__class__ is info.annotation and not info.metadata:
            continue  # exactly the declared type, no constraints: nothing to check
        where = f"{bound.name}.{path}"
        if kind == "remove" or (kind == "set" and value is None):
            if info.is_required():
                raise InvalidUpdate(f"{where}: a required field cannot be removed or set to None")
            continue  # an optional field becomes None; a field with a default reads back as its default
        base, origin = _shape(info)
        replaces = kind in ("set", "if_not_exists")
        if kind in ("append", "prepend"):
            if origin is not list:
                raise InvalidUpdate(f"{where}: {kind} needs a list field, not {base}")
            value, what = list(value), f"{kind} elements"
        elif kind in ("add", "subtract", "delete"):
            if kind == "delete" and origin not in (set, frozenset):
                raise InvalidUpdate(f"{where}: delete (from a set) needs a set field, not {base}")
            what = f"{kind} {'elements' if origin in (set, frozenset) else 'amount'}"
        else:
            what = "value"
        if value.__class__ is base and not (replaces and info.metadata):
            continue  # exactly the field's type, and no constraints that apply: nothing to check
        try:
            _validator(info, replaces).validate_python(value)
        except ValidationError as error:
            raise InvalidUpdate(f"{where}: {what} {value!r} is invalid: {_reason(error)}") from None
