"""Streams runtime numbers: decode records/s; runner + View records/s draining a backlog with 1, 2 and 4 lanes
(ParallelizationFactor); write-to-view lag (p50/p99, per 10 s window) with a writer at 500 puts/s and flat out.

    PYTHONPATH=src python -m bench.streams_bench [--records 20000] [--seconds 60] [--lanes 1 2 4]

Wall and CPU seconds (the whole process: writer, engine and runner) are printed next to each rate; the
machine's load average is printed first, since the numbers are only comparable under similar load.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from typing import Any

from dynamokit import Engine
from dynamokit.model import App, Entity, Keys, Options, Table
from dynamokit.model._schema import create_tables
from dynamokit.streams import Change, LocalRunner, StreamProcessor, View, decode
from dynamokit.streams._events import lambda_record
from dynamokit.streams._metrics import percentile
from dynamokit.streams._tables import ensure_table

WINDOW = 10.0  # seconds of write time per lag report


class Post(Entity):
    post_id: str
    title: str
    author: str
    views: int = 0
    written: float = 0.0
    keys = Keys(pk="POST#{post_id}", sk="POST#{post_id}")
    options = Options(name="post")


APP = App(Table("blog", [Post], stream="NEW_AND_OLD_IMAGES"))


def setup(engine: Engine) -> View:
    APP.use(engine)
    create_tables(APP)
    ensure_table(engine, "views")
    return View(engine, "views")


def stream_records(engine: Engine) -> list[dict[str, Any]]:
    arn = engine.call("DescribeTable", {"TableName": "blog"})["Table"]["LatestStreamArn"]
    out: list[dict[str, Any]] = []
    for shard in engine.call("DescribeStream", {"StreamArn": arn})["StreamDescription"]["Shards"]:
        iterator = engine.call("GetShardIterator", {"StreamArn": arn, "ShardId": shard["ShardId"],
                                                    "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        while iterator:
            page = engine.call("GetRecords", {"ShardIterator": iterator})
            out += [lambda_record(r, arn) for r in page["Records"]]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return out


def bench_decode(count: int) -> dict[str, float]:
    with Engine() as engine:
        setup(engine)
        for i in range(2000):
            APP.put(Post(post_id=str(i), title=f"title {i}", author="ann", views=i)).run()
            APP.update(Post, post_id=str(i)).set(title=f"new {i}").run()
        records = stream_records(engine)
    out = {}
    for label, app in (("typed", APP), ("raw", None)):
        started = time.perf_counter()
        done = 0
        while done < count:
            for record in records:
                decode(record, app)
            done += len(records)
        out[f"decode_{label}_per_s"] = done / (time.perf_counter() - started)
    return out


class Projection:
    """The pattern-4 view writer: each post's title and author upserted into a View, version-guarded. As a
    Lambda handler it notes, per record, when its view write was done (the handler returned)."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.processor = StreamProcessor(APP)
        self.processor.on(Post)(self.project)
        self.lags: list[tuple[float, float]] = []  # (written, write-to-view lag in ms)
        self.lock = threading.Lock()

    def project(self, change: Change[Post]) -> None:
        post = change.new
        assert post is not None
        self.view.upsert({"pk": "post", "sk": post.post_id}, {"title": post.title, "author": post.author},
                         change.version)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        response = self.processor.lambda_handler(event, context)
        done = time.time()
        written = [float(r["dynamodb"]["NewImage"]["written"]["N"]) for r in event["Records"]]
        with self.lock:
            self.lags += [(w, (done - w) * 1000) for w in written]
        return response


def write(count: int, rate: float, started: float, seconds: float = 0.0) -> int:
    """Put posts at `rate` per second (0: flat out), `count` of them or for `seconds`; how many were put."""
    i = 0
    while (i < count) if not seconds else (time.perf_counter() - started < seconds):
        APP.put(Post(post_id=str(i % 5000), title=f"t{i}", author="ann", written=time.time())).run()
        i += 1
        if rate:
            time.sleep(max(0.0, started + i / rate - time.perf_counter()))
    return i


def bench_drain(count: int, lanes: int) -> dict[str, float]:
    """Runner + View records/s over a backlog of `count` puts written before it starts."""
    with Engine() as engine:
        projection = Projection(setup(engine))
        write(count, 0, time.perf_counter())
        runner = LocalRunner(engine, "blog", projection, parallelization_factor=lanes)
        wall, cpu = time.perf_counter(), time.process_time()
        runner.run_until_caught_up(600)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert len(projection.lags) >= count, (len(projection.lags), count)
        return {"records_per_s": count / wall, "wall_s": wall, "cpu_s": cpu, "cpu_us_per_record": cpu / count * 1e6}


def bench_lag(seconds: float, rate: float, lanes: int) -> dict[str, Any]:
    """A writer at `rate` puts/s (0: flat out) for `seconds` while a background runner feeds a View."""
    with Engine() as engine:
        projection = Projection(setup(engine))
        runner = LocalRunner(engine, "blog", projection, parallelization_factor=lanes).start()
        wall, cpu = time.perf_counter(), time.process_time()
        written = write(0, rate, wall, seconds)
        writing = time.perf_counter() - wall
        runner.run_until_caught_up(600)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        runner.stop()
    lags = sorted(projection.lags)
    first = lags[0][0] if lags else 0.0
    windows: list[list[float]] = []
    for at, lag in lags:
        slot = int((at - first) // WINDOW)
        windows += [[] for _ in range(slot + 1 - len(windows))]
        windows[slot].append(lag)
    every = [lag for _, lag in lags]
    return {"writes_per_s": written / writing, "wall_s": wall, "cpu_s": cpu, "p50_ms": percentile(every, 50),
            "p99_ms": percentile(every, 99), "max_ms": max(every, default=0.0),
            "windows": [(len(w), round(percentile(w, 50), 1), round(percentile(w, 99), 1)) for w in windows]}


def rounded(numbers: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in numbers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000, help="backlog drained by the runner")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each lag run writes")
    parser.add_argument("--lanes", type=int, nargs="+", default=[1, 2, 4], help="parallelization factors")
    parser.add_argument("--only", choices=("decode", "drain", "lag"), nargs="+", default=["decode", "drain", "lag"])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    if "decode" in args.only:
        print("decode:", {k: round(v) for k, v in bench_decode(args.records * 5).items()}, flush=True)
    if "drain" in args.only:
        for lanes in args.lanes:
            print(f"drain {args.records} records, {lanes} lane(s):", rounded(bench_drain(args.records, lanes)),
                  flush=True)
    if "lag" in args.only:
        for label, rate in (("500 puts/s", 500.0), ("flat out", 0.0)):
            numbers = rounded(bench_lag(args.seconds, rate, args.lanes[0]))
            print(f"lag, writer {label} for {args.seconds:g}s, {args.lanes[0]} lane(s):", numbers, flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
