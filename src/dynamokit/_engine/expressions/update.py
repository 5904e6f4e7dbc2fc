"""Applying an UpdateExpression to an item without mutating it."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .. import numbers
from ..errors import validation
from . import attrs
from .attrs import SET_TYPES, AttrValue
from .evaluate import Item, Names, Values, lookup, resolve

if TYPE_CHECKING:
    from .parsed import UpdateAST

ResolvedPath = tuple["str | int", ...]


def _invalid_path() -> Exception:
    return validation("The document path provided in the update expression is invalid for update")


def _wrong_type() -> Exception:
    return validation("An operand in the update expression has an incorrect data type")


def _sort_key(path: ResolvedPath) -> tuple[tuple[bool, str | int], ...]:
    return tuple((type(p) is str, p) for p in path)


def apply_update(ast: UpdateAST, item: Item, names: Names, values: Values) -> tuple[Item, list[ResolvedPath]]:
    """The updated copy of `item` and the document paths written, in expression order.

    Every right-hand side reads the original item. SETs run first in path order (so list indexes past the
    end append in index order), then ADD and DELETE, then REMOVEs from the highest list index down, so
    every index refers to the list as it was before the update.
    """
    paths = [resolve(action.path.parts, names) for action in ast.actions]
    sets: list[tuple[ResolvedPath, AttrValue]] = []
    removes: list[ResolvedPath] = []
    others: list[tuple[str, ResolvedPath, AttrValue]] = []
    for action, path, compute in zip(ast.actions, paths, ast.set_values):
        if action.clause == "SET":
            sets.append((path, compute(item, names, values)))  # type: ignore[misc]
        elif action.clause == "REMOVE":
            removes.append(path)
        else:
            others.append((action.clause, path, values[action.value.ref]))  # type: ignore[union-attr]
    new = dict(item)
    for path, value in sorted(sets, key=lambda entry: _sort_key(entry[0])):
        _put(new, path, value)
    for clause, path, value in others:
        if clause == "ADD":
            _put(new, path, _added(lookup(new, path), value))
        else:
            remaining = _deleted(lookup(new, path), value)
            if remaining is None:
                removes.append(path)
            elif remaining:
                _put(new, path, remaining)
    for path in sorted(removes, key=_sort_key, reverse=True):
        _remove(new, path)
    return new, paths


def top_level_names(ast: UpdateAST, names: Names) -> set[str]:
    """The top-level attribute names an update writes (for rejecting key updates)."""
    return {str(resolve(action.path.parts[:1], names)[0]) for action in ast.actions}


def _added(current: AttrValue | None, value: AttrValue) -> AttrValue:
    """ADD: number addition (missing counts as 0) or set union of the same set type."""
    tag = attrs.kind(value)
    if current is None:
        if tag != "N" and tag not in SET_TYPES:
            raise _wrong_type()
        return value
    if attrs.kind(current) != tag:
        raise _wrong_type()
    if tag == "N":
        return {"N": numbers.add(current["N"], value["N"])}
    if tag not in SET_TYPES:
        raise _wrong_type()
    present = _members(tag, current[tag])
    extra = [x for x in value[tag] if _member_key(tag, x) not in present]
    return {tag: current[tag] + extra} if extra else current


def _deleted(current: AttrValue | None, value: AttrValue) -> AttrValue | None:
    """DELETE: the set minus the given elements; None when nothing remains, {} when there is no attribute."""
    if current is None:
        return {}
    tag = attrs.kind(value)
    if tag not in SET_TYPES or attrs.kind(current) != tag:
        raise _wrong_type()
    gone = _members(tag, value[tag])
    remaining = [x for x in current[tag] if _member_key(tag, x) not in gone]
    return {tag: remaining} if remaining else None


def _member_key(tag: str, element: str) -> object:
    return Decimal(element) if tag == "NS" else element


def _members(tag: str, elements: list[str]) -> set[object]:
    return {_member_key(tag, x) for x in elements}


def _put(item: Item, path: ResolvedPath, value: AttrValue) -> None:
    """Write `value` at `path` in `item`, copying the containers on the way (never the originals)."""
    head = str(path[0])
    item[head] = value if len(path) == 1 else _put_into(item.get(head), path[1:], value)


def _put_into(node: AttrValue | None, rest: ResolvedPath, value: AttrValue) -> AttrValue:
    part, last = rest[0], len(rest) == 1
    if node is None:
        raise _invalid_path()
    if type(part) is int:
        if "L" not in node:
            raise _invalid_path()
        items = list(node["L"])
        if last:
            if part < len(items):
                items[part] = value
            else:
                items.append(value)
        elif part < len(items):
            items[part] = _put_into(items[part], rest[1:], value)
        else:
            raise _invalid_path()
        return {"L": items}
    if "M" not in node:
        raise _invalid_path()
    fields = dict(node["M"])
    fields[part] = value if last else _put_into(fields.get(part), rest[1:], value)  # type: ignore[index]
    return {"M": fields}


def _remove(item: Item, path: ResolvedPath) -> None:
    head = str(path[0])
    if len(path) == 1:
        item.pop(head, None)
    else:
        item[head] = _remove_from(item.get(head), path[1:])


def _remove_from(node: AttrValue | None, rest: ResolvedPath) -> AttrValue:
    """A copy of `node` without the element at `rest`; removing a missing leaf changes nothing."""
    part, last = rest[0], len(rest) == 1
    if node is None:
        raise _invalid_path()
    if type(part) is int:
        if "L" not in node:
            raise _invalid_path()
        items = node["L"]
        if last:
            return {"L": items[:part] + items[part + 1:]} if part < len(items) else node
        if part >= len(items):
            raise _invalid_path()
        copy = list(items)
        copy[part] = _remove_from(items[part], rest[1:])
        return {"L": copy}
    if "M" not in node:
        raise _invalid_path()
    fields = node["M"]
    if last:
        if part not in fields:
            return node
        return {"M": {k: v for k, v in fields.items() if k != part}}
    return {"M": {**fields, part: _remove_from(fields.get(part), rest[1:])}}  # type: ignore[arg-type]
