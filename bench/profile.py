"""Profile one workload op on dynamokit (cProfile): natively, through the in-process boto3 client, or both.

    python -m bench.profile UpdateItem [--calls 3000] [--via native|inprocess] [--top 25] [--sort tottime]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time

from dynamokit import Engine, client

from .worker import _boto3
from .workload import ALL_OPS, CREATE_TABLE, TABLE, Workload, run_op


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("op", choices=ALL_OPS)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--via", choices=["native", "inprocess"], default="native")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Engine(os.path.join(tmp, "profile.db")) as engine:
        engine.call("CreateTable", CREATE_TABLE)
        work = Workload(args.items)
        for start in range(0, args.items, 25):
            engine.call("BatchWriteItem", {"RequestItems": {TABLE: [
                {"PutRequest": {"Item": work.item(n)}} for n in range(start, min(args.items, start + 25))]}})
        if args.via == "native":
            call, failed = engine.call, (lambda e: getattr(e, "code", "") == "ConditionalCheckFailedException")
        else:
            caller, failed = _boto3(lambda: client(engine))
            call = caller(0)
        offset = 10_000_000 if args.op != "PutItem" else args.items  # PutItem: new items
        requests = [work.request(args.op, offset + i) for i in range(args.calls)]
        for request in requests[:100]:
            run_op(call, failed, args.op, request)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for request in requests:
            run_op(call, failed, args.op, request)
        profiler.disable()
        took = time.perf_counter() - started
    print(f"{args.op} via {args.via}: {args.calls} calls, {took / args.calls * 1e6:.0f} µs per call under cProfile")
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
