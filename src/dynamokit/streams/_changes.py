"""Typed change decoding: one stream record (GetRecords, Lambda, Kinesis-for-DynamoDB or SQS shape) becomes
a `Change`, with old and new images decoded into the model's entities by their type marker."""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from ..model import App
from ..model._bound import Bound
from ..model._values import from_item
from ._events import table_of_arn, unwrap

Kind = Literal["insert", "update", "delete", "expire"]
T = TypeVar("T")
_KINDS: dict[str, Kind] = {"INSERT": "insert", "MODIFY": "update", "REMOVE": "delete"}
DEFAULT_MARKER = "_type"


@dataclass(slots=True)
class Change(Generic[T]):
    """One item change. `old`/`new` are entities (when routed by an App) or plain dicts; None when absent.

    `version` orders the changes of one item: the stream sequence number, or for a backfill's scanned item
    a number between the record before the backfill started and the first one after it."""

    kind: Kind
    entity_type: str | None
    old: T | None
    new: T | None
    keys: dict[str, Any]
    sequence_number: str | None
    created_at: float
    event_id: str
    table: str | None = None
    version: int | Decimal = 0
    known: bool = True  # False: the App knows no entity for this item (images are plain dicts)

    @property
    def item(self) -> T | None:
        """The item after the change, or before it for deletes and expiries."""
        return self.new if self.new is not None else self.old

    @property
    def data(self) -> Any:
        """`item` as plain data: an entity's fields in JSON mode (no key or type attributes), or the image."""
        item = self.item
        dump = getattr(item, "model_dump", None)
        return dump(mode="json") if dump is not None else item

    @property
    def key_id(self) -> str:
        """A canonical text of table and primary key, the unit of ordering."""
        return f"{self.table}|{sorted(self.keys.items())!r}"


class _Router:
    """Finds the entity of an item: by table and type marker, or by marker alone when it is unambiguous."""

    def __init__(self, app: App) -> None:
        self.tables: dict[str, tuple[str, dict[str, Bound[Any]], Bound[Any] | None]] = {}
        anywhere: dict[tuple[str, str], list[Bound[Any]]] = {}
        for table in app.tables.values():
            bounds = {b.name: b for b in app.bounds.values() if b.table is table}
            only = next(iter(bounds.values())) if len(bounds) == 1 else None
            self.tables[table.name] = (table.type_attribute, bounds, only)
            for name, bound in bounds.items():
                anywhere.setdefault((table.type_attribute, name), []).append(bound)
        self.anywhere = {k: v[0] for k, v in anywhere.items() if len(v) == 1}
        self.markers = sorted({k[0] for k in anywhere})

    def route(self, table: str | None, image: Mapping[str, Any] | None) -> Bound[Any] | None:
        if image is None:
            return None
        if table is not None and table in self.tables:
            marker, bounds, only = self.tables[table]
            name = image.get(marker, {}).get("S")
            return bounds.get(name) if name is not None else only
        for marker in self.markers:
            name = image.get(marker, {}).get("S")
            if name is not None:
                return self.anywhere.get((marker, name))
        return None


_ROUTERS: weakref.WeakKeyDictionary[App, _Router] = weakref.WeakKeyDictionary()


def _router(app: App) -> _Router:
    router = _ROUTERS.get(app)
    if router is None:
        router = _ROUTERS[app] = _Router(app)
    return router


def epoch_seconds(value: Any) -> float:
    """ApproximateCreationDateTime as epoch seconds (Kinesis payloads carry milliseconds or microseconds)."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    number = float(value or 0)
    if number > 1e14:
        return number / 1e6
    if number > 1e11:
        return number / 1e3
    return number


def _marker_name(image: Mapping[str, Any] | None, marker: str) -> str | None:
    return None if image is None else image.get(marker, {}).get("S")


def build(kind: Kind, table: str | None, keys: Mapping[str, Any], old: Mapping[str, Any] | None,
          new: Mapping[str, Any] | None, *, sequence_number: str | None, created_at: float, event_id: str,
          version: int | Decimal, app: App | None) -> Change[Any]:
    """A Change from wire-shaped images, decoded into entities when `app` knows the item's type."""
    image = new if new is not None else old
    bound = _router(app).route(table, image) if app is not None else None
    if bound is not None:
        return Change(kind, bound.name, None if old is None else bound.decode(old),
                      None if new is None else bound.decode(new), from_item(keys), sequence_number,
                      created_at, event_id, table, version, True)
    marker = DEFAULT_MARKER if app is None else (
        app.tables[table].type_attribute if table in app.tables else DEFAULT_MARKER)
    return Change(kind, _marker_name(image, marker), None if old is None else from_item(old),
                  None if new is None else from_item(new), from_item(keys), sequence_number, created_at,
                  event_id, table, version, app is None)


def decode(record: dict[str, Any], app: App | None = None, table: str | None = None) -> Change[Any]:
    """One stream record as a Change. `table` names the source table when the record does not (GetRecords
    records carry no table name; Lambda records have `eventSourceARN`, Kinesis payloads `tableName`)."""
    inner, sequence = unwrap(record)
    data = inner["dynamodb"]
    identity = inner.get("userIdentity") or {}
    service = (identity.get("principalId") or identity.get("PrincipalId")) == "dynamodb.amazonaws.com"
    kind: Kind = _KINDS[inner["eventName"]]
    if kind == "delete" and service:
        kind = "expire"
    name = table or inner.get("tableName") or table_of_arn(inner.get("eventSourceARN")) or table_of_arn(
        record.get("eventSourceARN") if record is not inner else None)
    return build(kind, name, data["Keys"], data.get("OldImage"), data.get("NewImage"),
                 sequence_number=sequence, created_at=epoch_seconds(data.get("ApproximateCreationDateTime")),
                 event_id=str(inner.get("eventID", sequence)), version=int(sequence) if sequence else 0,
                 app=app)
