"""Migration throughput (items/s): the tests' v1 -> v2 documents migration (new GSI, changed template,
rename, default, removal, transform) on the embedded engine and over HTTP (`dynamokit serve`'s server, boto3).

    PYTHONPATH=src:. python -m bench.migrate_bench [--items 20000] [--http-items 5000] [--segments 1 2 4]

Measured on the shared 2-core machine (other engineers and CI running: load average 5-7), `--items 20000
--http-items 3000`:

    where                        segments   items   items/s    WCU/s
    embedded engine                     1   20000     2,771    8,313
    embedded engine                     2   20000     2,512    7,537
    embedded engine                     4   20000     2,812    8,436
    HTTP (dynamokit serve)              1    3000       597    1,792
    HTTP (dynamokit serve)              2    3000       685    2,056
    HTTP (dynamokit serve)              4    3000       507    1,520

An earlier run at load ~7.5-9 gave 650-1,000 items/s (engine) and 105-170 (HTTP): the numbers follow the
machine's load more than the segment count, since 2 cores leave parallel segments little to use. Per item a run
pays one Scan share, the upgrade (~0.45 ms of Python) and one conditional PutItem whose condition compares
every attribute of the old image; on the engine most of the time is that condition's preparation and
evaluation. Over HTTP the boto3 round trip dominates; more segments help where the server has spare cores.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from dynamokit import Engine
from dynamokit.model import BotoTransport, Transport
from dynamokit.model.migrations import run
from dynamokit.model.schema import create_tables
from dynamokit.server.http import Server
from tests.model.migration_models import v1_app, v1_doc, v2_app


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--http-items", type=int, default=5000)
    parser.add_argument("--segments", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    print(f"{'where':<28}{'segments':>9}{'items':>8}{'items/s':>10}{'WCU/s':>9}")
    for segments in args.segments:
        with Engine() as engine:
            rate, wcu = measure(engine, args.items, segments)
        print(f"{'embedded engine':<28}{segments:>9}{args.items:>8}{rate:>10,.0f}{wcu:>9,.0f}")
    for segments in args.segments:
        with Engine() as engine, Server(engine, port=0) as server:
            rate, wcu = measure(BotoTransport(boto(server.url)), args.http_items, segments)
        print(f"{'HTTP (dynamokit serve)':<28}{segments:>9}{args.http_items:>8}{rate:>10,.0f}{wcu:>9,.0f}")


if __name__ == "__main__":
    main()
