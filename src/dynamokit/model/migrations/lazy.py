"""Lazy upgrade on read: model reads of items written by an older model version see them upgraded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..bound import Bound
from ..errors import ModelError
from ..values import Item
from .changes import VERSION_ATTRIBUTE, Chain

if TYPE_CHECKING:
    from ..app import App

Upgraded = tuple[Bound[Any], Item, Item]  # (entity, stored image, upgraded image)


def upgrading(app: App, chain: Chain, bound: Bound[Any]) -> Callable[[Mapping[str, Any]], Any]:
    """`bound.decode` that upgrades old items in memory first (current ones pay one dict lookup)."""
    from .rewrite import upgrade

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
