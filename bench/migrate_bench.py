"""Migration throughput (items/s) and the latency a live writer sees during a run: the tests' v1 -> v2
documents migration (new GSI, changed template, rename, default, removal, transform) on the embedded engine
and over HTTP (`dynamokit serve`'s server, boto3).

    PYTHONPATH=src:. python -m bench.migrate_bench [--items 20000] [--http-items 5000] [--segments 1 2 4]

Throughput: one run over freshly loaded v1 items per segment count, nothing else writing. Writer latency:
a writer updating random documents (UpdateItem ADD views, one every `--pause` seconds, on its own client)
for `--baseline` seconds with no migration, then during a run with 4 segments; p50/p99 of its calls.

Measured on the shared 2-core machine with other sessions' test runs and this worktree's 100k test going on
(load average 8 at the start, 17 at the end), `--items 20000 --http-items 3000`:

    where                   segments   items   items/s    WCU/s
    embedded engine                1   20000       302      907
    embedded engine                2   20000       461    1,383
    embedded engine                4   20000       502    1,507
    HTTP (dynamokit serve)         1    3000        45      136
    HTTP (dynamokit serve)         2    3000        92      277
    HTTP (dynamokit serve)         4    3000       149      446

    writer UpdateItem latency, ms (one update every 5 ms; migration: 4 segments)
    where                   p50 before  p99 before  p50 during  p99 during  calls before/during  items/s
    embedded engine               1.02       21.74        9.58      304.75             183/1225      345
    HTTP (dynamokit serve)       16.61       72.76       53.77      615.26               90/576       43

At load ~2 (an earlier run of the throughput part) the engine did 2,500-2,800 items/s and HTTP 500-700: the
numbers follow the machine's load more than the segment count. During a run the writer's p50 grows ~3-9x and
its p99 ~8-14x: the run's guarded PutItems and the writer's UpdateItems share one SQLite writer (engine) or
one server (HTTP) and 2 cores; `--rate` (WCU/s) is the knob that gives the writer its latency back.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from dynamokit import Engine
from dynamokit.model import BotoTransport, Transport
from dynamokit.model._schema import create_tables
from dynamokit.model.migrations import run
from dynamokit.server._http import Server
from tests.model.migration_models import Doc, v1_app, v1_doc, v2_app


def load(transport: Transport, count: int) -> None:
    old = v1_app().use(transport)
    create_tables(old)
    for start in range(0, count, 1000):
        old.batch_write([v1_doc(i) for i in range(start, min(start + 1000, count))])


def measure(transport: Transport, count: int, segments: int) -> tuple[float, float]:
    """(items/s, WCU/s) of one run over `count` freshly loaded v1 items."""
    load(transport, count)
    app = v2_app().use(transport)
    started = time.perf_counter()
    done = run(app, segments=segments, chunk=100)
    took = time.perf_counter() - started
    progress = done.tables[0].progress
    assert progress is not None and progress.migrated == count, done
    return count / took, progress.wcu / took


class Writer(threading.Thread):
    """Updates random documents, one every `pause` seconds, recording each call's latency in seconds."""

    def __init__(self, transport: Transport, count: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.app, self.count, self.pause = v2_app().use(transport), count, pause
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        chooser = random.Random(5)
        while not self.stop.is_set():
            doc_id = f"d{chooser.randrange(self.count):06d}"
            started = time.perf_counter()
            self.app.update(Doc, doc_id=doc_id).add(views=1).run()
            self.latencies.append(time.perf_counter() - started)
            self.stop.wait(self.pause)

    def take(self) -> list[float]:
        taken, self.latencies = self.latencies, []
        return taken


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def latency(migrating: Transport, writing: Transport, count: int, baseline: float, pause: float) -> list[Any]:
    """The writer's (p50, p99) without a migration and during one, its call counts, and the run's items/s."""
    load(migrating, count)
    writer = Writer(writing, count, pause)
    writer.start()
    time.sleep(baseline)
    before = writer.take()
    started = time.perf_counter()
    done = run(v2_app().use(migrating), segments=4, chunk=100)
    took = time.perf_counter() - started
    during = writer.take()
    writer.stop.set()
    writer.join()
    assert done.tables[0].progress is not None and done.tables[0].progress.migrated == count, done
    return [*percentiles(before), *percentiles(during), len(before), len(during), count / took]


def boto(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=32),
    )


def over_http(measure_it: Callable[[Transport, Transport], Any]) -> Any:
    with Engine() as engine, Server(engine, port=0) as server:
        return measure_it(BotoTransport(boto(server.url)), BotoTransport(boto(server.url)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--http-items", type=int, default=5000)
    parser.add_argument("--segments", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--baseline", type=float, default=3.0, help="seconds of writer without a migration")
    parser.add_argument("--pause", type=float, default=0.005, help="seconds between the writer's updates")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'where':<24}{'segments':>9}{'items':>8}{'items/s':>10}{'WCU/s':>9}")
    for segments in args.segments:
        with Engine() as engine:
            rate, wcu = measure(engine, args.items, segments)
        print(f"{'embedded engine':<24}{segments:>9}{args.items:>8}{rate:>10,.0f}{wcu:>9,.0f}")
    for segments in args.segments:
        rate, wcu = over_http(lambda t, _, s=segments: measure(t, args.http_items, s))
        print(f"{'HTTP (dynamokit serve)':<24}{segments:>9}{args.http_items:>8}{rate:>10,.0f}{wcu:>9,.0f}")
    print(f"\nwriter UpdateItem latency, ms (one update every {args.pause * 1000:.0f} ms; migration: 4 segments)")
    print(f"{'where':<24}{'p50 before':>11}{'p99 before':>11}{'p50 during':>11}{'p99 during':>11}"
          f"{'calls':>12}{'items/s':>9}")  # fmt: skip
    with Engine() as engine:
        rows = [("embedded engine", latency(engine, engine, args.items, args.baseline, args.pause))]
    rows.append(("HTTP (dynamokit serve)",
                 over_http(lambda t, w: latency(t, w, args.http_items, args.baseline, args.pause))))  # fmt: skip
    for where, (p50b, p99b, p50d, p99d, nb, nd, rate) in rows:
        print(f"{where:<24}{p50b:>11.2f}{p99b:>11.2f}{p50d:>11.2f}{p99d:>11.2f}{f'{nb}/{nd}':>12}{rate:>9,.0f}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
