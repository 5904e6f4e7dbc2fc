"""Named access patterns, resolved to a key condition when the model is defined (collections: `collection`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec

from ._bound import Bound
from ._collection import Collection, CollectionQuery, resolve_collection
from ._entity import E
from ._errors import ModelError
from ._keys import KeyDef

__all__ = [
    "AnyPattern",
    "Collection",
    "CollectionQuery",
    "Pattern",
    "TypedPattern",
    "pattern",
    "resolve",
    "resolve_collection",
    "serves",
]

P = ParamSpec("P")


@dataclass(frozen=True)
class Pattern(Generic[E]):
    """A named read: `Pattern("posts_by_author", Post, by=("author",))`; `key` pins a key alias or GSI."""

    name: str
    entity: type[E]
    by: tuple[str, ...]
    key: str | None = None
    description: str = ""


@dataclass(frozen=True)
class TypedPattern(Generic[E, P]):
    """A pattern whose inputs are a function's parameters (see `pattern`), so type checkers check them.

    Not a Pattern subclass: `app.query` then has no untyped fallback for it."""

    name: str
    entity: type[E]
    by: tuple[str, ...]
    key: str | None = None
    description: str = ""
    parameters: tuple[str, ...] = ()  # the parameters in order (positional inputs are bound to them)


AnyPattern = Pattern[Any] | TypedPattern[Any, Any]


def pattern(
    entity: type[E], *, key: str | None = None, name: str | None = None
) -> Callable[[Callable[P, object]], TypedPattern[E, P]]:
    """A Pattern declared by a function's signature: its name, inputs (parameters without a default are the
    pattern's `by`; ones with a default are optional sort-key inputs) and docstring. Type checkers then check
    `app.query(posts_by_author, author="ann")` against `def posts_by_author(*, author: str) -> None`."""

    def declare(function: Callable[P, object]) -> TypedPattern[E, P]:
        parameters = inspect.signature(function).parameters.values()
        by = tuple(p.name for p in parameters if p.default is inspect.Parameter.empty)
        return TypedPattern(
            name or function.__name__,
            entity,
            by,
            key,
            inspect.getdoc(function) or "",
            tuple(p.name for p in parameters),
        )

    return declare


def serves(key: KeyDef, by: Sequence[str]) -> bool:
    """The key answers `by` with a key condition: all partition inputs, then leading sort inputs."""
    given = set(by)
    if not set(key.pk.fields) <= given:
        return False
    rest = given - set(key.pk.fields)
    sort = key.sk.fields if key.sk else ()
    return rest == set(sort[: len(rest)])


def _suggest(bound: Bound[Any], by: Sequence[str]) -> str:
    used = {k.index for k in bound.indexes.values()}
    free = [name for name in bound.table.indexes if name not in used]
    template = "#".join(f"{{{f}}}" for f in by)
    where = (
        f"GSI '{free[0]}' of table '{bound.table.name}'"
        if free
        else f"a new GSI on table '{bound.table.name}' (e.g. GSI('gsi{len(bound.table.indexes) + 1}'))"
    )
    keys = "; ".join(
        f"{k.alias}: pk={k.pk.text!r}" + (f" sk={k.sk.text!r}" if k.sk else "") for k in bound.keys
    )
    return (
        f"no key of {bound.name} serves it without a Scan (keys: {keys}); it would be served by "
        f"{where} with an entry like Index('{free[0] if free else 'gsiN'}', pk='{template}') in "
        f"{bound.entity.__name__}.keys"
    )


def resolve(pattern: AnyPattern, bound: Bound[Any]) -> KeyDef:
    """The key serving a pattern; a pattern that would need a Scan is rejected here."""
    unknown = set(pattern.by) - set(bound.entity.model_fields)
    if unknown:
        raise ModelError(f"pattern '{pattern.name}': {bound.name} has no field(s) {sorted(unknown)}")
    keys = [bound.find_key(pattern.key)] if pattern.key is not None else bound.keys
    for key in keys:
        if serves(key, pattern.by):
            return key
    raise ModelError(
        f"pattern '{pattern.name}' ({bound.name} by {list(pattern.by)}): {_suggest(bound, pattern.by)}"
    )
