"""Streams runtime numbers: decode records/s, runner + view writer records/s, write-to-view lag p50/p99.

    PYTHONPATH=src python -m bench.streams_bench [--records 20000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from dynamokit import Engine
from dynamokit.model import App, Entity, Keys, Options, Table
from dynamokit.model.schema import create_tables
from dynamokit.streams import Change, LocalRunner, StreamProcessor, View, decode
from dynamokit.streams.events import lambda_record
from dynamokit.streams.metrics import percentile
from dynamokit.streams.tables import ensure_table


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


def bench_runner(count: int, rate: float) -> dict[str, float]:
    """A writer at `rate` puts/s (0: as fast as possible) while a background runner feeds a View."""
    lags: list[float] = []
    with Engine() as engine:
        view = setup(engine)
        processor = StreamProcessor(APP)

        @processor.on(Post)
        def project(change: Change[Post]) -> None:
            post = change.new
            assert post is not None
            view.upsert({"pk": "post", "sk": post.post_id}, {"title": post.title, "author": post.author},
                        change.version)
            lags.append((time.time() - post.written) * 1000)

        runner = LocalRunner(engine, "blog", processor).start()
        started = time.perf_counter()
        for i in range(count):
            APP.put(Post(post_id=str(i % 5000), title=f"t{i}", author="ann", written=time.time())).run()
            if rate:
                time.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
        runner.run_until_caught_up(120)
        elapsed = time.perf_counter() - started
        runner.stop()
        return {"end_to_end_per_s": count / elapsed, "runner_per_s": runner.metrics.records_per_second,
                "lag_p50_ms": percentile(lags, 50), "lag_p99_ms": percentile(lags, 99),
                "runner_lag_p50_ms": runner.metrics.lag_p50_ms, "runner_lag_p99_ms": runner.metrics.lag_p99_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()
    print("decode:", {k: round(v) for k, v in bench_decode(args.records * 5).items()})
    print("runner, writer flat out:", {k: round(v, 1) for k, v in bench_runner(args.records, 0).items()})
    paced = bench_runner(min(args.records, 3000), 500)
    print("runner, writer at 500 puts/s:", {k: round(v, 1) for k, v in paced.items()})


if __name__ == "__main__":
    main()
