"""Runs the demo: the same data and access patterns against each of the four blogs, measured."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.progress import Progress

from .._engine import DynamoDBError, Engine
from . import change, source
from .meter import Meter, Tally
from .report import PATTERNS, Measure, PatternReport, Probe, Report, percentile

STEP = 100  # items per load request batch and progress tick
TITLES = {
    "simple": "1 simple",
    "faux_sql": "2 faux-SQL",
    "single_table": "3 single-table",
    "microservice": "4 microservice",
}


def _build(name: str, engine: Engine, meter: Meter, background: Meter, directory: Path) -> Any:
    module = source.module(name)
    if name == "microservice":
        work = directory / "microservice"
        work.mkdir(parents=True, exist_ok=True)
        return module.MicroserviceBlog(meter, engine, str(work), reader_transport=background)
    classes = {"simple": "SimpleBlog", "faux_sql": "FauxSqlBlog", "single_table": "SingleTableBlog"}
    return getattr(module, classes[name])(meter)


def _measure(tallies: list[Tally], millis: list[float]) -> Measure:
    n = len(tallies)
    return Measure(
        sum(t.requests for t in tallies) / n,
        sum(t.rcu for t in tallies) / n,
        sum(t.wcu for t in tallies) / n,
        percentile(millis, 0.5),
        percentile(millis, 0.99),
    )


def _probe(blog: Any, meter: Meter, posts: list[str], children: dict[str, int]) -> Probe:
    """Delete posts, failing the (k+1)-th write for k = 0, 1, ... until a delete completes."""
    partial = orphans = 0
    for k, post in enumerate(posts):
        meter.fail_after(k)
        try:
            blog.delete_post(post)
            return Probe(k, partial, orphans)
        except DynamoDBError:
            pass
        finally:
            meter.fail_after(None)
        blog.settle()
        left = blog.remnants(post)
        if not (left.post and left.children == children[post]) and not (not left.post and not left.children):
            partial += 1
            orphans += 0 if left.post else left.children
    raise RuntimeError(f"{blog.name}: a delete still had writes left after {len(posts)} interruptions")


def _lag(blog: Any, comments: list[Any], timeout: float = 10.0) -> list[float]:
    """Milliseconds from issuing a write to the reader having handled it (views, search and analytics
    current), one write at a time, measured end to end by the caller (the reader is otherwise idle)."""
    lags = []
    for comment in comments:
        started = time.perf_counter()
        blog.add_comment(comment)
        blog.settle(timeout)
        lags.append((time.perf_counter() - started) * 1000)
    return lags


def _runner_metrics(metrics: Any) -> dict[str, float]:
    """The stream runner's own account of the run after loading (its lag: commit to handler done)."""
    keys = ("processed", "batches", "retries", "parked", "lag_p50_ms", "lag_p99_ms")
    snapshot = metrics.snapshot()
    return {key: snapshot[key] for key in keys}


@contextmanager
def _directory(path: str | None) -> Iterator[Path]:
    if path is not None:
        Path(path).mkdir(parents=True, exist_ok=True)
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="dynamokit-demo-") as made:
        yield Path(made)


def run(
    size: int = 3000,
    directory: str | None = None,
    seed: int = 7,
    repetitions: int = 25,
    progress: Progress | None = None,
) -> Report:
    """Load `size` items into each pattern on one durable engine in `directory` and compare them."""
    started = time.perf_counter()
    data = source.module("data")
    access = source.module("access")
    items = data.generate(size, seed)
    work = access.workload(items, repetitions, seed)
    report = Report(
        size,
        seed,
        {
            "authors": len(items.authors),
            "posts": len(items.posts),
            "comments": len(items.comments),
            "likes": len(items.likes),
            "items": items.items,
        },
        repetitions,
        {a.key: a.title for a in access.ACCESS_PATTERNS},
        {},
        {},
    )
    answers: dict[str, dict[str, Any]] = {}
    with _directory(directory) as where, Engine(str(where / "demo.sqlite")) as engine:
        for name in PATTERNS:
            meter, background = Meter(engine), Meter(engine)
            blog = _build(name, engine, meter, background, where)
            try:
                report.patterns[name], answers[name] = _run_blog(
                    blog, items, work, access, meter, background, progress
                )
            finally:
                blog.close()
    for key in [a.key for a in access.ACCESS_PATTERNS if not a.writes] + ["after_writes", change.KEY]:
        first = answers[PATTERNS[0]][key]
        report.agreement[key] = all(answers[name][key] == first for name in PATTERNS)
    report.seconds = time.perf_counter() - started
    return report


def _run_blog(
    blog: Any, items: Any, work: Any, access: Any, meter: Meter, background: Meter, progress: Progress | None
) -> tuple[PatternReport, dict[str, Any]]:
    blog.create()
    loaded = time.perf_counter()
    if progress is None:
        blog.load(items, STEP, lambda n: None)
    else:
        task = progress.add_task(f"loading {TITLES[blog.name]}", total=items.items)
        blog.load(items, STEP, lambda n: progress.advance(task, n))
    load_seconds = time.perf_counter() - loaded
    load, background_loaded = meter.snapshot(), background.snapshot()
    measures: dict[str, Measure] = {}
    answers: dict[str, Any] = {}
    ordered = sorted(access.ACCESS_PATTERNS, key=lambda a: a.writes)  # reads first, on the loaded data
    for pattern in ordered:
        tallies, millis, results = [], [], []
        for i in range(len(work.reads)):
            before = meter.snapshot()
            t0 = time.perf_counter()
            results.append(pattern.run(blog, work, i))
            millis.append((time.perf_counter() - t0) * 1000)
            tallies.append(meter.tally.minus(before))
        measures[pattern.key] = _measure(tallies, millis)
        answers[pattern.key] = results
    blog.settle()
    answers["after_writes"] = access.after_writes(blog, work)
    probe = _probe(blog, meter, work.probes, work.children)
    eventual = getattr(blog, "eventually_consistent", False)
    lags = _lag(blog, work.lag_comments) if eventual else []
    runner = _runner_metrics(blog.runner.metrics) if eventual and hasattr(blog, "runner") else None
    spent_background = background.tally.minus(background_loaded) if background.tally.requests else None
    adapted, answers[change.KEY] = change.run(blog, work, meter, _measure)
    module = source.module(blog.name)
    return PatternReport(
        name=blog.name,
        title=TITLES[blog.name],
        summary=(module.__doc__ or "").strip().splitlines()[0].split(": ", 1)[-1],
        guarantees=blog.guarantees,
        load_seconds=load_seconds,
        load=Measure(load.requests, load.rcu, load.wcu, 0.0, 0.0),
        access={a.key: measures[a.key] for a in access.ACCESS_PATTERNS},
        probe=probe,
        lag_ms=lags,
        background=spent_background,
        runner=runner,
        change=adapted,
    ), answers
