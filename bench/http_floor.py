"""boto3 GetItem over loopback: dynamokit's HTTP server against a do-nothing HTTP stub (the floor).

    PYTHONPATH=src python bench/http_floor.py [--calls 300] [--rounds 20]

Three endpoints, measured in interleaved rounds with one keep-alive boto3 client each:
  stub           a minimal keep-alive server answering a canned GetItem body (no parsing, no engine)
  server+canned  dynamokit.server._http.Server over a backend returning the same canned item
  server+engine  Server over a real in-memory Engine holding the item
Reports medians over rounds of each round's p50 latency, throughput and throughput ratio to the stub.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
import zlib
from typing import Any

import boto3
from botocore.config import Config

from dynamokit import Engine
from dynamokit.server._http import Server

ITEM = {"pk": {"S": "a"}, "v": {"N": "1"}}
BODY = b'{"Item":{"pk":{"S":"a"},"v":{"N":"1"}}}'
CANNED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amz-crc32: %d\r\n"
          b"Content-Length: %d\r\n\r\n" % (zlib.crc32(BODY), len(BODY))) + BODY


def _stub_connection(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    while True:
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            data = sock.recv(65536)
            if not data:
                return
            buffer += data
        head = buffer[:end].lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15:].split(b"\r\n", 1)[0]) if at >= 0 else 0
        buffer = buffer[end + 4:]
        while len(buffer) < length:
            buffer += sock.recv(65536)
        buffer = buffer[length:]
        sock.sendall(CANNED)


def start_stub() -> str:
    """A do-nothing keep-alive HTTP server (thread per connection); returns its URL."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            sock, _ = listener.accept()
            threading.Thread(target=_stub_connection, args=(sock,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


class Canned:
    """A backend that answers every call with the canned item."""

    region = "us-east-1"

    def call(self, operation: str, request: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"Item": ITEM}


def engine_with_item() -> Engine:
    engine = Engine()
    engine.call("CreateTable", {"TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
    engine.call("PutItem", {"TableName": "bench", "Item": ITEM})
    return engine


def client(url: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k",
                        aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))


def measure(made: Any, calls: int) -> tuple[float, float]:
    """p50 latency (microseconds) and throughput (calls/s) of `calls` GetItem calls."""
    latencies = []
    started = time.perf_counter()
    for _ in range(calls):
        before = time.perf_counter()
        made.get_item(TableName="bench", Key={"pk": {"S": "a"}})
        latencies.append(time.perf_counter() - before)
    return statistics.median(latencies) * 1e6, calls / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per endpoint per round")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with Server(Canned()) as canned, Server(engine_with_item()) as real:
        clients = {"stub": client(start_stub()), "server+canned": client(canned.url),
                   "server+engine": client(real.url)}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        for made in clients.values():
            measure(made, 200)  # warm up connections and botocore caches
        for _ in range(args.rounds):  # short interleaved rounds: load changes hit every endpoint alike
            for name, made in clients.items():
                results[name].append(measure(made, args.calls))
    for name, rounds in results.items():
        p50 = statistics.median(p for p, _ in rounds)
        rate = statistics.median(r for _, r in rounds)
        ratio = statistics.median(r / floor for (_, r), (_, floor) in zip(rounds, results["stub"], strict=True))
        print(f"{name:14s} p50 {p50:7.0f} us  {rate:6.0f} calls/s  {ratio:5.2f}x stub throughput (median of rounds)")


if __name__ == "__main__":
    main()
