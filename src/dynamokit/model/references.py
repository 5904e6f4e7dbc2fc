"""Faux-SQL references: batched includes (no N+1) and delete rules (restrict / cascade)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .batches import batch_get
from .bound import Bound
from .entity import Entity, Ref
from .errors import IntegrityError, ModelError
from .keys import KeyDef
from .patterns import serves
from .reads import Query
from .values import Item

if TYPE_CHECKING:
    from .app import App


@dataclass(frozen=True)
class Referrer:
    """A field of `source` that references another entity, and the key that finds the referring items."""

    source: Bound[Any]
    field: str
    ref: Ref
    key: KeyDef | None


def referrers(bounds: Mapping[type[Entity], Bound[Any]]) -> dict[type[Entity], list[Referrer]]:
    """For each referenced entity type, who references it; a delete rule needing a Scan is rejected."""
    out: dict[type[Entity], list[Referrer]] = {}
    for bound in bounds.values():
        for name, ref in bound.entity.references.items():
            target = bounds.get(ref.target)
            if target is None:
                raise ModelError(
                    f"{bound.name}.{name} references {ref.target.__name__}, which is not in the app"
                )
            if len(target.primary.fields) != 1:
                raise ModelError(
                    f"{bound.name}.{name}: {target.name}'s primary key must have exactly one input"
                )
            key = next((k for k in bound.keys if serves(k, [name])), None)
            if key is None and ref.on_delete != "ignore":
                raise ModelError(
                    f"{bound.name}.{name} -> {target.name} (on_delete={ref.on_delete}): deleting a "
                    f"{target.name} must find its {bound.name} items without a Scan; give "
                    f"{bound.entity.__name__}.keys an Index whose pk is '{{{name}}}'"
                )
            out.setdefault(ref.target, []).append(Referrer(bound, name, ref, key))
    return out


def _ident(table: str, attrs: Sequence[str], item: Item) -> tuple[str, tuple[str, ...]]:
    return table, tuple(item[a]["S"] for a in attrs)


def resolve(app: App, items: Sequence[Any], includes: Sequence[str]) -> dict[str, dict[Any, Entity]]:
    """Load every entity referenced by `items` through `includes`, in BatchGetItem calls."""
    wanted: dict[tuple[str, tuple[str, ...]], list[tuple[str, Any]]] = {}
    keys: list[tuple[str, Item]] = []
    for name in includes:
        for item in items:
            ref = type(item).references.get(name)
            value = getattr(item, name, None)
            if ref is None or value is None:
                continue
            target = app.bound(ref.target)
            key = target.key({target.primary.fields[0]: value})
            ident = _ident(target.table.name, list(key), key)
            if ident not in wanted:
                keys.append((target.table.name, key))
            wanted.setdefault(ident, []).append((name, value))
    found, left = batch_get(app.transport, keys, app.backoff)
    if left:
        raise ModelError(f"{len(left)} referenced items stayed unprocessed after retries")
    out: dict[str, dict[Any, Entity]] = {name: {} for name in includes}
    for table_name, table_items in found.items():
        table = app.tables[table_name]
        attrs = [a for a in (table.pk, table.sk) if a]
        for raw in table_items:
            bound = app.by_name(table_name, raw[table.type_attribute]["S"])
            for name, value in wanted.get(_ident(table_name, attrs, raw), []):
                out[name][value] = bound.decode(raw)
    return out


def children(app: App, referrer: Referrer, value: Any) -> Query[Entity]:
    """A Query for the items of `referrer.source` pointing at `value`."""
    assert referrer.key is not None
    return Query(app, [referrer.source], referrer.key, {referrer.field: value})


def blockers(app: App, target: Bound[Any], value: Any) -> list[Referrer]:
    """Referrers with on_delete=restrict that still have items pointing at `value`."""
    out = []
    for referrer in app.referrers.get(target.entity, []):
        if referrer.ref.on_delete == "restrict" and children(app, referrer, value).limit(25).page().items:
            out.append(referrer)
    return out


def check_restrict(app: App, target: Bound[Any], value: Any) -> None:
    blocking = blockers(app, target, value)
    if blocking:
        names = ", ".join(f"{r.source.name}.{r.field}" for r in blocking)
        raise IntegrityError(
            f"cannot delete {target.name} {value!r}: still referenced by {names} (on_delete=restrict)"
        )


def cascade(app: App, target: Bound[Any], value: Any) -> list[tuple[Bound[Any], Entity]]:
    """Every (bound, entity) to delete with `value` under on_delete=cascade (one level deep)."""
    out: list[tuple[Bound[Any], Entity]] = []
    for referrer in app.referrers.get(target.entity, []):
        if referrer.ref.on_delete == "cascade":
            out += [(referrer.source, child) for child in children(app, referrer, value)]
    return out
