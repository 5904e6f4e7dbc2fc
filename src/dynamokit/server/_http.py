"""A small, fast HTTP/1.1 server for DynamoDB's JSON 1.0 protocol.

One thread runs an event loop (selectors) over every connection: it reads requests as they arrive, answers
each complete one in turn and writes the answers back, so no request pays a thread hand-off or a fight
for the GIL (the engine holds the GIL for most of a request anyway). A long request (a 16 MB batch, a
1 MB Scan page) delays the others on this endpoint while it runs, as on any single-threaded endpoint.
The loop never waits for SQLite's write lock: a write that cannot take it at once (another process or
thread holds it) is handed to a worker thread that waits for it (`storage.NO_WAIT`), and that connection's
next requests wait their turn, while every other connection, reads included, goes on.
Every answer goes out in as few writes as the socket takes: a response split over two writes meets Nagle
plus delayed ACK and costs tens of milliseconds.
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Self
from urllib.parse import urlsplit

from .._engine.errors import DatabaseLocked, DynamoDBError, EngineClosed
from .._engine.storage import NO_WAIT
from .._protocol import Backend, handle, respond
from . import _s3 as s3

log = logging.getLogger("dynamokit.server")

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 24 * 1024 * 1024  # BatchWriteItem's 16 MB of items plus JSON and base64 overhead
IDLE_TIMEOUT = 60.0  # seconds a connection may stay silent (between requests, or within one)
REQUEST_TIMEOUT = 60.0  # seconds to receive one whole request once it has started
MAX_CONNECTIONS = 1000  # open connections; past it, the one idle longest is closed for a newcomer
LINGER = 2.0  # seconds a connection closed for an error keeps reading, so the client sees the answer
_TICK = 0.1  # seconds between timeout sweeps
_WAITERS = 4  # worker threads answering requests that wait for the write lock
_RECV = 64 * 1024  # below malloc's mmap threshold: a bigger recv buffer costs an mmap per call
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_STATUS_LINES = {status: f"HTTP/1.1 {status} {HTTPStatus(status).phrase}" for status in (200, 400, 500)}
# CORS, as AWS endpoints answer browsers: any origin, the response headers SDKs read exposed.
_CORS = [("Access-Control-Allow-Origin", "*"),
         ("Access-Control-Expose-Headers", ("x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,"
                                            "x-amzn-ErrorMessage,Date,x-amz-crc32"))]
_PREFLIGHT_MAX_AGE = "172800"
_METHODS = "GET, HEAD, POST, OPTIONS"


class HTTPError(Exception):
    """A request we answer with a plain-text error and then close the connection."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message or HTTPStatus(status).phrase


@dataclass(slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


@dataclass(eq=False)
class _Head:
    """A request head parsed while its body is still arriving."""

    size: int  # bytes of the head, blank line included
    method: str
    path: str
    version: str
    headers: dict[str, str]
    chunked: bool
    length: int


@dataclass(eq=False)
class Connection:
    """One client connection's buffers and timers, driven by the server's loop."""

    sock: socket.socket
    last: float  # when bytes last moved either way
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)
    head: _Head | None = None
    started: float | None = None  # when the request being received began
    closing: bool = False  # close once the outbox is written
    linger_until: float | None = None  # half-closed after an error: discard input until then
    writing: bool = False  # the loop also waits for the socket to take more output
    waiting: bool = False  # a worker answers this connection's current request (it waits for the write lock)

    @property
    def idle(self) -> bool:
        """Between requests, with nothing to write."""
        return not self.inbox and not self.outbox and not self.closing

    def next_request(self, max_body: int) -> Request | None:
        """The next complete request in the inbox (removed from it), or None until more bytes arrive."""
        while self.inbox[:1] in (b"\r", b"\n"):  # stray blank lines between requests are ignored
            del self.inbox[:1]
        if self.head is None:
            self.head = self._head(max_body)
            if self.head is None:
                return None
            if self.head.headers.get("expect", "").lower() == "100-continue" and (
                    self.head.chunked or self.head.length > len(self.inbox) - self.head.size):
                self.outbox += _CONTINUE
        head = self.head
        if head.chunked:
            found = _chunked_body(self.inbox, head.size, max_body)
            if found is None:
                return None
            body, end = found
        else:
            end = head.size + head.length
            if len(self.inbox) < end:
                return None
            body = bytes(self.inbox[head.size:end])
        del self.inbox[:end]
        self.head = None
        return Request(head.method, head.path, head.headers, body, keeps_alive(head.version, head.headers))

    def _head(self, max_body: int) -> _Head | None:
        end = self.inbox.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES + 4)
        if end < 0:
            if len(self.inbox) > MAX_HEADER_BYTES:
                raise HTTPError(431)
            return None
        method, path, version, headers = parse_head(self.inbox[:end].decode("latin-1"))
        chunked = is_chunked(headers)
        length = 0 if chunked else content_length(headers)
        if length > max_body:
            raise HTTPError(413)
        return _Head(end + 4, method, path, version, headers, chunked, length)


def _chunked_body(data: bytearray, start: int, max_body: int) -> tuple[bytes, int] | None:
    """A chunked body starting at `start`: (body, end of the message), or None while incomplete."""
    parts: list[bytes] = []
    total = 0
    position = start
    while True:
        line_end = data.find(b"\r\n", position, position + 1026)
        if line_end < 0:
            if len(data) - position > 1024:
                raise HTTPError(400, "Invalid chunk size")
            return None
        size_text = bytes(data[position:line_end]).split(b";", 1)[0].strip()
        if not 0 < len(size_text) <= 16 or size_text.strip(_HEX_DIGITS):
            raise HTTPError(400, "Invalid chunk size")
        size = int(size_text, 16)
        position = line_end + 2
        if size == 0:
            break
        total += size
        if total > max_body:
            raise HTTPError(413)
        if len(data) < position + size + 2:
            return None
        parts.append(bytes(data[position:position + size]))
        if data[position + size:position + size + 2] != b"\r\n":
            raise HTTPError(400, "Invalid chunk terminator")
        position += size + 2
    while True:  # trailer fields are read and ignored, up to the blank line
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            if len(data) - position > MAX_HEADER_BYTES:
                raise HTTPError(431)
            return None
        if line_end == position:
            return b"".join(parts), position + 2
        position = line_end + 2


def parse_head(head: str) -> tuple[str, str, str, dict[str, str]]:
    """Request line and header fields (names lower-cased) of one request head."""
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1] or not parts[2].startswith("HTTP/1."):
        raise HTTPError(400, "Malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name:
            raise HTTPError(400, "Malformed header field")
        name = name.lower()
        value = value.strip()
        if name in headers:
            if name in ("content-length", "host", "transfer-encoding") and headers[name] != value:
                raise HTTPError(400, f"Conflicting {name} fields")
            value = headers[name] + ", " + value
        headers[name] = value
    return parts[0], parts[1], parts[2], headers


def is_chunked(headers: dict[str, str]) -> bool:
    coding = headers.get("transfer-encoding")
    if coding is None:
        return False
    if "content-length" in headers:
        raise HTTPError(400, "Both Transfer-Encoding and Content-Length")
    if coding.strip().lower() != "chunked":
        raise HTTPError(501, "Only the chunked transfer coding is supported")
    return True


def content_length(headers: dict[str, str]) -> int:
    text = headers.get("content-length", "0")
    if not text.isdigit() or not text.isascii():
        raise HTTPError(400, "Invalid Content-Length")
    return int(text)


def keeps_alive(version: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


class _DateField:
    """The `Date` header field (RFC 7231), formatted once per second: SDKs correct their clock skew from it."""

    def __init__(self) -> None:
        self.second = -1
        self.field = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self.second:
            self.second, self.field = now, "Date: " + formatdate(now, usegmt=True)
        return self.field


_date_field = _DateField()


def render(status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool) -> bytes:
    """A whole response, ready for one `sendall`."""
    lines = [_STATUS_LINES.get(status) or f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", _date_field()]
    lines += [f"{name}: {value}" for name, value in headers]
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def text_response(status: int, text: str, extra: list[tuple[str, str]] | None = None
                  ) -> tuple[int, list[tuple[str, str]], bytes]:
    body = text.encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    return status, headers + (extra or []), body


def preflight(headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer to a CORS preflight (OPTIONS): no signature needed; the method and headers the browser asks
    for are allowed (the request itself is still authenticated)."""
    allowed = [("Allow", _METHODS), ("Content-Length", "0"),
               ("Access-Control-Allow-Methods", headers.get("access-control-request-method") or _METHODS),
               ("Access-Control-Max-Age", _PREFLIGHT_MAX_AGE)]
    if "access-control-request-headers" in headers:
        allowed.append(("Access-Control-Allow-Headers", headers["access-control-request-headers"]))
    return 200, allowed, b""


def endpoint_url(host: str, port: int) -> str:
    """The URL of an endpoint listening on `host`:`port`."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Server:
    """DynamoDB's HTTP endpoint over `backend`: `start()` serves from a background thread, `stop()` ends it."""

    def __init__(self, backend: Backend, host: str = "127.0.0.1", port: int = 0, *, region: str | None = None,
                 max_body: int = MAX_BODY_BYTES, idle_timeout: float = IDLE_TIMEOUT,
                 request_timeout: float = REQUEST_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
                 reuse_port: bool = False) -> None:
        self.backend = backend
        self.reuse_port = reuse_port  # several processes serve one port (SO_REUSEPORT): `serve --workers`
        self.host = host
        self.port = port
        self.region = region or getattr(backend, "region", "us-east-1")
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        # A backend with `bind(method, target, headers, body) -> Backend` (e.g. AuthorizingBackend) sees each
        # raw request first and chooses the backend that serves it, or raises DynamoDBError (bad signature).
        self._bind = getattr(backend, "bind", None)
        self.s3: s3.S3Api | None = None  # also answer S3 requests (paths naming a bucket): `serve --s3-api`
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._loop: threading.Thread | None = None
        self._open: dict[socket.socket, Connection] = {}
        self._stopping = False
        self._waiters: ThreadPoolExecutor | None = None  # answers requests that wait for the write lock
        self._answered: queue.SimpleQueue[tuple[Connection, Request, tuple[int, list[tuple[str, str]], bytes]]] = (
            queue.SimpleQueue())

    @property
    def url(self) -> str:
        return endpoint_url(self.host, self.port)

    def start(self) -> int:
        """Bind, listen and serve from a background thread; returns the bound port (raises OSError)."""
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.reuse_port:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind(address)
            listener.listen(1024)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ)
        self._wake_reader.setblocking(False)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        self._loop = threading.Thread(target=self._run, name="dynamokit-http", daemon=True)
        self._loop.start()
        return self.port

    def stop(self) -> None:
        """Stop accepting, close every open connection and wait for the loop to end."""
        if self._stopping or self._loop is None:
            return
        self._stopping = True
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass
        self._loop.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the loop --------------------------------------------------------------------------------------
    def _run(self) -> None:
        selector = self._selector
        assert selector is not None and self._listener is not None
        NO_WAIT.on = True  # this thread never waits for SQLite's write lock: see _defer
        swept = time.monotonic()
        try:
            while not self._stopping:
                for key, events in selector.select(_TICK):
                    connection = key.data
                    if connection is not None:
                        self._ready(connection, events)
                    elif key.fileobj is self._listener:
                        self._accept()
                    else:
                        self._take_answers()
                if (now := time.monotonic()) - swept >= _TICK:
                    swept = now
                    self._sweep(now)
        except Exception:  # a bug of ours in the loop itself: log it; stop() still cleans up
            log.exception("HTTP server loop failed")
        finally:
            if self._waiters is not None:
                self._waiters.shutdown(wait=False, cancel_futures=True)
            for connection in list(self._open.values()):
                _shutdown(connection.sock)
                self._close(connection)
            selector.close()
            self._listener.close()
            self._wake_reader.close()
            self._wake_writer.close()

    def _ready(self, connection: Connection, events: int) -> None:
        try:
            if events & selectors.EVENT_WRITE:
                self._write(connection)
            if events & selectors.EVENT_READ and connection.sock in self._open:
                self._read(connection)
        except Exception:  # a bug of ours: log it, drop this connection, keep serving the others
            log.exception("internal error on an HTTP connection")
            self._close(connection)

    def _accept(self) -> None:
        assert self._listener is not None and self._selector is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except BlockingIOError:
                return
            except OSError:  # e.g. out of file descriptors: keep serving the open connections
                return
            if len(self._open) >= self.max_connections:
                self._evict_idle()
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(sock, time.monotonic())
            self._open[sock] = connection
            self._selector.register(sock, selectors.EVENT_READ, connection)

    def _evict_idle(self) -> None:
        """At the connection cap: close the kept-alive connection idle longest (RFC 9112 9.5)."""
        waiting = [c for c in self._open.values() if c.idle]
        if waiting:
            self._close(min(waiting, key=lambda c: c.last))

    def _read(self, connection: Connection) -> None:
        try:
            data = connection.sock.recv(_RECV)
        except BlockingIOError:
            return
        except OSError:
            self._close(connection)
            return
        if not data:
            self._close(connection)
            return
        now = connection.last = time.monotonic()
        if connection.linger_until is not None:
            return  # discarded: the connection is closing after an error
        if connection.started is None:
            connection.started = now
        connection.inbox += data
        if connection.waiting and len(connection.inbox) > self.max_body + MAX_HEADER_BYTES:
            self._close(connection)  # pipelining without end behind a waiting request
            return
        self._serve(connection)

    def _serve(self, connection: Connection) -> None:
        """Answer every complete request in the inbox, in order."""
        while not connection.closing and not connection.waiting:
            try:
                request = connection.next_request(self.max_body)
            except HTTPError as error:
                connection.outbox += render(*text_response(error.status, error.message + "\n"), keep_alive=False)
                connection.closing = True
                connection.linger_until = time.monotonic() + LINGER
                break
            if request is None:
                break
            NO_WAIT.began = False
            try:
                answer = self._answer(request)
            except DatabaseLocked:
                self._defer(connection, request)
                break
            self._respond(connection, request, answer)
        self._write(connection)

    def _respond(self, connection: Connection, request: Request,
                 answer: tuple[int, list[tuple[str, str]], bytes]) -> None:
        keep_alive = request.keep_alive and not self._stopping
        if "origin" in request.headers:  # a browser's request: every answer, errors included, allows it
            status, headers, body = answer
            answer = status, headers + _CORS, body
        connection.outbox += render(*answer, keep_alive=keep_alive)
        connection.closing = not keep_alive
        connection.started = time.monotonic() if connection.inbox else None

    # -- requests that wait for the write lock ---------------------------------------------------------
    def _defer(self, connection: Connection, request: Request) -> None:
        """Answer `request` from a worker thread, which may wait for the write lock (nothing of it was
        written yet); this connection's later requests wait for its answer, the other connections do not."""
        if self._waiters is None:
            self._waiters = ThreadPoolExecutor(max_workers=_WAITERS, thread_name_prefix="dynamokit-http-wait")
        connection.waiting = True
        self._waiters.submit(self._answer_waiting, connection, request)

    def _answer_waiting(self, connection: Connection, request: Request) -> None:
        try:
            answer = self._answer(request)
        except Exception:  # a bug of ours: the client still gets an answer
            log.exception("internal error answering a request that waited for the write lock")
            answer = respond(500, DynamoDBError("InternalServerError", "Internal server error", 500).wire())
        self._answered.put((connection, request, answer))
        try:
            self._wake_writer.send(b"a")
        except OSError:  # the server stopped meanwhile
            pass

    def _take_answers(self) -> None:
        """On the loop: send the answers workers finished, then go on with those connections' requests."""
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while True:
            try:
                connection, request, answer = self._answered.get_nowait()
            except queue.Empty:
                return
            connection.waiting = False
            if connection.sock in self._open:
                self._respond(connection, request, answer)
                self._serve(connection)

    def _write(self, connection: Connection) -> None:
        sock = connection.sock
        outbox = connection.outbox
        try:
            while outbox:
                sent = sock.send(outbox)
                del outbox[:sent]
                connection.last = time.monotonic()
        except BlockingIOError:
            pass
        except OSError:
            self._close(connection)
            return
        if bool(outbox) != connection.writing:
            connection.writing = bool(outbox)
            assert self._selector is not None
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if outbox else 0)
            self._selector.modify(sock, events, connection)
        if outbox:
            return
        if connection.closing:
            if connection.linger_until is None:
                self._close(connection)
            else:
                _shutdown(sock, socket.SHUT_WR)  # the client reads our answer, then its EOF ends the linger

    def _sweep(self, now: float) -> None:
        """Close connections past their timeouts: silent, stuck mid-request, not reading, or lingering."""
        for connection in list(self._open.values()):
            if connection.linger_until is not None:
                expired = now > connection.linger_until
            else:
                expired = now - connection.last > self.idle_timeout or (
                    connection.started is not None and now - connection.started > self.request_timeout)
            if expired:
                self._close(connection)

    def _close(self, connection: Connection) -> None:
        if self._open.pop(connection.sock, None) is None:
            return
        assert self._selector is not None
        self._selector.unregister(connection.sock)
        connection.sock.close()

    # -- answering -------------------------------------------------------------------------------------
    def _answer(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        path = request.path if request.path.startswith("/") else urlsplit(request.path).path or "/"
        if path == "/console" or path.startswith(("/console/", "/console?")):
            from . import _console as console  # on first use: the in-process client imports this module too

            return console.answer(self.backend, request.method, request.path, request.headers, request.body)
        if self.s3 is not None and s3.is_s3(request.method, path):  # `serve --s3-api`
            return self.s3(request.method, path, request.headers, request.body)
        if path.split("?", 1)[0] != "/":
            return text_response(404, "Not Found\n")
        if request.method == "POST":
            return self._post(request)
        if request.method == "OPTIONS":
            return preflight(request.headers)
        if request.method in ("GET", "HEAD"):
            host = request.headers.get("host") or f"dynamodb.{self.region}.amazonaws.com"
            status, headers, body = text_response(200, f"healthy: {host} ")
            return status, headers, b"" if request.method == "HEAD" else body
        return text_response(405, "Method Not Allowed\n", [("Allow", _METHODS)])

    def _post(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        fields = request.headers
        backend = self.backend
        if self._bind is not None:
            try:
                backend = self._bind(request.method, request.path, fields, request.body)
            except DynamoDBError as error:
                return respond(error.status, error.wire())
        try:
            return handle(backend, fields.get("x-amz-target"), request.body, fields.get("content-encoding"),
                          self.max_body)
        except EngineClosed:
            error = DynamoDBError("ServiceUnavailable", "The engine behind this endpoint is closed", 503)
            return respond(error.status, error.wire())


def _shutdown(sock: socket.socket, how: int = socket.SHUT_RDWR) -> None:
    try:
        sock.shutdown(how)
    except OSError:
        pass


__all__ = ["Server"]
