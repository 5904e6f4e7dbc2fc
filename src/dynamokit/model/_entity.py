"""Entities: pydantic v2 models that know their keys, options and references."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self, TypeVar

from pydantic import BaseModel

from ._codec import Codec
from ._keys import Keys
from ._values import Item, to_av

E = TypeVar("E", bound="Entity")


@dataclass(frozen=True)
class Options:
    """Per-entity behaviour: type name, TTL / version / timestamp fields, unique fields, and `extra`:
    attribute names outside the fields that updates, conditions and filters may use (True: any)."""

    name: str | None = None
    ttl: str | None = None
    version: str | None = None
    created: str | None = None
    updated: str | None = None
    unique: tuple[str, ...] = ()
    extra: bool | tuple[str, ...] = False


@dataclass(frozen=True)
class Ref:
    """A reference from one field to another entity's primary key, with its delete rule."""

    target: type[Entity]
    on_delete: Literal["restrict", "cascade", "ignore"] = "restrict"


class Entity(BaseModel):
    """Base class of stored entities; subclasses set `keys` and optionally `options` and `references`."""

    keys: ClassVar[Keys]
    options: ClassVar[Options] = Options()
    references: ClassVar[Mapping[str, Ref]] = {}
    field_names: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.field_names = frozenset(cls.__pydantic_fields__)

    @classmethod
    def entity_name(cls) -> str:
        """The value of the entity-type marker attribute."""
        return cls.options.name or cls.__name__

    @classmethod
    def encode(cls, name: str, value: Any) -> dict[str, Any]:
        """One field value as an attribute value (the TTL field as epoch seconds)."""
        if name == cls.options.ttl and isinstance(value, dt.datetime):
            return {"N": str(int(value.timestamp()))}
        return to_av(value)

    @classmethod
    def codec(cls) -> Codec:
        """This class's compiled item conversion (built on first use)."""
        return Codec.of(cls, cls.options.ttl)

    def attributes(self) -> Item:
        """This entity's fields as item attributes (keys and marker not included)."""
        return self.codec().encode(self.__dict__)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Self:
        """Rebuild an entity from an item (derived keys and the type marker are skipped)."""
        entity: Self = cls.codec().decode(item)
        return entity
