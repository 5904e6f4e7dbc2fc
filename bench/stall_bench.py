"""Another process holds the database's write lock while `dynamokit serve` is under load.

    python bench/stall_bench.py [--hold 3] [--clients 8] [--servers 1]

`--servers` `dynamokit serve` processes share one database file. 8 client threads (raw HTTP/1.1 keep-alive,
spread over the servers) run GetItem and `GET /` in a loop, while a writer thread puts items; after 1 s a
separate process takes the write lock (BEGIN IMMEDIATE) and holds it for `--hold` seconds. Printed: p50/p99/max
of reads and health checks during the hold, when the writes that waited completed after the release, and
whether every acknowledged write is in the table. Target: reads and `GET /` p99 under 50 ms during the hold;
writes complete once the lock is released; none lost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TARGET = "DynamoDB_20120810."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dynamokit._cli", "serve", "--port", str(port), "--db", db, "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


class Client:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, operation: str, request: dict) -> tuple[int, dict]:
        self.connection.request("POST", "/", body=json.dumps(request),
                                headers={"X-Amz-Target": TARGET + operation,
                                         "Content-Type": "application/x-amz-json-1.0"})
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def health(self) -> int:
        self.connection.request("GET", "/")
        response = self.connection.getresponse()
        response.read()
        return response.status


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--servers", type=int, default=1)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="stall-")
    db = os.path.join(folder, "bench.db")
    servers = [start_server(db) for _ in range(args.servers)]
    ports = [port for _, port in servers]
    try:
        setup = Client(ports[0])
        setup.call("CreateTable", {"TableName": "stall", "BillingMode": "PAY_PER_REQUEST",
                                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                   "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        setup.call("PutItem", {"TableName": "stall", "Item": {"pk": {"S": "read-me"}, "v": {"N": "1"}}})
        stop = threading.Event()
        hold: dict[str, float] = {}
        reads: list[tuple[float, float]] = []  # (started, seconds)
        checks: list[tuple[float, float]] = []
        writes: list[tuple[float, float, int]] = []  # (started, finished, status)
        acknowledged: list[str] = []
        errors: list[str] = []

        def reader(n: int) -> None:
            client = Client(ports[n % len(ports)])
            while not stop.is_set():
                started = time.perf_counter()
                if n % 2:
                    status = client.health()
                    checks.append((started, time.perf_counter() - started))
                else:
                    status, _ = client.call("GetItem", {"TableName": "stall", "Key": {"pk": {"S": "read-me"}}})
                    reads.append((started, time.perf_counter() - started))
                if status != 200:
                    errors.append(f"read status {status}")
                time.sleep(0.002)

        def writer() -> None:
            client = Client(ports[-1])
            i = 0
            while not stop.is_set():
                i += 1
                key = f"w{i}"
                started = time.perf_counter()
                status, body = client.call("PutItem", {"TableName": "stall", "Item": {"pk": {"S": key}}})
                writes.append((started, time.perf_counter(), status))
                if status == 200:
                    acknowledged.append(key)
                else:
                    errors.append(f"write {status} {body}")
                time.sleep(0.02)

        def locker() -> None:
            time.sleep(1.0)
            conn = sqlite3.connect(db, isolation_level=None, timeout=60)
            conn.execute("BEGIN IMMEDIATE")
            hold["start"] = time.perf_counter()
            time.sleep(args.hold)
            hold["end"] = time.perf_counter()
            conn.execute("COMMIT")
            conn.close()

        threads = [threading.Thread(target=reader, args=(n,)) for n in range(args.clients)]
        threads += [threading.Thread(target=writer), threading.Thread(target=locker)]
        for thread in threads:
            thread.start()
        time.sleep(1.0 + args.hold + 1.5)
        stop.set()
        for thread in threads:
            thread.join()
        start, end = hold["start"], hold["end"]
        during = [s for t, s in reads if start <= t <= end]
        health = [s for t, s in checks if start <= t <= end]
        waited = [(finished - end) for started, finished, _ in writes if started <= end and finished >= end]
        scan = setup.call("Scan", {"TableName": "stall"})[1]
        stored = {item["pk"]["S"] for item in scan.get("Items", [])}
        lost = [key for key in acknowledged if key not in stored]
        ms = 1000.0
        print(f"servers {args.servers}, clients {args.clients}, lock held {args.hold:.1f} s by another process")
        print(f"GetItem during the hold: n={len(during)} p50={statistics.median(during) * ms if during else 0:.1f} ms "
              f"p99={percentile(during, 0.99) * ms:.1f} ms max={max(during, default=0) * ms:.1f} ms")
        print(f"GET /   during the hold: n={len(health)} p50={statistics.median(health) * ms if health else 0:.1f} ms "
              f"p99={percentile(health, 0.99) * ms:.1f} ms max={max(health, default=0) * ms:.1f} ms")
        print(f"writes: {len(writes)} sent, {len(acknowledged)} acknowledged, waiting ones done "
              f"{max(waited, default=0) * ms:.0f} ms after the release; lost {len(lost)}; errors {len(errors)}"
              + (f" (first: {errors[0]})" if errors else ""))
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
