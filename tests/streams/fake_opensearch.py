"""A local fake of the OpenSearch document APIs the sink uses, over real HTTP: `_bulk` with external
versioning (409 version_conflict_engine_exception at or below the stored version; deletes leave
tombstones, never collected), a first-seen dynamic mapping (a type clash is a 400
mapper_parsing_exception), `GET /{index}/_doc/{id}`, `/{index}/_search` (match_all or one term) and
`/{index}/_count`; plus hooks that reject chosen documents per item or fail whole requests."""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

MAX_LONG = 2**63 - 1
_BAD_INDEX_CHARS = set('\\/*?"<>| ,#:') | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass
class Doc:
    version: int
    source: dict[str, Any] | None  # None: a tombstone (deleted, version kept)
    seq_no: int


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Rejected(Exception):
    """A whole request refused (the reply is `{"error": ..., "status": ...}`)."""

    def __init__(self, status: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason


def _error(kind: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "reason": reason, **extra}


def _index_problem(name: str) -> str | None:
    if not name or name in (".", "..") or name[0] in "-_+" or len(name.encode()) > 255:
        return "must not be empty, '.', '..', start with '-', '_', '+' or exceed 255 bytes"
    if set(name) & _BAD_INDEX_CHARS:
        return 'must be lowercase and must not contain \\, /, *, ?, ", <, >, |, space, comma, #, :'
    return None


def _field_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "object"
    return None  # null and arrays: mapped by their elements, not checked here


def _fits(kind: str, value: Any) -> bool:
    if value is None or isinstance(value, list):
        return True
    if kind in ("long", "float"):
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return False
            return True
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    return not isinstance(value, dict)  # text takes any scalar


class FakeOpenSearch:
    """The state and rules of the fake cluster; `serve()` puts it behind a real HTTP server."""

    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, Doc]] = {}
        self.mappings: dict[str, dict[str, str]] = {}
        self.requests: list[Request] = []
        self.rejections: dict[str, list[Any]] = {}  # doc id -> [status, error type, times left or None]
        self.failing = 0  # how many upcoming bulk requests fail as a whole
        self.failure_status = 503
        self._seq = 0
        self.connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self.url = ""

    # -- hooks ---------------------------------------------------------------------------------------------
    def reject(self, doc_id: str, status: int = 429, kind: str = "es_rejected_execution_exception",
               times: int | None = None) -> None:
        """Fail bulk items on document `doc_id` with `status`: the next `times` ones, or all until `accept`."""
        self.rejections[doc_id] = [status, kind, times]

    def accept(self, doc_id: str) -> None:
        with self._lock:
            self.rejections.pop(doc_id, None)

    def drop_connections(self) -> None:
        """Close every open client connection, as a server does with idle keep-alive connections."""
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.connections.clear()

    def fail_requests(self, count: int = 1, status: int = 503) -> None:
        """Fail the next `count` bulk requests as a whole with `status`."""
        self.failing, self.failure_status = count, status

    # -- reads ---------------------------------------------------------------------------------------------
    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        doc = self.indexes.get(index, {}).get(doc_id)
        return None if doc is None or doc.source is None else doc.source

    def version(self, index: str, doc_id: str) -> int | None:
        """The stored version of a document or its tombstone."""
        doc = self.indexes.get(index, {}).get(doc_id)
        return None if doc is None else doc.version

    def live(self, index: str) -> dict[str, dict[str, Any]]:
        """Every live document of an index by id."""
        return {i: d.source for i, d in self.indexes.get(index, {}).items() if d.source is not None}

    # -- the bulk API --------------------------------------------------------------------------------------
    def bulk(self, body: bytes) -> dict[str, Any]:
        if self.failing:
            self.failing -= 1
            raise Rejected(self.failure_status, "unavailable_shards_exception", "injected failure")
        if body and not body.endswith(b"\n"):
            raise Rejected(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
        items = [self._item(op, meta, source) for op, meta, source in self._parse(body)]
        return {"took": 1, "errors": any("error" in next(iter(i.values())) for i in items), "items": items}

    def _parse(self, body: bytes) -> list[tuple[str, dict[str, Any], bytes | None]]:
        """Validates the whole request first, as OpenSearch does: one bad action line fails it all."""
        lines = [line for line in body.split(b"\n") if line.strip()]
        actions: list[tuple[str, dict[str, Any], bytes | None]] = []
        n = 0
        while n < len(lines):
            try:
                action = orjson.loads(lines[n])
            except orjson.JSONDecodeError as error:
                raise Rejected(400, "x_content_parse_exception", str(error)) from None
            op, meta = next(iter(action.items()))
            if op not in ("index", "create", "delete"):
                raise Rejected(400, "illegal_argument_exception", f"Malformed action/metadata line [{n + 1}]")
            version = meta.get("version")
            if meta.get("version_type") == "external" and not (isinstance(version, int) and 0 <= version <= MAX_LONG):
                raise Rejected(400, "x_content_parse_exception", f"illegal version value [{version}]")
            source = None
            if op != "delete":
                n += 1
                if n >= len(lines):
                    raise Rejected(400, "action_request_validation_exception", "source is missing")
                source = lines[n]
            actions.append((op, meta, source))
            n += 1
        return actions

    def _item(self, op: str, meta: dict[str, Any], raw: Any) -> dict[str, Any]:
        index, doc_id = meta["_index"], str(meta["_id"])
        base = {"_index": index, "_id": doc_id}
        problem = _index_problem(index)
        if problem is not None:
            return {op: {**base, "status": 400, "error": _error(
                "invalid_index_name_exception", f"Invalid index name [{index}], {problem}", index=index)}}
        with self._lock:
            rejection = self.rejections.get(doc_id)
            if rejection is not None:
                status, kind, left = rejection
                if left is not None:
                    rejection[2] -= 1
                    if rejection[2] <= 0:
                        del self.rejections[doc_id]
                return {op: {**base, "status": status, "error": _error(kind, "rejected by the test")}}
            return {op: {**base, **self._apply(op, index, doc_id, meta, raw)}}

    def _apply(self, op: str, index: str, doc_id: str, meta: dict[str, Any], raw: Any) -> dict[str, Any]:
        docs = self.indexes.setdefault(index, {})
        stored = docs.get(doc_id)
        external = meta.get("version_type") == "external"
        version = meta["version"] if external else (stored.version + 1 if stored else 1)
        if external and stored is not None and version <= stored.version:
            return {"status": 409, "error": _error(
                "version_conflict_engine_exception",
                f"[{doc_id}]: version conflict, current version [{stored.version}] is higher or equal to the "
                f"one provided [{version}]", index=index, shard="0")}
        source = None
        if op != "delete":
            try:
                source = orjson.loads(raw)
            except orjson.JSONDecodeError as error:
                source = str(error)
            if not isinstance(source, dict):
                return {"status": 400, "error": _error("mapper_parsing_exception", f"failed to parse: {source}")}
            clash = self._map(index, source)
            if clash is not None:
                return {"status": 400, "error": _error("mapper_parsing_exception", clash)}
        self._seq += 1
        docs[doc_id] = Doc(version, source, self._seq)
        live = stored is not None and stored.source is not None
        if op == "delete":
            result, status = ("deleted", 200) if live else ("not_found", 404)
        else:
            result, status = ("updated", 200) if live else ("created", 201)
        return {"_version": version, "result": result, "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": self._seq, "_primary_term": 1, "status": status}

    def _map(self, index: str, source: dict[str, Any]) -> str | None:
        """Dynamic mapping of top-level fields: the first value's type sticks; a clash is a parse failure."""
        mapping = self.mappings.setdefault(index, {})
        for name, value in source.items():
            kind = mapping.get(name)
            if kind is not None and not _fits(kind, value):
                return f"failed to parse field [{name}] of type [{kind}] in document"
        for name, value in source.items():
            if name not in mapping and _field_type(value) is not None:
                mapping[name] = _field_type(value)  # type: ignore[assignment]
        return None

    # -- search --------------------------------------------------------------------------------------------
    def search(self, index: str, query: dict[str, Any] | None) -> dict[str, Any]:
        term = ((query or {}).get("query") or {}).get("term")
        hits = [{"_index": index, "_id": i, "_version": d.version, "_score": 1.0, "_source": d.source}
                for i, d in sorted(self.indexes.get(index, {}).items()) if d.source is not None and (
                    term is None or all(d.source.get(f) == (v.get("value") if isinstance(v, dict) else v)
                                        for f, v in term.items()))]
        size = int((query or {}).get("size", 10))
        return {"took": 1, "timed_out": False, "hits": {"total": {"value": len(hits), "relation": "eq"},
                                                         "hits": hits[:size]}}

    # -- serving -------------------------------------------------------------------------------------------
    def serve(self) -> ThreadingHTTPServer:
        """A running HTTP server on 127.0.0.1 (a free port) answering for this fake; `url` is set."""
        fake = self

        class Handler(_Handler):
            state = fake

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-opensearch", daemon=True).start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    state: FakeOpenSearch

    def setup(self) -> None:
        super().setup()
        self.state.connections.append(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = orjson.dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urllib.parse.urlsplit(self.path)
        self.state.requests.append(Request(method, self.path, dict(self.headers.items()), body))
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        try:
            self._dispatch(method, parts, body)
        except Rejected as error:
            self._reply(error.status, {"error": {"root_cause": [_error(error.kind, error.reason)],
                                                 "type": error.kind, "reason": error.reason},
                                       "status": error.status})

    def _dispatch(self, method: str, parts: list[str], body: bytes) -> None:
        state = self.state
        if parts == ["_bulk"] and method in ("POST", "PUT"):
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if kind not in ("application/json", "application/x-ndjson"):
                raise Rejected(406, "content_type_exception", f"Content-Type header [{kind}] is not supported")
            self._reply(200, state.bulk(body))
        elif len(parts) == 3 and parts[1] == "_doc" and method == "GET":
            doc = state.indexes.get(parts[0], {}).get(parts[2])
            if doc is None or doc.source is None:
                self._reply(404, {"_index": parts[0], "_id": parts[2], "found": False})
            else:
                self._reply(200, {"_index": parts[0], "_id": parts[2], "_version": doc.version,
                                  "_seq_no": doc.seq_no, "_primary_term": 1, "found": True, "_source": doc.source})
        elif len(parts) == 2 and parts[1] in ("_search", "_count"):
            found = state.search(parts[0], orjson.loads(body) if body else None)
            self._reply(200, found if parts[1] == "_search" else {"count": found["hits"]["total"]["value"]})
        else:
            raise Rejected(400, "illegal_argument_exception", f"no handler for {method} {self.path}")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")
