"""Write actions: put, update (with derived-key rewriting), delete and condition checks.

Each write is built as a list of transaction-shaped actions; one action runs as its own operation,
several run together in one TransactWriteItems.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._bound import COUNTER_TYPE, UNIQUE_TYPE, Bound
from ._builders import Condition, Placeholders, Update
from ._entity import E, Entity
from ._errors import MissingKeyInputs, ModelError
from ._steps import Steps, call
from ._validation import check_condition, check_update
from ._values import Item

_SINGLE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}


@dataclass
class Action:
    """One write in TransactWriteItems shape: kind is Put, Update, Delete or ConditionCheck."""

    kind: str
    request: dict[str, Any]

    def as_delete(self) -> Action:
        """This condition check as a conditional Delete of the same item."""
        return Action("Delete", self.request)


def with_condition(
    request: dict[str, Any], bound: Bound[Any], conditions: list[Condition], ph: Placeholders | None = None
) -> dict[str, Any]:
    if not conditions and ph is None:
        return request
    ph = ph or Placeholders()
    if conditions:
        combined = conditions[0]
        for condition in conditions[1:]:
            combined = combined & condition
        request["ConditionExpression"] = combined.render(ph, bound.encode)
    return ph.into(request)


def check(bound: Bound[Any], key: Item, condition: Condition) -> Action:
    """A ConditionCheck on one item."""
    return Action(
        "ConditionCheck", with_condition({"TableName": bound.table.name, "Key": key}, bound, [condition])
    )


def counter_attribute(source: str, field: str) -> str:
    """The counter, on a referenced item's counter item, of `source` items referencing it through `field`."""
    return f"refs:{source}:{field}".replace(".", "_").replace("[", "_")


class Counters:
    """Reference-count changes, merged into one Update per counter item (a transaction names an item once)."""

    def __init__(self) -> None:
        self.changes: dict[str, tuple[Bound[Any], Item, dict[str, int]]] = {}

    def add(self, target: Bound[Any], value: Any, attribute: str, delta: int) -> None:
        key = target.counter_key(value)
        _, _, deltas = self.changes.setdefault(ident(target.table.name, key), (target, key, {}))
        deltas[attribute] = deltas.get(attribute, 0) + delta

    def actions(self, skip: frozenset[str] = frozenset()) -> list[Action]:
        out = []
        for name, (target, key, deltas) in self.changes.items():
            changed = {a: d for a, d in deltas.items() if d}
            if name in skip or not changed:
                continue
            ph = Placeholders()
            marker = f"{ph.path(target.table.type_attribute)} = {ph.value({'S': COUNTER_TYPE})}"
            adds = ", ".join(f"{ph.path(a)} {ph.value({'N': str(d)})}" for a, d in sorted(changed.items()))
            request = {
                "TableName": target.table.name,
                "Key": key,
                "UpdateExpression": f"SET {marker} ADD {adds}",
            }
            out.append(Action("Update", ph.into(request)))
        return out


def ident(table: str, key: Item) -> str:
    """A hashable identity of one item."""
    return table + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(key.items()))


def reference_changes(
    bound: Bound[Any],
    bounds: Mapping[type[Entity], Bound[Any]],
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    counters: Counters,
) -> list[Action]:
    """ConditionChecks that every item referenced in `new` exists, and the count changes from old to new."""
    out: dict[str, Action] = {}
    for name, ref in bound.entity.references.items():
        if name not in new:
            continue
        target = bounds[ref.target]
        before, after = None if old is None else old.get(name), new[name]
        if after is not None:
            key = target.key({target.primary.fields[0]: after})
            out.setdefault(ident(target.table.name, key), check(target, key, target.exists()))
        if name in bound.counted and before != after:
            attribute = counter_attribute(bound.name, name)
            if before is not None:
                counters.add(target, before, attribute, -1)
            if after is not None:
                counters.add(target, after, attribute, 1)
    return list(out.values())


def reference_checks(
    bound: Bound[Any], bounds: Mapping[type[Entity], Bound[Any]], values: Mapping[str, Any]
) -> list[Action]:
    """ConditionChecks that every referenced item named in `values` exists (no count changes)."""
    return reference_changes(bound, bounds, values, values, Counters())


def unique_actions(
    bound: Bound[Any], old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> list[Action]:
    """Sentinel puts/deletes for unique fields whose value changes from `old` to `new`."""
    out = []
    for name in bound.entity.options.unique:
        before = None if old is None else old.get(name)
        after = None if new is None else new.get(name)
        if before == after:
            continue
        if before is not None:
            out.append(Action("Delete", {"TableName": bound.table.name, "Key": bound.sentinel(name, before)}))
        if after is not None:
            item = {**bound.sentinel(name, after), bound.table.type_attribute: {"S": UNIQUE_TYPE}}
            out.append(
                Action(
                    "Put",
                    with_condition({"TableName": bound.table.name, "Item": item}, bound, [bound.absent()]),
                )
            )
    return out


def stamp(
    bound: Bound[E], entity: E, now: dt.datetime, *, old_version: int | None, keep_updated: bool = False
) -> E:
    """The entity as it will be stored: timestamps set and version bumped (`keep_updated`: an explicit
    updated timestamp is kept, as batch loads of existing data need)."""
    options = bound.entity.options
    changes: dict[str, Any] = {}
    if options.created and getattr(entity, options.created) is None:
        changes[options.created] = now
    if options.updated and not (keep_updated and getattr(entity, options.updated) is not None):
        changes[options.updated] = now
    if options.version:
        changes[options.version] = (old_version or 0) + 1
    return entity.model_copy(update=changes) if changes else entity


def put_actions(
    bound: Bound[E],
    bounds: Mapping[type[Entity], Bound[Any]],
    entity: E,
    *,
    create: bool,
    clock: Callable[[], dt.datetime],
    condition: Condition | None = None,
    current: Mapping[str, Any] | None = None,
) -> tuple[list[Action], E]:
    """Put an entity: create-only or upsert (guarded by its version when it has one); `clock` is read only
    for an entity that keeps timestamps."""
    if condition is not None:
        check_condition([bound], condition)
    options = bound.entity.options
    old_version = getattr(entity, options.version) if options.version else None
    stored = stamp(bound, entity, clock(), old_version=old_version) if bound.stamped else entity
    conditions = [condition] if condition is not None else []
    if create or (options.version and not old_version):
        conditions.append(bound.absent())
    elif options.version:
        conditions.append(bound.equals(options.version, old_version))
    guarded = (*options.unique, *bound.counted)
    if guarded and not create:  # what it replaces decides the sentinels and counts to change
        if current is None:
            raise MissingKeyInputs(bound.name, "unique/references", list(guarded))
        conditions += [bound.equals(name, current.get(name)) for name in guarded]
    request = {"TableName": bound.table.name, "Item": bound.item(stored)}
    actions = [Action("Put", with_condition(request, bound, conditions))]
    if not guarded and not bound.entity.references:
        return actions, stored
    new_values = stored.__dict__
    actions += unique_actions(bound, None if create else current, new_values)
    counters = Counters()
    actions += reference_changes(bound, bounds, None if create else current, new_values, counters)
    return actions + counters.actions(), stored


def delete_actions(
    bound: Bound[Any],
    key_values: Mapping[str, Any],
    *,
    condition: Condition | None = None,
    current: Mapping[str, Any] | None = None,
    counters: Counters | None = None,
) -> list[Action]:
    """Delete one entity, releasing its unique values and its references' counts (current values needed).

    Count changes go to `counters` when given (the caller merges them), else they are added here.
    """
    check_condition([bound], condition)
    conditions = [condition] if condition is not None else []
    guarded = (*bound.entity.options.unique, *bound.counted)
    if guarded:
        if current is None:
            raise MissingKeyInputs(bound.name, "unique/references", list(guarded))
        conditions += [bound.equals(name, current.get(name)) for name in guarded]
    request = {"TableName": bound.table.name, "Key": bound.key(key_values)}
    actions = [Action("Delete", with_condition(request, bound, conditions))]
    actions += unique_actions(bound, current, None)
    if bound.counted and current is not None:
        mine = Counters() if counters is None else counters
        for name, ref in bound.counted.items():
            if current.get(name) is not None:
                mine.add(bound_of(bound, ref.target), current[name], counter_attribute(bound.name, name), -1)
        if counters is None:
            actions += mine.actions()
    return actions


def bound_of(bound: Bound[Any], target: type[Entity]) -> Bound[Any]:
    """The Bound of a referenced entity type (recorded on the referring Bound by its App)."""
    return bound.targets[target]


def update_actions(
    bound: Bound[Any],
    bounds: Mapping[type[Entity], Bound[Any]],
    key_values: Mapping[str, Any],
    update: Update,
    *,
    clock: Callable[[], dt.datetime],
    condition: Condition | None = None,
    known: Mapping[str, Any] | None = None,
    checked: bool = False,
) -> list[Action]:
    """Update an existing entity, rewriting every derived key whose inputs it changes (`checked`: the
    update's actions were validated as they were added, as UpdateOp does; `clock` is read only for an
    `updated` timestamp).

    A key is recomputed from the update's own values, the primary key inputs and `known` current
    values; each `known` value becomes a condition, so a concurrent change fails the write instead
    of leaving a stale key. Missing inputs raise MissingKeyInputs naming them.
    """
    if not checked:
        check_update(bound, update)
        check_condition([bound], condition)
    known = {name: bound.coerce(name, value) for name, value in known.items()} if known else {}
    options = bound.entity.options
    full = Update(list(update.actions))
    if options.updated:
        full.set({options.updated: clock()})
    if options.version:
        full.add({options.version: 1})
    touched = full.touched()
    locked = touched.intersection(bound.primary.fields)
    if locked:
        raise ModelError(
            f"{bound.name}: {sorted(locked)} are primary key inputs; delete and re-create instead"
        )
    derived = touched & bound.key_attributes
    if derived or bound.table.type_attribute in touched:
        raise ModelError(
            f"{bound.name}: {sorted(derived) or [bound.table.type_attribute]} are managed by the model"
        )
    assigned = {name: bound.coerce(name, value) for name, value in full.assigned().items()}
    conditions = [bound.exists()] + ([condition] if condition is not None else [])
    needed: set[str] = set()
    if not touched.isdisjoint(bound.index_inputs):
        available = {**{f: bound.coerce(f, key_values[f]) for f in bound.primary.fields}, **known, **assigned}
        needed = rewrite_keys(bound, full, touched, assigned, available)
    unique_changes = touched.intersection(options.unique)
    for name in unique_changes:
        if name not in known:
            raise MissingKeyInputs(bound.name, f"unique {name}", [name])
        needed.add(name)
    ref_changes = touched.intersection(bound.counted)
    for name in ref_changes:
        if name not in assigned:
            raise ModelError(f"{bound.name}: change reference '{name}' with set()")
        if name not in known:
            raise MissingKeyInputs(bound.name, f"reference {name}", [name])
        needed.add(name)
    conditions += [bound.equals(name, known[name]) for name in sorted(needed)]
    ph = Placeholders()
    request = {
        "TableName": bound.table.name,
        "Key": bound.key(key_values),
        "UpdateExpression": full.render(ph, bound.encode),
    }
    actions = [Action("Update", with_condition(request, bound, conditions, ph))]
    if unique_changes:
        actions += unique_actions(
            bound, {n: known[n] for n in unique_changes}, {n: assigned[n] for n in unique_changes}
        )
    if not bound.entity.references:
        return actions
    counters = Counters()
    actions += reference_changes(
        bound,
        bounds,
        {n: known[n] for n in ref_changes},
        {n: v for n, v in assigned.items() if n in bound.entity.references},
        counters,
    )
    return actions + counters.actions()


def rewrite_keys(
    bound: Bound[Any],
    full: Update,
    touched: frozenset[str],
    assigned: Mapping[str, Any],
    available: Mapping[str, Any],
) -> set[str]:
    """Add to `full` the rewrite of every GSI key whose inputs the update touches; returns the fields read
    (not assigned, not primary key inputs) that the rewritten keys rely on."""
    needed: set[str] = set()
    for key in bound.indexes.values():
        hit = touched.intersection(key.fields)
        if not hit:
            continue
        computed = hit - set(assigned)
        if computed:
            raise ModelError(
                f"{bound.name}: {sorted(computed)} feed key '{key.alias}'; change them with set()"
            )
        missing = [f for f in key.fields if f not in available]
        if missing:
            raise MissingKeyInputs(bound.name, key.alias, missing)
        needed.update(f for f in key.fields if f not in assigned and f not in bound.primary.fields)
        rendered = key.render(available)
        names = [a for a in (key.pk_attr, key.sk_attr) if a and a in bound.key_attributes]
        if rendered is None:
            full.remove(*names)
        else:
            full.set(
                {
                    name: numeric_key(rendered[name])
                    if name == key.sk_attr and key.sk_type == "N"
                    else rendered[name]
                    for name in names
                }
            )
    return needed


def numeric_key(text: str) -> int | Decimal:
    """A numeric sort key's rendered text as the number it stores (so it is written as N)."""
    return Decimal(text) if any(c in text for c in ".eE") else int(text)


def request_of(actions: list[Action], **single: Any) -> tuple[str, dict[str, Any]]:
    """The operation and request that run these actions (`single` extras apply to a lone action)."""
    if len(actions) == 1 and actions[0].kind in _SINGLE:
        request = actions[0].request
        return _SINGLE[actions[0].kind], {**request, **single} if single else request
    if len(actions) > 100:
        raise ModelError(f"a transaction holds at most 100 actions, not {len(actions)}")
    return "TransactWriteItems", {"TransactItems": [{a.kind: a.request} for a in actions]}


def execute(actions: list[Action], **single: Any) -> Steps[dict[str, Any]]:
    operation, request = request_of(actions, **single)
    return (yield from call(operation, request))
