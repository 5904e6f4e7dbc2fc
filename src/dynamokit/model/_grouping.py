"""A collection's result shape: members by name, each one entity (or None) or a list, as a dict or a class.

`Collection("thread", {"post": Post, "comments": list[Comment]})` groups into a dict;
`Collection("thread", Thread)` with a dataclass or TypedDict `Thread` (`post: Post | None`,
`comments: list[Comment]`) groups into a `Thread`, so the result is typed where it is used.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from types import NoneType, UnionType
from typing import Any

from ._entity import Entity
from ._errors import ModelError


def _entity(kind: Any) -> type[Entity] | None:
    return kind if isinstance(kind, type) and issubclass(kind, Entity) else None


def _member(collection: str, member: str, kind: Any, declared: bool) -> tuple[type[Entity], bool]:
    """(entity, many) of one member annotation: `list[E]`, `E | None`, or (in a dict) `E`."""
    origin = typing.get_origin(kind)
    if origin is list and _entity(typing.get_args(kind)[0]):
        return typing.get_args(kind)[0], True
    if origin in (UnionType, typing.Union):
        rest = [a for a in typing.get_args(kind) if a is not NoneType]
        if len(rest) == 1 and len(typing.get_args(kind)) == 2 and _entity(rest[0]):
            return rest[0], False
    entity = _entity(kind)
    if entity is not None and not declared:
        return entity, False
    shape = "list[Entity] or Entity | None" if declared else "an Entity or list[Entity]"
    raise ModelError(f"collection '{collection}': member '{member}' must be {shape}, not {kind!r}")


@dataclasses.dataclass(frozen=True)
class Grouping:
    """Members by name (entity type, many?) and the function building the result from grouped values."""

    entities: dict[str, type[Entity]]
    many: dict[str, bool]
    build: Callable[[dict[str, Any]], Any]

    @classmethod
    def of(cls, collection: str, members: Mapping[str, Any] | type) -> Grouping:
        build: Callable[[dict[str, Any]], Any]
        if isinstance(members, Mapping):
            hints, build, declared = dict(members), dict, False
        elif isinstance(members, type) and (dataclasses.is_dataclass(members) or _is_typeddict(members)):
            try:
                hints = typing.get_type_hints(members)
            except NameError as error:
                raise ModelError(
                    f"collection '{collection}': cannot resolve {members.__name__}: {error}"
                ) from None
            build, declared = (lambda values: members(**values)), True
        else:
            raise ModelError(
                f"collection '{collection}': members must be a dict, a dataclass or a TypedDict, not {members!r}"
            )
        entities, many = {}, {}
        for member, kind in hints.items():
            entities[member], many[member] = _member(collection, member, kind, declared)
        if not entities:
            raise ModelError(f"collection '{collection}' has no members")
        by_name = [e.entity_name() for e in entities.values()]
        if len(set(by_name)) != len(by_name):
            raise ModelError(f"collection '{collection}': an entity is a member twice")
        return cls(entities, many, build)

    def empty(self) -> dict[str, Any]:
        return {m: [] if self.many[m] else None for m in self.entities}


def _is_typeddict(kind: type) -> bool:
    return typing.is_typeddict(kind)
