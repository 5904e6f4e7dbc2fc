"""A small, fast HTTP/1.1 server for DynamoDB's JSON 1.0 protocol.

Each connection is served start to end by one worker thread (SDKs keep connections alive, so a
request costs no thread hand-off). Workers are reused, so a backend's per-thread resources (SQLite
connections) stay bounded by `max_workers`; when all are busy, the kept-alive connection idle longest
is closed to free one. Every response is one `sendall`: a response split over two writes meets Nagle
plus delayed ACK and costs tens of milliseconds.
"""

from __future__ import annotations

import logging
import queue
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Self
from urllib.parse import urlsplit

from ..engine.errors import DynamoDBError
from .protocol import Backend, handle, respond

log = logging.getLogger("dynamokit.server")

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 24 * 1024 * 1024  # BatchWriteItem's 16 MB of items plus JSON and base64 overhead
IDLE_TIMEOUT = 60.0  # seconds a connection may stay silent (between requests, or within one)
REQUEST_TIMEOUT = 60.0  # seconds to receive one whole request once it has started
MAX_WORKERS = 256
_RECV = 64 * 1024  # below malloc's mmap threshold: a bigger recv buffer costs an mmap per call
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_STATUS_LINES = {status: f"HTTP/1.1 {status} {HTTPStatus(status).phrase}" for status in (200, 400, 500)}


class HTTPError(Exception):
    """A request we answer with a plain-text error and then close the connection."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message or HTTPStatus(status).phrase


class _Closed(Exception):
    """The peer closed the connection or went quiet for too long."""


@dataclass(slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


class Connection:
    """Reads requests from one client socket, with size caps and timeouts."""

    def __init__(self, sock: socket.socket, max_body: int, idle_timeout: float, request_timeout: float) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.deadline = 0.0
        self.idle_since: float | None = None  # set while waiting for the next request on a kept-alive connection
        # Kernel-side timeouts on a blocking socket: unlike settimeout(), no poll() before each recv/send.
        limit = struct.pack("ll", int(idle_timeout), int(idle_timeout % 1 * 1e6))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _fill(self) -> None:
        """Receive more bytes, or raise _Closed (peer gone, idle too long, or request past its deadline)."""
        try:
            data = self.sock.recv(_RECV)
        except OSError:
            raise _Closed from None
        if not data or time.monotonic() > self.deadline:
            raise _Closed
        self.buffer += data

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        if size == len(self.buffer):
            data = bytes(self.buffer)
            self.buffer.clear()
            return data
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def _line(self, limit: int) -> bytes:
        """One CRLF-terminated line (without the CRLF), at most `limit` bytes."""
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > limit:
                raise HTTPError(400, "Line too long")
            self._fill()
        if end > limit:
            raise HTTPError(400, "Line too long")
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        return line

    def read(self) -> Request | None:
        """The next request, or None when the client closed the connection between requests."""
        self.deadline = time.monotonic() + self.idle_timeout
        try:
            if not self.buffer:
                self.idle_since = time.monotonic()
                self._fill()
            while self.buffer.startswith((b"\r", b"\n")):  # stray blank lines between requests are ignored
                del self.buffer[:1]
                if not self.buffer:
                    self._fill()
        except _Closed:
            return None
        finally:
            self.idle_since = None
        self.deadline = time.monotonic() + self.request_timeout
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise HTTPError(431)
            self._fill()
        if end > MAX_HEADER_BYTES:
            raise HTTPError(431)
        head = self.buffer[:end].decode("latin-1")
        del self.buffer[:end + 4]
        method, path, version, headers = parse_head(head)
        body = self._body(headers)
        return Request(method, path, headers, body, keeps_alive(version, headers))

    def _body(self, headers: dict[str, str]) -> bytes:
        chunked = is_chunked(headers)
        length = 0 if chunked else content_length(headers)
        if length > self.max_body:
            raise HTTPError(413)
        if headers.get("expect", "").lower() == "100-continue" and (chunked or length > len(self.buffer)):
            self.sock.sendall(_CONTINUE)
        return self._chunked() if chunked else self._take(length)

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = self._line(1024).split(b";", 1)[0].strip()
            if not 0 < len(size_text) <= 16 or size_text.strip(_HEX_DIGITS):
                raise HTTPError(400, "Invalid chunk size")
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > self.max_body:
                raise HTTPError(413)
            parts.append(self._take(size))
            if self._take(2) != b"\r\n":
                raise HTTPError(400, "Invalid chunk terminator")
        while self._line(MAX_HEADER_BYTES):  # trailer fields are read and ignored
            pass
        return b"".join(parts)


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


def render(status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool) -> bytes:
    """A whole response, ready for one `sendall`."""
    lines = [_STATUS_LINES.get(status) or f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def text_response(status: int, text: str, extra: list[tuple[str, str]] | None = None
                  ) -> tuple[int, list[tuple[str, str]], bytes]:
    body = text.encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    return status, headers + (extra or []), body


class Server:
    """DynamoDB's HTTP endpoint over `backend`: `start()` serves in background threads, `stop()` ends it."""

    def __init__(self, backend: Backend, host: str = "127.0.0.1", port: int = 0, *, region: str | None = None,
                 max_body: int = MAX_BODY_BYTES, idle_timeout: float = IDLE_TIMEOUT,
                 request_timeout: float = REQUEST_TIMEOUT, max_workers: int = MAX_WORKERS) -> None:
        self.backend = backend
        self.host = host
        self.port = port
        self.region = region or getattr(backend, "region", "us-east-1")
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.max_workers = max_workers
        # A backend with `bind(method, target, headers, body) -> Backend` (e.g. AuthorizingBackend) sees each
        # raw request first and chooses the backend that serves it, or raises DynamoDBError (bad signature).
        self._bind = getattr(backend, "bind", None)
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._pending: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._open: set[Connection] = set()
        self._lock = threading.Lock()
        self._stopping = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> int:
        """Bind, listen and serve in background threads; returns the bound port (raises OSError)."""
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(1024)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name="dynamokit-accept", daemon=True)
        self._acceptor.start()
        return self.port

    def stop(self) -> None:
        """Stop accepting, close every open connection and wait for the worker threads."""
        with self._lock:
            if self._stopping or self._listener is None:
                return
            self._stopping = True
            workers = list(self._workers)
            for connection in self._open:
                _shutdown(connection.sock)
        _shutdown(self._listener)
        self._listener.close()
        if self._acceptor is not None:
            self._acceptor.join()
        for _ in workers:
            self._pending.put(None)
        for worker in workers:
            worker.join()
        while not self._pending.empty():  # accepted but never served
            if (leftover := self._pending.get()) is not None:
                leftover.sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- threads ---------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                if self._stopping:
                    return
                time.sleep(0.01)  # e.g. out of file descriptors: back off, keep serving
                continue
            try:
                connection = Connection(sock, self.max_body, self.idle_timeout, self.request_timeout)
            except OSError:  # the client already went away
                sock.close()
                continue
            with self._lock:
                if self._stopping:
                    sock.close()
                    return
                self._open.add(connection)
                if self._idle > 0:
                    self._idle -= 1
                elif len(self._workers) < self.max_workers:
                    self._spawn_worker()
                else:
                    self._idle -= 1
                    self._evict_idle()
            self._pending.put(connection)

    def _evict_idle(self) -> None:
        """Every worker is busy: close the kept-alive connection idle longest, freeing its worker (RFC 9112 9.5)."""
        deadline = time.monotonic() + 0.5
        # A worker that has just answered may not be back waiting yet: give it a moment to get there.
        while not (waiting := [c for c in self._open if c.idle_since is not None]) and time.monotonic() < deadline:
            time.sleep(0.002)
        if waiting:
            _shutdown(min(waiting, key=lambda c: c.idle_since or 0.0).sock)

    def _spawn_worker(self) -> None:
        worker = threading.Thread(target=self._work, name=f"dynamokit-http-{len(self._workers)}", daemon=True)
        self._workers.append(worker)
        worker.start()

    def _work(self) -> None:
        while (connection := self._pending.get()) is not None:
            try:
                self._serve(connection)
            finally:
                with self._lock:
                    self._open.discard(connection)
                    self._idle += 1
                connection.sock.close()

    def _serve(self, connection: Connection) -> None:
        """Answer requests on one connection until it closes, misbehaves or the server stops."""
        sock = connection.sock
        try:
            while not self._stopping:
                try:
                    request = connection.read()
                except HTTPError as error:
                    sock.sendall(render(*text_response(error.status, error.message + "\n"), keep_alive=False))
                    _linger(sock)
                    return
                if request is None:
                    return
                keep_alive = request.keep_alive and not self._stopping
                sock.sendall(render(*self._answer(request), keep_alive=keep_alive))
                if not keep_alive:
                    return
        except (_Closed, OSError):  # the client went away, stalled, or the server is stopping
            pass
        except Exception:  # a bug of ours: log it, drop this connection, keep serving others
            log.exception("internal error on an HTTP connection")

    def _answer(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        path = request.path if request.path.startswith("/") else urlsplit(request.path).path or "/"
        if path.split("?", 1)[0] != "/":
            return text_response(404, "Not Found\n")
        if request.method == "POST":
            return self._post(request)
        if request.method in ("GET", "HEAD"):
            status, headers, body = text_response(200, f"healthy: dynamodb.{self.region}.amazonaws.com ")
            return status, headers, b"" if request.method == "HEAD" else body
        return text_response(405, "Method Not Allowed\n", [("Allow", "GET, HEAD, POST")])

    def _post(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        fields = request.headers
        backend = self.backend
        if self._bind is not None:
            try:
                backend = self._bind(request.method, request.path, fields, request.body)
            except DynamoDBError as error:
                return respond(error.status, error.wire())
        return handle(backend, fields.get("x-amz-target"), request.body, fields.get("content-encoding"))


def _linger(sock: socket.socket, seconds: float = 2.0) -> None:
    """Half-close, then briefly discard what the client still sends, so it reads our answer, not a reset."""
    deadline = time.monotonic() + seconds
    try:
        sock.shutdown(socket.SHUT_WR)
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv(_RECV):
                return
    except OSError:
        pass


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


__all__ = ["Server"]
