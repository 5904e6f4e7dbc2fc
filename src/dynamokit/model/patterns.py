"""Named access patterns and collections, resolved to a key condition when the model is defined."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic

from .bound import Bound
from .entity import E, Entity
from .errors import ModelError
from .keys import KeyDef
from .reads import Query
from .steps import Steps

if TYPE_CHECKING:
    from .app import App


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


@dataclass(frozen=True)
class Collection:
    """Several entity types sharing a partition key: `members={"post": Post, "comments": list[Comment]}`."""

    name: str
    members: Mapping[str, Any]
    key: str | None = None
    description: str = ""
    many: dict[str, bool] = field(init=False, compare=False)
    entities: dict[str, type[Entity]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        many, entities = {}, {}
        for member, kind in self.members.items():
            is_list = typing.get_origin(kind) is list
            entity = typing.get_args(kind)[0] if is_list else kind
            if not (isinstance(entity, type) and issubclass(entity, Entity)):
                raise ModelError(
                    f"collection '{self.name}': member '{member}' must be an Entity or list[Entity]"
                )
            many[member], entities[member] = is_list, entity
        object.__setattr__(self, "many", many)
        object.__setattr__(self, "entities", entities)


def resolve_collection(collection: Collection, bounds: Sequence[Bound[Any]]) -> KeyDef:
    """The key (table or GSI) whose partition template every member shares."""
    tables = {b.table.name for b in bounds}
    if len(tables) != 1:
        raise ModelError(
            f"collection '{collection.name}' spans tables {sorted(tables)}; members must share one"
        )
    names = [None, *bounds[0].table.indexes] if collection.key is None else [collection.key]
    for name in names:
        keys = [next((k for k in b.keys if k.index == name), None) for b in bounds]
        if all(keys) and len({k.pk.text for k in keys if k}) == 1:
            key = keys[0]
            assert key is not None
            return key
    shown = {b.name: [(k.index or "table", k.pk.text) for k in b.keys] for b in bounds}
    raise ModelError(
        f"collection '{collection.name}': no key shares one partition template across members "
        f"(partition keys: {shown})"
    )


class CollectionQuery:
    """One Query over an item collection, grouped by member and typed."""

    def __init__(self, app: App, collection: Collection, key: KeyDef, values: Mapping[str, Any]) -> None:
        self.app, self.collection = app, collection
        bounds = [app.bound(e) for e in collection.entities.values()]
        self.query: Query[Entity] = Query(app, bounds, key, values, name=collection.name, narrow=False)

    def params(self) -> dict[str, Any]:
        return self.query.params()

    @property
    def invalid(self) -> list[Any]:
        """Stored items the last run skipped because they do not validate (see `Page.invalid`)."""
        return self.query.invalid

    def strict(self, strict: bool = True) -> CollectionQuery:
        """Raise InvalidItems instead of skipping items that do not validate."""
        self.query.strict(strict)
        return self

    def steps(self) -> Steps[dict[str, Any]]:
        items = yield from self.query.all_steps()
        members = self.collection.entities
        grouped: dict[str, Any] = {m: [] if self.collection.many[m] else None for m in members}
        by_type = {e.entity_name(): m for m, e in members.items()}
        for item in items:
            member = by_type[type(item).entity_name()]
            if self.collection.many[member]:
                grouped[member].append(item)
            else:
                grouped[member] = item
        return grouped

    def run(self) -> dict[str, Any]:
        """{member: entity or None} for single members, {member: [entities]} for list members."""
        return self.app.drive(self.steps())

    async def arun(self) -> dict[str, Any]:
        return await self.app.adrive(self.steps())
