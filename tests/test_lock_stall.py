"""Another process holding the database's write lock must not stall the HTTP endpoint: reads and other
connections go on, the waiting write completes once the lock is released, nothing is lost or reordered.

(The hardening report: a process holding the write lock for 8 s held every connection, reads and `GET /`
included, for 8 s.) The lock is taken here by a second SQLite connection, which SQLite treats exactly as
another process.
"""

from __future__ import annotations

import http.client
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from dynamokit import Engine
from dynamokit._engine import storage
from dynamokit.server._http import Server

TARGET = "DynamoDB_20120810."


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    path = str(tmp_path / "shared.db")
    engine = Engine(path)
    engine.call("CreateTable", {"TableName": "tbl", "BillingMode": "PAY_PER_REQUEST",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
    engine.call("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "old"}}})
    with Server(engine, port=0) as server:
        yield server, path
    engine.close()


def raw(operation: str, request: dict) -> bytes:
    body = orjson.dumps(request)
    return (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}{operation}\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def read_answers(sock: socket.socket, count: int) -> list[tuple[int, dict]]:
    """`count` HTTP responses from a raw socket, in order."""
    file = sock.makefile("rb")
    answers = []
    for _ in range(count):
        status = int(file.readline().split()[1])
        length = 0
        while (line := file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        answers.append((status, orjson.loads(file.read(length))))
    return answers


def locked(path: str) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_reads_and_other_connections_go_on_while_another_process_holds_the_write_lock(served: tuple[Server, str]
                                                                                      ) -> None:
    server, path = served
    other = locked(path)
    writer = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    # A write, then a read of what it wrote, pipelined on one connection: both wait, in order.
    writer.sendall(raw("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "new"}}})
                   + raw("GetItem", {"TableName": "tbl", "Key": {"pk": {"S": "new"}}, "ConsistentRead": True}))
    reader = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for _ in range(3):  # answered while the lock is still held (the timeout would fire otherwise)
        reader.request("POST", "/", body=orjson.dumps({"TableName": "tbl", "Key": {"pk": {"S": "old"}}}),
                       headers={"X-Amz-Target": TARGET + "GetItem"})
        response = reader.getresponse()
        assert response.status == 200 and orjson.loads(response.read())["Item"] == {"pk": {"S": "old"}}
        reader.request("GET", "/")
        health = reader.getresponse()
        assert health.status == 200 and health.read().startswith(b"healthy")
    assert other.in_transaction  # the lock was held the whole time
    other.execute("COMMIT")
    other.close()
    (put_status, _), (get_status, got) = read_answers(writer, 2)
    assert (put_status, get_status) == (200, 200) and got["Item"] == {"pk": {"S": "new"}}
    writer.close()
    reader.close()


def test_a_write_that_cannot_get_the_lock_in_time_fails_cleanly(served: tuple[Server, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounded wait: a retryable InternalServerError (SDKs retry it), nothing written, the server goes on."""
    server, path = served
    monkeypatch.setattr(storage, "BUSY_TIMEOUT", 0.3)
    other = locked(path)
    other.execute("PRAGMA busy_timeout=0")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        # A fresh worker thread's connection takes the patched timeout.
        connection.request("POST", "/", body=orjson.dumps({"TableName": "tbl", "Item": {"pk": {"S": "late"}}}),
                           headers={"X-Amz-Target": TARGET + "PutItem"})
        response = connection.getresponse()
        body = orjson.loads(response.read())
        assert response.status == 500 and body["__type"].endswith("#InternalServerError")
        assert "locked" in body["message"]
    finally:
        other.execute("COMMIT")
        other.close()
    connection.request("POST", "/", body=orjson.dumps({"TableName": "tbl", "Key": {"pk": {"S": "late"}}}),
                       headers={"X-Amz-Target": TARGET + "GetItem"})
    response = connection.getresponse()
    assert response.status == 200 and "Item" not in orjson.loads(response.read())
    connection.close()
