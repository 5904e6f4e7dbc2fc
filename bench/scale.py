"""Scaling: Query p50 and Scan throughput as the table grows, and the server's peak memory.

For each size the table is loaded natively with BatchWriteItem (timed) and `dynamokit serve --db FILE` runs on it
as a subprocess. Then, in interleaved rounds over the sizes (so load on the machine hits every size alike): p50 of
Query (a 50-item range in a 100-item partition) and of Query on the GSI, over boto3/HTTP and natively (an Engine
in this process on the same file). Last, a paginated Scan of up to SCAN_CAP items for throughput, and each
server's VmHWM (peak RSS).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

import boto3
from botocore.config import Config

from dynamokit import Engine

from .run import free_port, start_server, vm_hwm
from .workload import CREATE_TABLE, TABLE, Workload

SCAN_CAP = 200_000


def load(path: str, items: int) -> float:
    with Engine(path) as engine:
        engine.call("CreateTable", CREATE_TABLE)
        work = Workload(items)
        started = time.perf_counter()
        for start in range(0, items, 25):
            engine.call("BatchWriteItem", {"RequestItems": {TABLE: [
                {"PutRequest": {"Item": work.item(n)}} for n in range(start, min(items, start + 25))]}})
        return time.perf_counter() - started


def _p50(call: Any, requests: list[dict[str, Any]]) -> float:
    for request in requests[:50]:
        call(request)
    samples = []
    for request in requests:
        t0 = time.perf_counter()
        call(request)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e3


def measure(tmp: str, sizes: list[int], queries: int = 500, rounds: int = 5,
            log: Any = sys.stderr) -> list[dict[str, Any]]:
    """Load every size, serve them all at once, then measure them in interleaved rounds (medians of rounds)."""
    rows: list[dict[str, Any]] = []
    servers: list[Any] = []
    try:
        for items in sizes:
            path = os.path.join(tmp, f"scale-{items}.db")
            row: dict[str, Any] = {"items": items, "load_s": load(path, items), "path": path}
            row["db_mib"] = sum(os.path.getsize(path + ext) for ext in ("", "-wal")
                                if os.path.exists(path + ext)) / 2**20
            print(f"  scale: loaded {items:,} items in {row['load_s']:.1f}s", file=log)
            port = free_port()
            servers.append(start_server([sys.executable, "-c", "from dynamokit._cli import main; main()", "serve",
                                         "--db", path, "--port", str(port), "--workers", "1"], port,
                                        os.path.join(tmp, f"scale-{items}.log")))
            row["rss_start_mib"] = vm_hwm(servers[-1].pid)
            row["client"] = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                                         aws_access_key_id="k", aws_secret_access_key="s",
                                         config=Config(retries={"max_attempts": 1}))
            row["engine"] = Engine(path)
            work = Workload(items, seed=11)
            row["query"] = [work.request("Query", i) for i in range(queries * rounds)]
            row["gsi"] = [work.request("QueryGSI", i) for i in range(queries * rounds)]
            rows.append(row)
        samples: dict[tuple[int, str], list[float]] = {}
        for r in range(rounds):
            for row in rows[r % len(rows):] + rows[:r % len(rows)]:
                made, engine, part = row["client"], row["engine"], slice(r * queries, (r + 1) * queries)
                for key, call, requests in [
                        ("http_query_p50_ms", lambda q, m=made: m.query(**q), row["query"][part]),
                        ("http_gsi_p50_ms", lambda q, m=made: m.query(**q), row["gsi"][part]),
                        ("native_query_p50_ms", lambda q, e=engine: e.call("Query", q), row["query"][part]),
                        ("native_gsi_p50_ms", lambda q, e=engine: e.call("Query", q), row["gsi"][part])]:
                    samples.setdefault((row["items"], key), []).append(_p50(call, requests))
        for row, server in zip(rows, servers, strict=True):
            for key in ("http_query_p50_ms", "http_gsi_p50_ms", "native_query_p50_ms", "native_gsi_p50_ms"):
                row[key] = statistics.median(samples[(row["items"], key)])
            made, scanned, pages, request = row["client"], 0, 0, {"TableName": TABLE}
            started = time.perf_counter()
            while scanned < SCAN_CAP:
                page = made.scan(**request)
                scanned += page["Count"]
                pages += 1
                if "LastEvaluatedKey" not in page:
                    break
                request = {"TableName": TABLE, "ExclusiveStartKey": page["LastEvaluatedKey"]}
            row["scan_items_per_s"] = scanned / (time.perf_counter() - started)
            row["scan_items"], row["scan_pages"] = scanned, pages
            row["rss_peak_mib"] = vm_hwm(server.pid)
            print(f"  scale {row['items']:,}: " + ", ".join(
                f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)), file=log)
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        for row in rows:
            row.pop("engine").close()
            for key in ("client", "query", "gsi"):
                row.pop(key)
            path = row.pop("path")
            for ext in ("", "-wal", "-shm"):
                if os.path.exists(path + ext):
                    os.remove(path + ext)
    return rows
