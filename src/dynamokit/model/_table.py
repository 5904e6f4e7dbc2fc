"""Tables: key attribute names, GSIs, streams, and the entities stored in them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._entity import Entity


@dataclass(frozen=True)
class GSI:
    """A global secondary index; key attributes default to `<name>pk` / `<name>sk`."""

    name: str
    pk: str | None = None
    sk: str | None = ""
    projection: str = "ALL"
    sk_type: str = "S"  # "N": a numeric sort key, from one int or Decimal field (template exactly "{field}")

    @property
    def pk_attr(self) -> str:
        return self.pk or f"{self.name}pk"

    @property
    def sk_attr(self) -> str | None:
        return f"{self.name}sk" if self.sk == "" else self.sk


class Table:
    """A DynamoDB table holding one entity (simple / faux-SQL) or many (single-table design)."""

    def __init__(
        self,
        name: str,
        entities: Sequence[type[Entity]],
        *,
        pk: str = "pk",
        sk: str | None = "sk",
        indexes: Sequence[GSI] = (),
        stream: str | None = None,
        type_attribute: str = "_type",
    ) -> None:
        self.name, self.entities, self.pk, self.sk = name, list(entities), pk, sk
        self.indexes = {gsi.name: gsi for gsi in indexes}
        self.stream, self.type_attribute = stream, type_attribute

    @property
    def ttl_attribute(self) -> str | None:
        """The TTL attribute shared by this table's entities that declare one."""
        names = {e.options.ttl for e in self.entities if e.options.ttl}
        return names.pop() if len(names) == 1 else None
