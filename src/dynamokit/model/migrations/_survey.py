"""What a table needs to reach the App's version: stored state, missing GSIs, affected patterns, refusals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._bound import Bound
from .._steps import Steps, call
from .._table import GSI, Table
from ._changes import BuildView, Chain, Migration, MigrationError
from ._state import Stored, read_state

if TYPE_CHECKING:
    from .._app import App


def templates(app: App, table: Table) -> dict[str, dict[str, str]]:
    """The key templates of a table's entities: {entity: {key alias: "pk|sk"}}."""
    return {
        b.name: {k.alias: k.pk.text + ("|" + k.sk.text if k.sk else "") for k in b.keys}
        for b in app.bounds.values()
        if b.table is table
    }


def readers(app: App, table: Table) -> list[tuple[str, list[Bound[Any]], str]]:
    """Every access pattern and collection on `table`: (name, entities read, key alias or GSI name)."""
    out = []
    for name, (declared, key) in app.patterns.items():
        bound = app.bound(declared.entity)
        if bound.table is table:
            out.append((name, [bound], key.alias))
    for name, (collection, key) in app.collections.items():
        bounds = [app.bound(e) for e in collection.entities.values()]
        if bounds[0].table is table:
            out.append((name, bounds, key.index or "primary"))
    return out


@dataclass
class Survey:
    """A table's way from its stored version to the App's."""

    table: Table
    description: dict[str, Any]
    stored: Stored
    source: int
    target: int
    migrations: list[Migration]
    affected: frozenset[str]
    missing: list[GSI] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # pattern/collection -> until what it is served
    rekeyed: dict[str, set[str]] = field(default_factory=dict)  # entity -> key aliases rewritten
    indexed: dict[str, set[str]] = field(default_factory=dict)  # entity -> new GSI keys DynamoDB backfills
    views: list[BuildView] = field(default_factory=list)  # views to build into this table

    @property
    def pending(self) -> bool:
        return self.source != self.target


def survey(app: App, chain: Chain, table: Table, state_table: str) -> Steps[Survey]:
    """Read the table's description and stored state; refuse what a run cannot do, naming why."""
    description = (yield from call("DescribeTable", {"TableName": table.name}))["Table"]
    try:
        stored = yield from read_state(state_table, table.name)
    except Exception as error:  # no state table yet: nothing recorded
        if getattr(error, "code", None) != "ResourceNotFoundException":
            raise
        stored = Stored()
    source = chain.first if stored.version is None else stored.version
    if source > chain.version:
        raise MigrationError(
            f"table '{table.name}' is at model version {source}, newer than this App's version {chain.version}"
        )
    if source < chain.first:
        raise MigrationError(
            f"table '{table.name}' is at model version {source}; this App's migrations start from "
            f"{chain.first}: run the App that declares {source}->{source + 1} first"
        )
    migrations = chain.steps(source)
    entities = {b.name: b for b in app.bounds.values() if b.table is table}
    affected = chain.affected(source) & set(entities)
    existing = {g["IndexName"] for g in description.get("GlobalSecondaryIndexes", [])}
    missing = [g for g in table.indexes.values() if g.name not in existing]
    found = Survey(table, description, stored, source, chain.version, migrations, affected, missing)
    found.views = [v for v in chain.views(source) if v.entity.entity_name() in entities]
    for change in chain.key_changes(source):
        if change.entity.entity_name() in entities:
            into = found.indexed if change in chain.in_place else found.rekeyed
            into.setdefault(change.entity.entity_name(), set()).add(change.key)
    active = {
        g["IndexName"]
        for g in description.get("GlobalSecondaryIndexes", [])
        if g.get("IndexStatus", "ACTIVE") == "ACTIVE"
    }
    built = {v.entity.entity_name() for v in found.views}
    current = templates(app, table)
    for name, bound in entities.items():
        before = stored.keys.get(name, {})
        if before and before.get("primary") != current[name]["primary"]:
            raise MigrationError(
                f"{name}: the primary key template changed ({before['primary']!r} -> "
                f"{current[name]['primary']!r}); a migration cannot rewrite primary keys (copy the items)"
            )
        for alias, text in current[name].items():
            changed = alias != "primary" and before and before.get(alias) not in (None, text)
            if changed and alias not in found.rekeyed.get(name, set()):
                raise MigrationError(
                    f"{name}.{alias}: template changed ({before[alias]!r} -> {text!r}) but no migration "
                    f"declares ChangeIndex({bound.entity.__name__}, {alias!r}); "
                    f"{_users(app, table, bound, alias)} would miss stored items (only a Scan finds them)"
                )
    for name, bounds, key in readers(app, table):
        for bound in bounds:
            alias = bound.find_key(key).alias if key != "primary" else "primary"
            index = bound.find_key(key).index
            stale = alias in found.rekeyed.get(bound.name, set())
            backfilled = alias in found.indexed.get(bound.name, set())
            if index is not None and index not in existing and not (stale or backfilled):
                raise MigrationError(
                    f"access pattern '{name}' reads GSI '{index}', which table '{table.name}' lacks, and no "
                    f"migration adds key '{alias}' of {bound.name} (AddIndex): it could only be served by a Scan"
                )
            if not found.pending or name in found.unavailable:
                continue
            if stale:
                found.unavailable[name] = "the run completes"
            elif backfilled and index not in active:
                found.unavailable[name] = f"GSI '{index}' is ACTIVE (DynamoDB backfills it)"
            elif bound.name in built:
                found.unavailable[name] = "the view is built (its backfill is ready)"
    if stored.version is None or found.indexed:  # compare a sample of stored keys with the new model's
        yield from check_sample(app, chain, found, entities)
    return found


SAMPLE = 100  # items read (one Scan page) to compare stored keys with the new templates


def check_sample(app: App, chain: Chain, found: Survey, entities: dict[str, Bound[Any]]) -> Steps[None]:
    """Refuse when sampled items hold GSI keys the new model renders differently and no migration declares
    that key changed (an entity no migration rewrites would keep stale keys its patterns cannot find), and
    when a GSI DynamoDB backfills from attributes the items hold would find them in another form."""
    from ._rewrite import upgrade

    table = found.table
    response = yield from call("Scan", {"TableName": table.name, "Limit": SAMPLE})
    for item in response.get("Items", []):
        bound = entities.get(item.get(table.type_attribute, {}).get("S", ""))
        if bound is None:
            continue
        try:
            new = upgrade(app, chain, bound, item)
        except Exception:  # noqa: BLE001, S112 - an item the run would park; not a question of keys
            continue
        for key in bound.indexes.values():
            names = [a for a in (key.pk_attr, key.sk_attr) if a]
            if all(new.get(a) == item.get(a) for a in names):
                continue
            rekeyed = key.alias in found.rekeyed.get(bound.name, set())
            if not rekeyed and key.alias in found.indexed.get(bound.name, set()):
                raise MigrationError(
                    f"{bound.name}.{key.alias}: stored items hold its key attributes in another form than the "
                    f"model writes ({_shown(item, names)} vs {_shown(new, names)}); DynamoDB would index both "
                    f"forms, so declare ChangeIndex({bound.entity.__name__}, {key.alias!r}) too to rewrite them"
                )
            if not rekeyed:
                raise MigrationError(
                    f"{bound.name}.{key.alias}: stored items hold keys its template {key.pk.text!r}"
                    f"{' / ' + repr(key.sk.text) if key.sk else ''} does not render (e.g. {_shown(item, names)}) and "
                    f"no migration declares AddIndex/ChangeIndex({bound.entity.__name__}, {key.alias!r}); "
                    f"{_users(app, table, bound, key.alias)} would miss them (only a Scan finds them)"
                )


def _shown(item: dict[str, Any], names: list[str]) -> str:
    return ", ".join(f"{n}={next(iter(item[n].values()))!r}" if n in item else f"{n} missing" for n in names)


def _users(app: App, table: Table, bound: Bound[Any], alias: str) -> str:
    names = [
        n for n, bounds, key in readers(app, table) if bound in bounds and bound.find_key(key).alias == alias
    ]
    return f"access pattern(s) {names}" if names else "its queries"
