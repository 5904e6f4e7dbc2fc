"""One item from its stored version to the App's: new image, and the guard that protects the old one."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._bound import Bound
from .._builders import Placeholders
from .._values import Item, from_item, to_av
from ._changes import (
    VERSION_ATTRIBUTE,
    AddAttribute,
    Chain,
    MigrationError,
    RemoveAttribute,
    RenameAttribute,
)

if TYPE_CHECKING:
    from .._app import App


def managed(bound: Bound[Any]) -> frozenset[str]:
    """Attributes the model derives (table and GSI key attributes, type marker, version)."""
    table = bound.table
    names = {table.pk, table.type_attribute, VERSION_ATTRIBUTE}
    if table.sk:
        names.add(table.sk)
    for gsi in table.indexes.values():
        names.add(gsi.pk_attr)
        if gsi.sk_attr:
            names.add(gsi.sk_attr)
    return frozenset(names - set(bound.entity.model_fields))


def upgrade(app: App, chain: Chain, bound: Bound[Any], item: Item, target: int | None = None) -> Item:
    """The item as the App writes it: value changes applied, keys rendered by the new templates, `_v` set.

    Attributes outside the entity's fields are kept (unless a change removes them); a changed primary key
    is refused (that would be a different item).
    """
    source = chain.stored_version(item)
    hidden = managed(bound)
    values = {k: v for k, v in from_item(item).items() if k not in hidden}
    values = chain.apply(bound.name, values, source, target)
    fields = bound.entity.model_fields
    typed = {k: v for k, v in values.items() if k in fields}
    entity = bound.codec.decode(
        {k: bound.encode(k, v) if k in fields else to_av(v) for k, v in typed.items()}
    )
    new = {k: to_av(v) for k, v in values.items() if k not in fields and v is not None}
    new.update(bound.item(entity))
    new[VERSION_ATTRIBUTE] = {"N": str(chain.version if target is None else target)}
    guarded = (*bound.entity.options.unique, *bound.entity.references)
    for name in guarded:
        if new.get(name) != item.get(name):
            raise MigrationError(
                f"{bound.name}: the migration changes '{name}', a unique or reference field "
                f"(its sentinel or counters would go stale); change it with the model's writes instead"
            )
    for attribute in (bound.table.pk, bound.table.sk):
        if attribute and new.get(attribute) != item.get(attribute):
            raise MigrationError(
                f"{bound.name}: the migration changes primary key attribute '{attribute}' "
                f"({item.get(attribute)} -> {new.get(attribute)}); copy the items instead"
            )
    return new


MAX_EXPRESSION = 4096  # DynamoDB's limit on an expression's length


def guard(old: Mapping[str, Any], watched: frozenset[str], stamps: tuple[str, ...] = ()) -> dict[str, Any]:
    """A ConditionExpression true only while the item is exactly `old` (as far as a model write can change
    it: every attribute equal, and none of `watched` added).

    An item with too many attributes for one expression is guarded by `_v` and its `stamps` (the entity's
    version / updated fields, which every model write changes); without stamps it cannot be guarded.
    """
    ph = Placeholders()
    terms = [f"{ph.path(name)} = {ph.value(value)}" for name, value in old.items()]
    terms += [f"attribute_not_exists({ph.path(name)})" for name in sorted(watched - set(old))]
    expression = " AND ".join(terms)
    if len(expression) > MAX_EXPRESSION:
        if not stamps:
            raise MigrationError(
                "the item has too many attributes to guard with one condition; declare Options(version=...) "
                "or Options(updated=...) on the entity"
            )
        ph = Placeholders()
        terms = [
            f"{ph.path(n)} = {ph.value(old[n])}" if n in old else f"attribute_not_exists({ph.path(n)})"
            for n in (VERSION_ATTRIBUTE, *stamps)
        ]
        expression = " AND ".join(terms)
    return ph.into({"ConditionExpression": expression})


def stamps(bound: Bound[Any]) -> tuple[str, ...]:
    """The entity's fields that every model write changes (version, updated timestamp)."""
    options = bound.entity.options
    return tuple(n for n in (options.version, options.updated) if n)


def watched(bound: Bound[Any], chain: Chain) -> frozenset[str]:
    """Names a concurrent write of this entity could add: fields old and new, managed attributes."""
    names = set(bound.entity.model_fields) | managed(bound)
    for migration in chain.migrations:
        for change in migration.changes:
            if change.entity is bound.entity and isinstance(
                change, (AddAttribute, RenameAttribute, RemoveAttribute)
            ):
                names.update(getattr(change, n) for n in ("name", "old", "new") if hasattr(change, n))
    return frozenset(names)


def write_units(item: Mapping[str, Any]) -> int:
    """Write capacity units of putting `item` (1 KB each; its size estimated from its JSON)."""
    return max(1, math.ceil(len(json.dumps(item, separators=(",", ":"))) / 1024))
