"""Typed change decoding: one stream record (GetRecords, Lambda, Kinesis-for-DynamoDB or SQS shape) becomes
a `Change`, with old and new images decoded into the model's entities by their type marker."""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable, Mapping
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


_PENDING: Any = object()  # an image (or the keys) not decoded yet
_FIELDS = ("kind", "entity_type", "old", "new", "keys", "sequence_number", "created_at", "event_id", "table", "version",
           "known")  # the constructor's order
Image = Mapping[str, Any]


class Change(Generic[T]):
    """One item change. `old`/`new` are entities (when routed by an App) or plain dicts; None when absent.

    A decoded record's images and keys are decoded on first access (a handler that reads only `new` never
    pays for `old`); an image that does not validate raises there, as pydantic does.

    `version` orders the changes of one item: the stream sequence number, or for a backfill's scanned item
    a number between the record before the backfill started and the first one after it."""

    __slots__ = ("_decoder", "_keys", "_new", "_old", "_wire", "created_at", "entity_type", "event_id", "kind",
                 "known", "sequence_number", "table", "version")

    def __init__(self, kind: Kind, entity_type: str | None, old: T | None, new: T | None, keys: dict[str, Any],
                 sequence_number: str | None, created_at: float, event_id: str, table: str | None = None,
                 version: int | Decimal = 0, known: bool = True) -> None:
        self.kind, self.entity_type, self.sequence_number = kind, entity_type, sequence_number
        self.created_at, self.event_id, self.table, self.version = created_at, event_id, table, version
        self.known = known  # False: the App knows no entity for this item (images are plain dicts)
        self._old, self._new, self._keys = old, new, keys
        self._wire: tuple[Any, Any, Any] = (None, None, None)  # old, new and keys in wire shape, while _PENDING
        self._decoder: Callable[[Image], Any] = from_item  # of the images

    @classmethod
    def _lazy(cls, kind: Kind, entity_type: str | None, old: Image | None, new: Image | None, keys: Image,
              decoder: Callable[[Image], T], sequence_number: str | None, created_at: float, event_id: str,
              table: str | None, version: int | Decimal, known: bool) -> Change[T]:
        """A Change of wire-shaped images and keys, decoded (images by `decoder`) on first access."""
        change: Change[T] = cls(kind, entity_type, None if old is None else _PENDING,
                                None if new is None else _PENDING, _PENDING, sequence_number, created_at,
                                event_id, table, version, known)
        change._wire, change._decoder = (old, new, keys), decoder
        return change

    @property
    def old(self) -> T | None:
        """The item before the change (None for inserts)."""
        if self._old is _PENDING:
            self._old = self._decoder(self._wire[0])
        return self._old

    @property
    def new(self) -> T | None:
        """The item after the change (None for deletes and expiries)."""
        if self._new is _PENDING:
            self._new = self._decoder(self._wire[1])
        return self._new

    @property
    def keys(self) -> dict[str, Any]:
        """The item's primary key attributes, as plain values."""
        if self._keys is _PENDING:
            self._keys = from_item(self._wire[2])
        return self._keys

    @property
    def item(self) -> T | None:
        """The item after the change, or before it for deletes and expiries."""
        new = self.new
        return new if new is not None else self.old

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

    def __eq__(self, other: object) -> bool:  # decodes both sides (unhashable, as a dataclass)
        if not isinstance(other, Change):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _FIELDS)

    def __repr__(self) -> str:
        return f"Change({', '.join(f'{name}={getattr(self, name)!r}' for name in _FIELDS)})"


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
    """A Change of wire-shaped images, decoded (on first access) into entities when `app` knows the item's type."""
    image = new if new is not None else old
    bound = _router(app).route(table, image) if app is not None else None
    if bound is not None:
        return Change._lazy(kind, bound.name, old, new, keys, bound.decode, sequence_number, created_at, event_id,
                            table, version, True)
    marker = DEFAULT_MARKER if app is None else (
        app.tables[table].type_attribute if table in app.tables else DEFAULT_MARKER)
    return Change._lazy(kind, _marker_name(image, marker), old, new, keys, from_item, sequence_number, created_at,
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
