"""What a deployment is: the App(s) whose tables it creates, table settings (billing, PITR, deletion
protection, LSIs), and the stream processors with their event source mappings and the table actions they
need. Standard library and the model only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..model import App
from ..model._table import Table
from ..streams._mapping import EventSourceMapping

# The table actions a handler can be granted (IAM checks transactions and batches per item as these).
READ = ("GetItem", "BatchGetItem", "Query", "ConditionCheckItem", "DescribeTable")
WRITE = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "ConditionCheckItem", "DescribeTable")
ACTIONS = frozenset(READ + WRITE + ("Scan", "PartiQLSelect", "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete"))
RUNTIMES = ("python3.11", "python3.12", "python3.13")


class DeploymentError(ValueError):
    """A deployment that cannot be exported as declared (the message says which part and why)."""


@dataclass(frozen=True)
class LSI:
    """A local secondary index: the table's partition key with another sort key."""

    name: str
    sk: str
    sk_type: Literal["S", "N"] = "S"
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


@dataclass(frozen=True)
class TableSettings:
    """How a table is deployed: capacity (on demand, or provisioned read/write units), point-in-time
    recovery, deletion protection (also a Retain deletion policy) and local secondary indexes."""

    billing: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    read_capacity: int | None = None
    write_capacity: int | None = None
    pitr: bool = False
    deletion_protection: bool = False
    lsis: tuple[LSI, ...] = ()

    def __post_init__(self) -> None:
        provisioned = self.read_capacity is not None and self.write_capacity is not None
        if self.billing not in ("PAY_PER_REQUEST", "PROVISIONED"):
            raise DeploymentError(f"billing must be PAY_PER_REQUEST or PROVISIONED, not {self.billing!r}")
        if (self.billing == "PROVISIONED") != provisioned or (
                provisioned and not (self.read_capacity >= 1 and self.write_capacity >= 1)):  # type: ignore[operator]
            raise DeploymentError("read_capacity and write_capacity (1 or more) go with billing='PROVISIONED' only")
        if len(self.lsis) > 5:
            raise DeploymentError("a table has at most 5 local secondary indexes")


@dataclass(frozen=True)
class Processor:
    """A stream processor deployed as a Lambda function: its event source `mapping` (which names the
    handler), the table actions its handler needs (`tables={"views": READ + WRITE}`: least privilege, on
    exactly those tables and their indexes), memory, timeout and environment."""

    name: str
    mapping: EventSourceMapping
    tables: Mapping[str, Sequence[str]] = field(default_factory=dict)
    memory: int = 256
    timeout: int = 60
    environment: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").replace("_", "").isalnum() or len(self.name) > 48:
            raise DeploymentError(f"processor name {self.name!r}: letters, digits, - and _ only (at most 48)")
        if self.mapping.handler is None:
            raise DeploymentError(f"processor {self.name}: its mapping names no handler (module:function)")
        for table, actions in self.tables.items():
            unknown = sorted(set(actions) - ACTIONS)
            if unknown:
                raise DeploymentError(f"processor {self.name}: unknown table action(s) {unknown} on {table!r}; "
                                      f"known: {sorted(ACTIONS)}")
        if not 128 <= self.memory <= 10_240 or not 1 <= self.timeout <= 900:
            raise DeploymentError(f"processor {self.name}: memory must be 128-10240 MB and timeout 1-900 s")


class Deployment:
    """The app as deployed: the tables of `apps` (with `settings` per table name, else `defaults`) and the
    stream `processors`, packaged from `code` (a folder) for `runtime`. Checked when built: every table a
    processor reads or is granted is one of the apps' tables, and a stream it reads is enabled."""

    def __init__(self, *apps: App, processors: Sequence[Processor] = (),
                 settings: Mapping[str, TableSettings] | None = None, defaults: TableSettings | None = None,
                 runtime: str = "python3.12", code: str = ".") -> None:
        self.apps, self.processors = apps, list(processors)
        self.tables: dict[str, Table] = {}
        for app in apps:
            for name, table in app.tables.items():
                if name in self.tables:
                    raise DeploymentError(f"table {name!r} is declared by two apps")
                self.tables[name] = table
        self.defaults = defaults or TableSettings()
        self.settings = dict(settings or {})
        if runtime not in RUNTIMES:
            raise DeploymentError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
        self.runtime, self.code = runtime, code
        for name in self.settings:
            self._table(name, "settings")
        seen: set[str] = set()
        for p in self.processors:
            if p.name in seen:
                raise DeploymentError(f"processor {p.name!r} is declared twice")
            seen.add(p.name)
            if self._table(p.mapping.table, f"processor {p.name}").stream is None:
                raise DeploymentError(f"processor {p.name}: table {p.mapping.table!r} has no stream (Table(stream=...))")
            for name in p.tables:
                self._table(name, f"processor {p.name}")

    def _table(self, name: str, where: str) -> Table:
        if name not in self.tables:
            raise DeploymentError(f"{where}: no table {name!r} in the deployment (tables: {', '.join(self.tables)})")
        return self.tables[name]

    def settings_of(self, table: str) -> TableSettings:
        return self.settings.get(table, self.defaults)

    def mapping(self, processor: str) -> EventSourceMapping:
        """The event source mapping of the named processor (what `LocalRunner.from_mapping` takes)."""
        for p in self.processors:
            if p.name == processor:
                return p.mapping
        raise DeploymentError(f"no processor {processor!r} (processors: {', '.join(p.name for p in self.processors)})")
