"""Named access patterns, resolved to a key condition when the model is defined (collections: `collection`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic

from .bound import Bound
from .collection import Collection, CollectionQuery, resolve_collection
from .entity import E
from .errors import ModelError
from .keys import KeyDef

__all__ = ["Collection", "CollectionQuery", "Pattern", "resolve", "resolve_collection", "serves"]


@dataclass(frozen=True)
class Pattern(Generic[E]):
    """A named read: `Pattern("posts_by_author", Post, by=("author",))`; `key` pins a key alias or GSI."""

    name: str
    entity: type[E]
    by: tuple[str, ...]
    key: str | None = None
    description: str = ""


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


def resolve(pattern: Pattern[Any], bound: Bound[Any]) -> KeyDef:
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
