"""Floors to compare against: boto3 answered by a do-nothing stub (in-process and HTTP) and raw sqlite3."""

from __future__ import annotations

import socket
import sqlite3
import threading
import zlib
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config

CANNED: dict[str, bytes] = {
    "GetItem": b'{"Item":{"pk":{"S":"p1"},"sk":{"N":"1"},"v":{"S":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}',
    "PutItem": b"{}",
    "UpdateItem": b"{}",
}


def canned_query(items: int = 50) -> bytes:
    one = '{"pk":{"S":"p1"},"sk":{"N":"%d"},"v":{"S":"%s"}}'
    body = ",".join(one % (n, "x" * 250) for n in range(items))
    return ('{"Count":%d,"ScannedCount":%d,"Items":[%s]}' % (items, items, body)).encode()


CANNED["Query"] = canned_query()


def _canned_for(target: str) -> bytes:
    return CANNED.get(target.rsplit(".", 1)[-1], b"{}")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def inprocess_stub_client() -> Any:
    """A boto3 client whose requests a do-nothing hook answers with canned bodies: the in-process floor."""
    made = boto3.client("dynamodb", endpoint_url="http://stub.invalid", region_name="us-east-1",
                        aws_access_key_id="k", aws_secret_access_key="s",
                        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))

    def send(request: Any, **_: Any) -> AWSResponse:
        target = request.headers["X-Amz-Target"]
        body = _canned_for(target.decode() if isinstance(target, bytes) else target)
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": str(zlib.crc32(body))}
        return AWSResponse(request.url, 200, headers, _Raw(body))

    made.meta.events.register_first("before-send", send)
    return made


class HttpStub:
    """A minimal keep-alive HTTP server answering canned DynamoDB bodies: the HTTP floor for boto3."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                length, target = 0, ""
                while True:
                    header = reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.decode("latin-1").partition(":")
                    lowered = name.strip().lower()
                    if lowered == "content-length":
                        length = int(value)
                    elif lowered == "x-amz-target":
                        target = value.strip()
                reader.read(length)
                body = _canned_for(target)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amz-crc32: %d\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (zlib.crc32(body), len(body), body))
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


class RawSqlite:
    """The storage floor: the equivalent inserts and selects done directly with sqlite3 (WAL)."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS t (pk BLOB, sk BLOB, item BLOB, PRIMARY KEY (pk, sk)) WITHOUT ROWID")

    def put(self, pk: bytes, sk: bytes, item: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO t VALUES (?, ?, ?)", (pk, sk, item))

    def get(self, pk: bytes, sk: bytes) -> Any:
        return self.db.execute("SELECT item FROM t WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()

    def update(self, pk: bytes, sk: bytes) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        row = self.db.execute("SELECT item FROM t WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()
        self.db.execute("INSERT OR REPLACE INTO t VALUES (?, ?, ?)", (pk, sk, row[0] if row else b"{}"))
        self.db.execute("COMMIT")

    def query(self, pk: bytes) -> list[Any]:
        return self.db.execute("SELECT item FROM t WHERE pk = ? ORDER BY sk", (pk,)).fetchall()
