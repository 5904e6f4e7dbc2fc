"""Lazy upgrade on read: model reads of items written by an older model version see them upgraded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._bound import Bound
from .._errors import ModelError
from .._values import Item
from ._changes import VERSION_ATTRIBUTE, Chain, MigrationError

if TYPE_CHECKING:
    from .._app import App

Upgraded = tuple[Bound[Any], Item, Item]  # (entity, stored image, upgraded image)


def upgrading(app: App, chain: Chain, bound: Bound[Any]) -> Callable[[Mapping[str, Any]], Any]:
    """`bound.decode` that upgrades old items in memory first (current ones pay one dict lookup)."""
    from ._rewrite import upgrade

    base, current = bound.codec.decode, chain.version_text

    def decode(item: Mapping[str, Any]) -> Any:
        stored = item.get(VERSION_ATTRIBUTE)
        if stored is not None and stored.get("N") == current:
            return base(item)
        source = chain.stored_version(item)
        if source > chain.version:
            raise ModelError(f"{bound.name}: a stored item has model version {source}, newer than {current}")
        if source == chain.version or not chain.affects(bound.name, source):
            return base(item)
        new = upgrade(app, chain, bound, dict(item))
        if app.upgraded is not None:
            app.upgraded.append((bound, dict(item), new))
        return base(new)

    return decode


def write_back(app: App) -> int:
    """Write the items reads upgraded in memory (App(..., write_back=True)) back, each guarded by its stored
    image (an item changed since it was read is left to the next run); returns how many were written."""
    from ..._errors import DynamoDBError
    from ._rewrite import guard, stamps, watched

    pending, app.upgraded = app.upgraded or [], [] if app.upgraded is not None else None
    if app.migrations is None:
        return 0
    written = 0
    for bound, old, new in pending:
        try:
            request = {
                "TableName": bound.table.name,
                "Item": new,
                **guard(old, watched(bound, app.migrations), stamps(bound)),
            }
            app.transport.call("PutItem", request)
            written += 1
        except MigrationError:
            continue  # cannot be guarded: left to `migrate run`
        except DynamoDBError as error:
            if error.code != "ConditionalCheckFailedException":
                raise
    return written
