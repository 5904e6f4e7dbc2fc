"""OpenSearch / Elasticsearch sink: changes written through the `_bulk` API with external versions, so
redelivered and out-of-order changes are harmless; per-item failures are mapped back to their changes."""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, Self

import orjson

from ...model import App
from .._changes import Change, decode
from .._events import identifier

log = logging.getLogger("dynamokit.streams")
MAX_VERSION = 2**63 - 1  # Elasticsearch / OpenSearch versions are signed 64-bit longs
MAX_ID_BYTES = 512  # OpenSearch 2.9+ and Elasticsearch refuse longer document ids
_ID_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_INDEX_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
Refresh = Literal["true", "false", "wait_for"]


class OpenSearchError(Exception):
    """A whole bulk request failed (connection error or an HTTP error status); nothing can be assumed
    applied. `status` is None when no HTTP response came back."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Failure:
    """A change not applied: the HTTP status of its bulk item (None when refused before sending) and why."""

    change: Change[Any]
    status: int | None
    error: str


class ItemFailed(Exception):
    """Some changes were not applied (every other one was): `failures` in input order."""

    def __init__(self, failures: list[Failure]) -> None:
        super().__init__(f"{len(failures)} change(s) not applied: "
                         + "; ".join(f"{f.status}: {f.error}" for f in failures[:5]))
        self.failures = failures

    @property
    def changes(self) -> list[Change[Any]]:
        return [f.change for f in self.failures]


def external_version(version: int | Decimal, base: int = 0) -> int:
    """The external version of a change's `version`: `2 * (version - base)`.

    Doubling keeps backfill versions (a stream number + 0.5) distinct and ordered; `base` shifts real
    DynamoDB sequence numbers (21-40 digits) into range. Anything not a whole or half number, below
    `base`, or mapping above 2**63 - 1 raises ValueError: clamping or compressing would merge versions
    and silently drop updates."""
    # Exact arithmetic: Decimal's rounds to 28 digits, and sequence numbers have up to 40.
    doubled = 2 * (version - base) if isinstance(version, int) else 2 * (Fraction(version) - base)
    if doubled != int(doubled):
        raise ValueError(f"version {version} is not a whole or half number")
    if not 0 <= doubled <= MAX_VERSION:
        raise ValueError(f"version {version} maps outside 0..2**63-1 (version_base {base}); "
                         "set version_base to a sequence number at or below the stream's first")
    return int(doubled)


def _key_text(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f").encode()
    return str(value).encode()


def document_id(keys: Mapping[str, Any]) -> str:
    """A stable, URL-safe document id from an item's primary key.

    Key values in attribute-name order, joined by "."; inside each, bytes other than A-Z a-z 0-9 "-" are
    written `_XX` (hex), so `{"pk": "POST#p1", "sk": "POST#p1"}` becomes `POST_23p1.POST_23p1`. Ids longer
    than 512 bytes become `~` + the SHA-256 of that text."""
    text = ".".join("".join(chr(b) if b in _ID_SAFE else f"_{b:02X}" for b in _key_text(keys[name]))
                    for name in sorted(keys))
    return text if len(text) <= MAX_ID_BYTES else "~" + hashlib.sha256(text.encode()).hexdigest()


def index_name(prefix: str, entity: str) -> str:
    """`{prefix}{entity}` lower-cased; characters outside a-z 0-9 `_` `-` `.` become `_`, and leading
    `_` `-` `.` are dropped (index names cannot start with them). Empty or over 255 bytes: ValueError."""
    name = "".join(c if c in _INDEX_SAFE else "_" for c in (prefix + entity).lower()).lstrip("_-.")
    if not name or len(name.encode()) > 255:
        raise ValueError(f"no valid index name from prefix {prefix!r} and entity {entity!r}")
    return name


def _default(value: Any) -> Any:
    """JSON for what DynamoDB items hold beyond plain JSON: numbers, sets, binary."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and -2**63 <= value <= MAX_VERSION else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot index a {type(value).__name__}")


def _no_wide_ints(value: Any) -> Any:
    """Integers beyond 64 bits as floats (a number field holds no more)."""
    if isinstance(value, dict):
        return {k: _no_wide_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_wide_ints(v) for v in value]
    if isinstance(value, int) and not -2**63 <= value <= MAX_VERSION:
        return float(value)
    return value


def source(change: Change[Any]) -> bytes:
    """The JSON document of an insert or update: the entity's fields (no key or type attributes), or the
    raw item's attributes (numbers as 64-bit integers or floats, sets as sorted lists, binary as base64)."""
    item = change.data
    if item is None:
        raise ValueError("the change has no image (a KEYS_ONLY stream?)")
    try:
        return orjson.dumps(item, default=_default)
    except orjson.JSONEncodeError:
        return orjson.dumps(_no_wide_ints(item), default=_default)


@dataclass
class _Action:
    """One bulk action (the newest change of a document in this write) and every change it stands for."""

    index: str
    doc_id: str
    version: int
    change: Change[Any]
    changes: list[Change[Any]] = field(default_factory=list)
    body: bytes = b""

    def encode(self) -> bytes:
        op = "delete" if self.change.kind in ("delete", "expire") else "index"
        meta = orjson.dumps({op: {"_index": self.index, "_id": self.doc_id, "version": self.version,
                                  "version_type": "external"}})
        if op == "delete":
            return meta + b"\n"
        return meta + b"\n" + source(self.change) + b"\n"


def _item_error(item: Mapping[str, Any]) -> tuple[int, str] | None:
    """None when a bulk item counts as applied (success, delete of a missing document, or a version
    conflict: the document already holds this version or a newer one); else its status and error."""
    op, result = next(iter(item.items()))
    status = int(result.get("status", 500))
    error = result.get("error") or {}
    kind = error.get("type", "") if isinstance(error, dict) else str(error)
    if status < 300 or (status == 404 and op == "delete") or (
            status == 409 and kind == "version_conflict_engine_exception"):
        return None
    reason = error.get("reason", "") if isinstance(error, dict) else ""
    if reason:
        return status, f"{kind}: {reason}"
    return status, kind or f"HTTP {status}"


def _open(conn: http.client.HTTPConnection) -> None:
    """Connect without Nagle's delay: http.client sends the headers and the body as separate writes."""
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Http:
    """A small keep-alive connection pool to one HTTP(S) endpoint (thread-safe)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url, self.timeout = url.rstrip("/"), timeout
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.base = parts.path.rstrip("/")
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=self.timeout)

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """Send one request; a reused connection the server has closed is retried once on a new one."""
        while True:
            conn, reused = self._take()
            try:
                if not reused:
                    _open(conn)
                conn.request(method, self.base + path, body=body, headers=dict(headers))
                response = conn.getresponse()
                data = response.read()
            except _STALE as error:
                conn.close()
                if reused:
                    continue
                raise OpenSearchError(f"{method} {self.url}{path}: {error!r}") from error
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                raise OpenSearchError(f"{method} {self.url}{path}: {error!r}") from error
            if response.will_close:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)
            return response.status, data

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class OpenSearchSink:
    """Writes changes to OpenSearch or Elasticsearch at `url`, one index per entity type.

    Inserts and updates `index` the entity's plain JSON, deletes and expiries `delete`, all with
    `version_type: external` (see `external_version`), so a document only ever moves to a newer version.
    `auth` is (user, password) for basic auth; `aws_region` turns on SigV4 signing (service `aws_service`,
    credentials `aws_credentials` or botocore's default chain). `refresh` is the bulk `refresh` parameter;
    each bulk request carries at most `max_actions` actions and `max_bytes` bytes (a larger single action
    goes alone)."""

    def __init__(self, url: str, *, index_prefix: str = "", auth: tuple[str, str] | None = None,
                 aws_region: str | None = None, aws_service: str = "es", aws_credentials: Any = None,
                 timeout: float = 30.0, refresh: Refresh | None = None, max_bytes: int = 5 * 2**20,
                 max_actions: int = 1000, version_base: int = 0) -> None:
        if refresh not in (None, "true", "false", "wait_for"):
            raise ValueError("refresh must be None, 'true', 'false' or 'wait_for'")
        if max_bytes < 1 or max_actions < 1:
            raise ValueError("max_bytes and max_actions must be positive")
        self.index_prefix, self.version_base = index_prefix, version_base
        self.max_bytes, self.max_actions = max_bytes, max_actions
        self._http = _Http(url, timeout)
        self._path = "/_bulk" + (f"?refresh={refresh}" if refresh else "")
        self._headers = {"Content-Type": "application/x-ndjson", "Accept": "application/json"}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._sign = _signer(aws_region, aws_service, aws_credentials) if aws_region else None
        self._indexes: dict[str, str] = {}

    def index_of(self, change: Change[Any]) -> str:
        """The index of a change's entity type (the table name for items without one)."""
        entity = change.entity_type or change.table
        if entity is None:
            raise ValueError("the change has neither an entity type nor a table name")
        name = self._indexes.get(entity)
        if name is None:
            name = self._indexes[entity] = index_name(self.index_prefix, entity)
        return name

    def write(self, changes: Iterable[Change[Any]]) -> None:
        """Apply changes (a batch sink for `StreamProcessor(sinks=[...])`). Within one write only the newest
        change of each document is sent, and the older ones share its outcome. Raises ItemFailed naming the
        changes not applied, after sending everything else; OpenSearchError when a bulk request fails as a
        whole (earlier chunks may have been applied: writing again is harmless)."""
        changes = list(changes)
        actions, failures = self._actions(changes)
        for chunk in self._chunks(actions):
            failures.extend(self._send(chunk))
        if failures:
            position = {id(c): n for n, c in enumerate(changes)}
            raise ItemFailed(sorted(failures, key=lambda f: position[id(f.change)]))

    def apply(self, change: Change[Any]) -> None:
        """Write one change: a per-change handler for `StreamProcessor.on` (one bulk request each)."""
        self.write([change])

    def bulk_handler(self, app: App | None = None) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        """A Lambda handler writing each event's records in bulk: `{"batchItemFailures": [...]}` lists exactly
        the records not applied (undecodable ones included); items `app` has no entity for are skipped."""

        def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
            records = event.get("Records", [])
            idents = [identifier(record) for record in records]
            failed: set[str] = set()
            by_change: dict[int, str] = {}
            changes: list[Change[Any]] = []
            for record, ident in zip(records, idents, strict=True):
                try:
                    change = decode(record, app)
                except Exception:
                    log.exception("stream record %s cannot be decoded", ident)
                    failed.add(ident)
                    continue
                if change.known:
                    by_change[id(change)] = ident
                    changes.append(change)
            try:
                self.write(changes)
            except ItemFailed as error:
                failed.update(by_change[id(c)] for c in error.changes)
            return {"batchItemFailures": [{"itemIdentifier": i} for i in idents if i in failed]}

        return handle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _actions(self, changes: Iterable[Change[Any]]) -> tuple[list[_Action], list[Failure]]:
        """One encoded action per document (its newest change), and the changes refused before sending."""
        grouped: dict[tuple[str, str], _Action] = {}
        failures: list[Failure] = []
        for change in changes:
            try:
                action = _Action(self.index_of(change), document_id(change.keys),
                                 external_version(change.version, self.version_base), change)
            except ValueError as error:
                failures.append(Failure(change, None, str(error)))
                continue
            known = grouped.setdefault((action.index, action.doc_id), action)
            known.changes.append(change)
            if action.version > known.version:
                known.version, known.change = action.version, change
        actions = []
        for action in grouped.values():
            try:
                action.body = action.encode()
            except (ValueError, TypeError) as error:  # orjson.JSONEncodeError is a TypeError
                failures.extend(Failure(c, None, f"cannot encode the document: {error}") for c in action.changes)
                continue
            actions.append(action)
        return actions, failures

    def _chunks(self, actions: list[_Action]) -> Iterator[list[_Action]]:
        chunk: list[_Action] = []
        size = 0
        for action in actions:
            if chunk and (len(chunk) >= self.max_actions or size + len(action.body) > self.max_bytes):
                yield chunk
                chunk, size = [], 0
            chunk.append(action)
            size += len(action.body)
        if chunk:
            yield chunk

    def _send(self, chunk: list[_Action]) -> list[Failure]:
        body = b"".join(action.body for action in chunk)
        headers = self._headers if self._sign is None else self._sign(self._http.url + self._path, body,
                                                                      self._headers)
        status, data = self._http.request("POST", self._path, body, headers)
        if status != 200:
            raise OpenSearchError(f"bulk request failed: HTTP {status}: {data[:500]!r}", status)
        reply = orjson.loads(data)
        items = reply.get("items", [])
        if len(items) != len(chunk):
            raise OpenSearchError(f"bulk reply has {len(items)} items for {len(chunk)} actions", status)
        if not reply.get("errors"):
            return []
        failures: list[Failure] = []
        for action, item in zip(chunk, items, strict=True):
            error = _item_error(item)
            if error is not None:
                failures.extend(Failure(c, error[0], error[1]) for c in action.changes)
        return failures


def _signer(region: str, service: str, credentials: Any) -> Callable[[str, bytes, dict[str, str]], dict[str, str]]:
    """SigV4 request signing with botocore (Amazon OpenSearch Service: "es"; Serverless: "aoss")."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.session import Session

    if credentials is None:
        credentials = Session().get_credentials()
        if credentials is None:
            raise ValueError("SigV4 signing needs AWS credentials; none found")
    auth = SigV4Auth(credentials, service, region)

    def sign(url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest("POST", url, data=body,
                             headers={**headers, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
        auth.add_auth(request)
        return dict(request.headers.items())

    return sign
