"""The access-pattern catalogue: entity x key chart and pattern table, as rows or Markdown (`dynamokit model
show` prints them as rich tables: model/_cli.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._app import App
from ._keys import KeyDef
from ._spans import Plan

__all__ = ["PatternRow", "chart", "markdown", "patterns", "rcu"]

ITEM_BYTES = 1024  # assumed item size for estimates
LIST_ITEMS = 10  # assumed items a list read returns


@dataclass(frozen=True)
class PatternRow:
    name: str
    entities: str
    index: str
    condition: str
    rcu: float
    reads: str = ""  # what a collection read holds beyond its members


def _condition(key: KeyDef, narrow: bool) -> str:
    text = f'{key.pk_attr} = "{key.pk.text}"'
    prefix = key.sk.prefix({}) if key.sk is not None and narrow else ""
    if prefix:
        text += f' AND begins_with({key.sk_attr}, "{prefix}")'
    return text


def _span_condition(plan: Plan) -> str:
    key = plan.key
    text = f'{key.pk_attr} = "{key.pk.text}"'
    condition = plan.base.condition()
    if condition is None or key.sk_attr is None:
        return text
    op, operands = condition
    shown = [f'"{o}"'.replace("\U0010ffff", "\\U0010ffff") for o in operands]
    if op == "begins_with":
        return text + f" AND begins_with({key.sk_attr}, {shown[0]})"
    if op == "BETWEEN":
        return text + f" AND {key.sk_attr} BETWEEN {shown[0]} AND {shown[1]}"
    return text + f" AND {key.sk_attr} {op} {shown[0]}"


def rcu(items: int, item_bytes: int = ITEM_BYTES, consistent: bool = False) -> float:
    """Read capacity of one Query returning `items` items: 4 KB units of the total, halved if eventual."""
    units = max(1, math.ceil(items * item_bytes / 4096))
    return float(units) if consistent else units / 2


def chart(app: App) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per entity, its table, primary key and each GSI's key templates."""
    gsis = sorted({g for t in app.tables.values() for g in t.indexes})
    header = ["table", "entity", "pk", "sk", *gsis]
    rows = []
    for bound in app.bounds.values():
        by_index = {k.index: k for k in bound.indexes.values()}
        cells = [
            bound.table.name,
            bound.name,
            bound.primary.pk.text,
            bound.primary.sk.text if bound.primary.sk else "",
        ]
        for name in gsis:
            key = by_index.get(name)
            cells.append(
                "" if key is None else f"{key.pk.text} / {key.sk.text if key.sk else ''}".rstrip(" /")
            )
        rows.append(cells)
    return header, rows


def patterns(app: App, item_bytes: int = ITEM_BYTES) -> list[PatternRow]:
    """Every access pattern and collection with its key condition and estimated RCU per call."""
    rows = []
    for name, (pattern, key) in app.patterns.items():
        items = 1 if set(key.fields) <= set(pattern.by) and key.index is None else LIST_ITEMS
        rows.append(
            PatternRow(
                name,
                app.bound(pattern.entity).name,
                key.index or "table",
                _condition(key, narrow=True),
                rcu(items, item_bytes),
            )
        )
    for name, (collection, key) in app.collections.items():
        items = sum(LIST_ITEMS if collection.many[m] else 1 for m in collection.entities)
        members = ", ".join(e.entity_name() for e in collection.entities.values())
        plan = app.plans[name]
        label = name if collection.within is None else f"{name} (in {collection.within})"
        rows.append(
            PatternRow(
                label, members, key.index or "table", _span_condition(plan), rcu(items, item_bytes), plan.note
            )
        )
    return rows


def markdown(app: App) -> str:
    """The chart and the pattern table as Markdown."""
    header, rows = chart(app)
    lines = ["## Keys", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[:2] + [f"`{c}`" if c else "" for c in row[2:]]) + " |" for row in rows]
    lines += [
        "",
        "## Access patterns",
        "",
        "| pattern | entities | index | key condition | est. RCU/call | reads |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.name} | {r.entities} | {r.index} | `{r.condition}` | {r.rcu:g} | {r.reads} |"
        for r in patterns(app)
    ]
    return "\n".join(lines) + "\n"
