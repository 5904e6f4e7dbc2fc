"""The demo's last scene: a product change arrives (a user's comments across posts, newest first) and each
pattern adapts while a writer keeps adding comments. Measured: what the change rewrote and cost, how long
until the new access pattern was served, whether any acknowledged write was lost, and the new pattern."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from .._engine import DynamoDBError
from . import source
from .meter import Meter
from .report import Change

KEY = "user_comments"
TITLE = "a user's comments, newest first"
MIN_WRITES = 5  # the writer has written this many before the change starts (and goes on during it)
PAUSE = 0.002  # seconds between the writer's comments


class Writer(threading.Thread):
    """Adds comments one at a time until stopped; remembers the ones acknowledged (and counts failures)."""

    def __init__(self, blog: Any, work: Any) -> None:
        super().__init__(name=f"demo-writer-{blog.name}", daemon=True)
        self.blog, self.work = blog, work
        self.acknowledged: list[Any] = []
        self.failed = 0
        self.stop = threading.Event()
        self.started_writing = threading.Event()

    def comment(self, i: int) -> Any:
        data = source.module("data")
        author = self.work.authors[i % len(self.work.authors)]
        return data.Comment(
            f"chg{i:05d}",
            self.work.reads[i % len(self.work.reads)],
            author,
            f"name of {author}",
            f"written during the change {i}",
            data.NOW + dt.timedelta(seconds=1 + i),
        )

    def run(self) -> None:
        i = 0
        while not self.stop.is_set() or i < MIN_WRITES:
            comment = self.comment(i)
            try:
                self.blog.add_comment(comment)
                self.acknowledged.append(comment)
            except DynamoDBError:
                self.failed += 1
            i += 1
            if i >= MIN_WRITES:
                self.started_writing.set()
            time.sleep(PAUSE)


def comparable(answer: list[Any], work: Any) -> list[Any]:
    """The part of an answer every pattern must agree on: the seeded comments and the measured writes,
    without the microservice's lag probes, the writer's comments (their number differs per run) and the
    comments of posts the integrity probe tried to delete (the simple pattern leaves orphans there)."""
    probes = set(work.probes)
    return [c for c in answer if not c.comment_id.startswith(("lag", "chg")) and c.post_id not in probes]


def lost(blog: Any, acknowledged: list[Any]) -> int:
    """Acknowledged comments missing from the final data: from their user's list or their post's page."""
    missing = set()
    for author in sorted({c.author_id for c in acknowledged}):
        listed = {c.comment_id for c in blog.user_comments(author)}
        missing |= {
            c.comment_id for c in acknowledged if c.author_id == author and c.comment_id not in listed
        }
    for post in sorted({c.post_id for c in acknowledged}):
        shown = {c.comment_id for c in blog.comments(post)}
        missing |= {c.comment_id for c in acknowledged if c.post_id == post and c.comment_id not in shown}
    return len(missing)


def run(blog: Any, work: Any, meter: Meter, measure: Any) -> tuple[Change, list[Any]]:
    """Adapt `blog` to the new access pattern under a writer; returns the measures and the comparable
    answers of the new pattern (one list per author of the workload)."""
    spent = Meter(meter.transport)  # the change's own requests (migration, backfill), apart from the app's
    writer = Writer(blog, work)
    writer.start()
    writer.started_writing.wait(30)
    started = time.perf_counter()
    adapted = blog.adapt(spent)
    seconds = time.perf_counter() - started
    writer.stop.set()
    writer.join()
    blog.settle()
    tallies, millis, answers = [], [], []
    for author in work.authors:
        before = meter.snapshot()
        t0 = time.perf_counter()
        answer = blog.user_comments(author)
        millis.append((time.perf_counter() - t0) * 1000)
        tallies.append(meter.tally.minus(before))
        answers.append(comparable(answer, work))
    # A GSI created on a live table is backfilled by DynamoDB, which bills its writes on the index (the engine
    # meters them, as CloudWatch's OnlineIndexConsumedWriteCapacity); a view backfill's Scan reads the engine
    # directly (its RCU as the Scan reported it).
    change = Change(
        items_rewritten=adapted.items_rewritten,
        index_items=adapted.index_items,
        wcu=spent.tally.wcu + adapted.index_wcu,
        rcu=spent.tally.rcu + adapted.scan_rcu,
        seconds=seconds,
        served_seconds=adapted.served_seconds,
        writes=len(writer.acknowledged),
        failed_writes=writer.failed,
        lost_writes=lost(blog, writer.acknowledged),
        access=measure(tallies, millis),
    )
    return change, answers
