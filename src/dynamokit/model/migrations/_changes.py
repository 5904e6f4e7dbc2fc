"""Declared migrations: the changes between two versions of a model, and the chain from any stored version.

A change names the (new) entity class it applies to. Attribute changes rewrite an item's plain values;
key changes (`AddIndex`, `ChangeIndex`) need no per-item code: every migrated item's derived keys are
rendered again by the new model. Plans use them to create missing GSIs and to name the access patterns
that are incomplete until a run finishes. An `AddIndex` whose key attributes are fields the items already
hold (faux-SQL: `GSI("by_user", pk="author_id", sk="created")`) rewrites nothing: DynamoDB backfills the
new GSI itself. `BuildView` (the microservice pattern) writes no item of its own table either: the gapless
stream backfill fills a view from another table.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._entity import Entity
from .._errors import ModelError

if TYPE_CHECKING:
    from .._bound import Bound
    from .._transport import Transport

VERSION_ATTRIBUTE = "_v"


class MigrationError(ModelError):
    """A migration is declared wrongly, or refused for the stored data (one readable line)."""


@dataclass(frozen=True)
class AddIndex:
    """The entity gained key `key` (an alias of its `Keys`): backfill it; the GSI is created if missing."""

    entity: type[Entity]
    key: str

    def describe(self) -> str:
        return f"{self.entity.entity_name()}: add key '{self.key}' (backfill its key attributes)"


@dataclass(frozen=True)
class ChangeIndex:
    """The template of key `key` changed: rewrite its derived key attributes on existing items."""

    entity: type[Entity]
    key: str

    def describe(self) -> str:
        return f"{self.entity.entity_name()}: rewrite key '{self.key}' with its new template"


@dataclass(frozen=True)
class AddAttribute:
    """Add attribute `name` where an item lacks it: `default` is a value or a function of the item's values."""

    entity: type[Entity]
    name: str
    default: Any = None

    def apply(self, values: dict[str, Any]) -> dict[str, Any]:
        if self.name not in values:
            value = self.default(values) if callable(self.default) else copy.deepcopy(self.default)
            if value is not None:
                values[self.name] = value
        return values

    def describe(self) -> str:
        return f"{self.entity.entity_name()}: add attribute '{self.name}' (default {self.default!r})"


@dataclass(frozen=True)
class RenameAttribute:
    """Rename attribute `old` to `new` (a value already written under `new` wins)."""

    entity: type[Entity]
    old: str
    new: str

    def apply(self, values: dict[str, Any]) -> dict[str, Any]:
        if self.old in values:
            value = values.pop(self.old)
            values.setdefault(self.new, value)
        return values

    def describe(self) -> str:
        return f"{self.entity.entity_name()}: rename attribute '{self.old}' to '{self.new}'"


@dataclass(frozen=True)
class RemoveAttribute:
    """Remove attribute `name`."""

    entity: type[Entity]
    name: str

    def apply(self, values: dict[str, Any]) -> dict[str, Any]:
        values.pop(self.name, None)
        return values

    def describe(self) -> str:
        return f"{self.entity.entity_name()}: remove attribute '{self.name}'"


@dataclass(frozen=True)
class Transform:
    """The escape hatch: `function(values) -> values` on an item's plain values (no derived keys, no marker).

    It must be deterministic; an item for which it raises is parked (reported, retried with --retry-parked).
    """

    entity: type[Entity]
    function: Callable[[dict[str, Any]], dict[str, Any]]
    description: str = ""

    def apply(self, values: dict[str, Any]) -> dict[str, Any]:
        out = self.function(values)
        if not isinstance(out, dict):
            raise MigrationError(f"transform {self.describe()!r} returned {type(out).__name__}, not a dict")
        return out

    def describe(self) -> str:
        what = self.description or getattr(self.function, "__name__", "transform")
        return f"{self.entity.entity_name()}: transform ({what})"


@dataclass(frozen=True)
class BuildView:
    """A new view: items of `entity` (in this App's view table) built from table `source`'s items and stream
    by the gapless backfill (`dynamokit.streams.backfill`); `processor(transport)` returns the
    StreamProcessor whose handlers write the view (version-guarded, so the scan and the stream merge)."""

    entity: type[Entity]
    source: str
    processor: Callable[[Transport], Any]
    segments: int = 4

    @property
    def name(self) -> str:
        """The backfill's name: its resumable state in the backfill state table."""
        return f"{self.source}->{self.entity.entity_name()}"

    def describe(self) -> str:
        return (
            f"{self.entity.entity_name()}: build the view from table '{self.source}' (scan + stream backfill)"
        )


Change = AddIndex | ChangeIndex | AddAttribute | RenameAttribute | RemoveAttribute | Transform | BuildView
KEY_CHANGES = (AddIndex, ChangeIndex)


@dataclass(frozen=True)
class Migration:
    """One step between model versions: `Migration(1, 2, [AddIndex(Post, "by_tag"), ...], "posts by tag")`."""

    source: int
    target: int
    changes: Sequence[Change]
    description: str = ""
    entities: frozenset[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if (
            not (isinstance(self.source, int) and isinstance(self.target, int))
            or self.target != self.source + 1
        ):
            raise MigrationError(f"migration {self.source}->{self.target}: versions must be consecutive ints")
        if not self.changes:
            raise MigrationError(f"migration {self.source}->{self.target} declares no changes")
        object.__setattr__(self, "entities", frozenset(c.entity.entity_name() for c in self.changes))

    @property
    def name(self) -> str:
        return f"{self.source}->{self.target}" + (f" ({self.description})" if self.description else "")


class Chain:
    """An App's migrations in order: which stored versions need work, and the value changes per entity."""

    def __init__(self, migrations: Sequence[Migration]) -> None:
        ordered = sorted(migrations, key=lambda m: m.source)
        for before, after in itertools.pairwise(ordered):
            if after.source != before.target:
                raise MigrationError(f"migrations {before.name} and {after.name} leave a gap or overlap")
        if not ordered:
            raise MigrationError("migrations=[] declares no migration")
        self.migrations = ordered
        self.first, self.version = ordered[0].source, ordered[-1].target
        self.version_text = str(self.version)
        self._affected: dict[tuple[int, int | None], frozenset[str]] = {}
        self.in_place: set[AddIndex] = set()  # new GSIs over attributes the items hold: nothing to rewrite

    def check(self, bounds: Mapping[type[Entity], Bound[Any]]) -> None:
        """Every change names an entity of the App, and key changes name one of its keys."""
        for migration in self.migrations:
            for change in migration.changes:
                name = change.entity.entity_name()
                if change.entity not in bounds:
                    raise MigrationError(f"migration {migration.name}: {name} is not an entity of this App")
                guarded = {*change.entity.options.unique, *change.entity.references}
                touched = {getattr(change, n, None) for n in ("name", "old", "new")} & guarded
                if isinstance(change, (RenameAttribute, RemoveAttribute)) and touched:
                    raise MigrationError(
                        f"migration {migration.name}: {name}.{touched.pop()} is a unique or reference field; "
                        f"renaming or removing it would leave sentinels or counters stale"
                    )
                if isinstance(change, KEY_CHANGES) and change.key not in change.entity.keys.indexes:
                    raise MigrationError(
                        f"migration {migration.name}: {name} has no key '{change.key}' "
                        f"(keys: {sorted(change.entity.keys.indexes)})"
                    )
                if isinstance(change, AddIndex):
                    key = bounds[change.entity].indexes[change.key]
                    if {key.pk_attr, key.sk_attr} - {None} <= set(change.entity.model_fields):
                        self.in_place.add(change)
        self._affected.clear()

    def rewrites(self, change: Change) -> bool:
        """Whether a change rewrites the stored items of its entity."""
        return not isinstance(change, BuildView) and change not in self.in_place

    def stored_version(self, item: Mapping[str, Any]) -> int:
        """The model version an item was written with (items from before migrations: the first version)."""
        value = item.get(VERSION_ATTRIBUTE)
        return int(value["N"]) if value and "N" in value else self.first

    def steps(self, source: int, target: int | None = None) -> list[Migration]:
        """The migrations from `source` to `target` (default: the latest)."""
        target = self.version if target is None else target
        if source == target:
            return []
        chosen = [m for m in self.migrations if source <= m.source and m.target <= target]
        if not chosen or chosen[0].source != source or chosen[-1].target != target:
            raise MigrationError(
                f"no migrations from model version {source} to {target} "
                f"(this App declares {', '.join(m.name for m in self.migrations)})"
            )
        return chosen

    def affects(self, entity: str, source: int, target: int | None = None) -> bool:
        return entity in self.affected(source, target)

    def affected(self, source: int, target: int | None = None) -> frozenset[str]:
        """Names of the entities whose items written at `source` need rewriting to reach `target`."""
        known = self._affected.get((source, target))
        if known is None:
            known = frozenset(
                c.entity.entity_name()
                for m in self.steps(source, target)
                for c in m.changes
                if self.rewrites(c)
            )
            self._affected[(source, target)] = known
        return known

    def apply(
        self, entity: str, values: dict[str, Any], source: int, target: int | None = None
    ) -> dict[str, Any]:
        """The plain values of an item of `entity` written at `source`, changed up to `target`."""
        for migration in self.steps(source, target):
            for change in migration.changes:
                if change.entity.entity_name() == entity and not isinstance(
                    change, (*KEY_CHANGES, BuildView)
                ):
                    values = change.apply(values)
        return values

    def key_changes(self, source: int, target: int | None = None) -> list[AddIndex | ChangeIndex]:
        return [c for m in self.steps(source, target) for c in m.changes if isinstance(c, KEY_CHANGES)]

    def views(self, source: int, target: int | None = None) -> list[BuildView]:
        return [c for m in self.steps(source, target) for c in m.changes if isinstance(c, BuildView)]
