"""Faux-SQL references: batched includes (no N+1) and delete rules (restrict / cascade)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._batches import batch_get
from ._bound import Bound
from ._builders import Condition, attr
from ._entity import Entity, Ref
from ._errors import CascadeTooLarge, IntegrityError, ModelError
from ._keys import KeyDef
from ._patterns import serves
from ._reads import Query, decode_checked
from ._steps import Steps
from ._values import Item
from ._writes import Action, Counters, check, counter_attribute, delete_actions, ident

MAX_CASCADE_DEPTH = 5
TRANSACTION_LIMIT = 100

if TYPE_CHECKING:
    from ._app import App


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


def resolve(app: App, items: Sequence[Any], includes: Sequence[str]) -> Steps[dict[str, dict[Any, Entity]]]:
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
    found, left = yield from batch_get(keys, app.backoff)
    if left:
        raise ModelError(f"{len(left)} referenced items stayed unprocessed after retries")
    out: dict[str, dict[Any, Entity]] = {name: {} for name in includes}
    for table_name, table_items in found.items():
        table = app.tables[table_name]
        attrs = [a for a in (table.pk, table.sk) if a]
        for raw in table_items:
            bound = app.by_name(table_name, raw[table.type_attribute]["S"])
            for name, value in wanted.get(_ident(table_name, attrs, raw), []):
                out[name][value] = decode_checked(bound, raw)
    return out


def children(app: App, referrer: Referrer, value: Any) -> Query[Entity]:
    """A Query for the items of `referrer.source` pointing at `value`."""
    assert referrer.key is not None
    return Query(app, [referrer.source], referrer.key, {referrer.field: value})


def blockers(app: App, target: Bound[Any], value: Any) -> Steps[list[Referrer]]:
    """Referrers with on_delete=restrict that still have items pointing at `value` (for error messages)."""
    out = []
    for referrer in app.referrers.get(target.entity, []):
        if referrer.ref.on_delete == "restrict":
            page = yield from children(app, referrer, value).limit(25).page_steps()
            if page.items:
                out.append(referrer)
    return out


def restricted(app: App, doomed: Sequence[tuple[Bound[Any], Any]]) -> Steps[IntegrityError | None]:
    """The error naming what blocks a delete, if a restrict rule does, anywhere in its cascade."""
    for target, value in doomed:
        blocking = yield from blockers(app, target, value)
        if blocking:
            names = ", ".join(f"{r.source.name}.{r.field}" for r in blocking)
            return IntegrityError(
                f"cannot delete {target.name} {value!r}: still referenced by {names} (on_delete=restrict)"
            )
    return None


def guard(app: App, target: Bound[Any], value: Any, found: Mapping[tuple[str, str], int]) -> Action | None:
    """Delete the counter item of `value`, on the condition that its referrers are exactly as found.

    Restrict referrers must count 0; cascade referrers must count what the cascade deletes (`found`), so a
    referrer written concurrently, or one a stale index missed, fails the whole transaction.
    """
    counted = [r for r in app.referrers.get(target.entity, []) if r.ref.on_delete != "ignore"]
    if not counted:
        return None
    condition: Condition | None = None
    for referrer in counted:
        path = attr(counter_attribute(referrer.source.name, referrer.field))
        expected = found.get((referrer.source.name, referrer.field), 0)
        term = (path.not_exists() | (path == 0)) if expected == 0 else (path == expected)
        condition = term if condition is None else condition & term
    assert condition is not None
    return check(target, target.counter_key(value), condition).as_delete()


@dataclass
class _Doomed:
    bound: Bound[Any]
    key: dict[str, Any]
    current: Mapping[str, Any] | None
    depth: int
    condition: Condition | None = None
    found: dict[tuple[str, str], int] = field(default_factory=dict)


def plan_delete(
    app: App,
    bound: Bound[Any],
    key: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    *,
    condition: Condition | None = None,
    max_depth: int = MAX_CASCADE_DEPTH,
    limit: int = TRANSACTION_LIMIT,
    doomed: list[tuple[Bound[Any], Any]] | None = None,
) -> Steps[list[Action]]:
    """Every action of one atomic delete: the item, its cascade (to `max_depth` levels), counts and guards.

    Raises CascadeTooLarge when it would take more than `limit` actions (one transaction's worth).
    `doomed`, when given, receives (bound, primary input) of every item the plan deletes.
    """
    nodes = [_Doomed(bound, dict(key), current, 0, condition)]
    seen = {ident(bound.table.name, bound.key(key))}
    for node in nodes:  # grows while walking: breadth first
        value = node.key.get(node.bound.primary.fields[0])
        for referrer in app.referrers.get(node.bound.entity, []):
            if referrer.ref.on_delete != "cascade":
                continue
            kids = yield from children(app, referrer, value).all_steps()
            node.found[(referrer.source.name, referrer.field)] = len(kids)
            if kids and node.depth >= max_depth:
                raise CascadeTooLarge(
                    f"deleting {bound.name} {dict(key)} cascades deeper than {max_depth} levels "
                    f"({node.bound.name} {value!r} still has {referrer.source.name} items)"
                )
            for kid in kids:
                kid_key = {f: getattr(kid, f) for f in referrer.source.primary.fields}
                name = ident(referrer.source.table.name, referrer.source.key(kid_key))
                if name not in seen:
                    seen.add(name)
                    nodes.append(_Doomed(referrer.source, kid_key, kid.__dict__, node.depth + 1))
            if len(nodes) > limit:
                raise CascadeTooLarge(
                    f"deleting {bound.name} {dict(key)} cascades to more than {limit} items: too large "
                    f"for one transaction ({limit} actions); delete its referrers in smaller steps first"
                )
    if doomed is not None:
        doomed += [(node.bound, node.key.get(node.bound.primary.fields[0])) for node in nodes]
    counters = Counters()
    actions: list[Action] = []
    gone: set[str] = set()
    for node in nodes:
        value = node.key.get(node.bound.primary.fields[0])
        actions += delete_actions(
            node.bound, node.key, condition=node.condition, current=node.current, counters=counters
        )
        guarding = guard(app, node.bound, value, node.found)
        if guarding is not None:
            actions.append(guarding)
            gone.add(ident(node.bound.table.name, node.bound.counter_key(value)))
    actions += counters.actions(skip=frozenset(gone))
    if len(actions) > limit:
        raise CascadeTooLarge(
            f"deleting {bound.name} {dict(key)} takes {len(actions)} actions (items, unique values and "
            f"reference counts): more than one transaction holds ({limit}); delete its referrers first"
        )
    return actions
