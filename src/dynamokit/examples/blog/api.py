"""What every blog answers, whatever its pattern: the `Blog` protocol and its plain result types."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

from . import data

FEED_SIZE = 10  # an author's feed and the top-posts list show this many posts


@dataclass(frozen=True)
class CommentView:
    comment_id: str
    author_name: str
    body: str


@dataclass(frozen=True)
class PostPage:
    """A post as its page shows it: with its author's name and its comments, oldest first."""

    post_id: str
    title: str
    author_name: str
    likes: int
    tags: frozenset[str]
    comment_count: int
    comments: tuple[CommentView, ...]


@dataclass(frozen=True)
class UserComment:
    """One of a user's comments as the product change's new page lists them (newest first)."""

    comment_id: str
    post_id: str
    body: str


@dataclass(frozen=True)
class Adapted:
    """What adapting to the product change did: base items rewritten (or view items written), entries the
    engine copied into a new GSI by itself, seconds from the start until the new pattern was served, and
    the capacity the requests through the change's meter do not show: the GSI backfill's WCU (metered by
    the engine) and the view backfill's Scan RCU."""

    items_rewritten: int
    index_items: int
    served_seconds: float
    index_wcu: float = 0.0
    scan_rcu: float = 0.0


@dataclass(frozen=True)
class Remnants:
    """What is left of a post after a delete: is the post there, and how many of its comments and likes."""

    post: bool
    children: int


class Blog(Protocol):
    """The blog's use cases; each pattern module implements them on its own tables."""

    name: str
    guarantees: str

    def create(self) -> None:
        """Create this blog's tables (and start anything it runs in the background)."""

    def load(self, items: data.Dataset, step: int, progress: ProgressFn) -> None:
        """Write the data set, calling `progress(n)` after every `step` items or so."""

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until everything written is readable everywhere (views, search, analytics)."""

    def post_page(self, post_id: str) -> PostPage | None: ...

    def author_posts(self, author_id: str) -> list[str]:
        """The author's newest FEED_SIZE post ids, newest first."""

    def comments(self, post_id: str) -> list[CommentView]:
        """The post's comments, oldest first."""

    def add_comment(self, comment: data.Comment) -> None: ...

    def delete_post(self, post_id: str) -> None:
        """Delete a post with its comments and likes."""

    def top_posts(self) -> list[str]:
        """The FEED_SIZE most liked post ids (ties: higher post id first)."""

    def search(self, word: str) -> list[str]:
        """Ids of the posts whose title or body has this word, sorted."""

    def comments_per_day(self, days: list[dt.date]) -> dict[str, int]:
        """Number of comments written on each of these days."""

    def remnants(self, post_id: str) -> Remnants: ...

    def adapt(self, transport: Any) -> Adapted:
        """The product change: serve `user_comments` on the live blog (writes go on meanwhile); requests the
        change itself makes go through `transport` (a meter), where the pattern can route them."""

    def user_comments(self, author_id: str) -> list[UserComment]:
        """The user's comments across posts, newest first (after `adapt`)."""

    def close(self) -> None: ...


class ProgressFn(Protocol):
    def __call__(self, advance: int) -> None: ...


def words(text: str) -> set[str]:
    """The lower-cased words of a text, as a full-text index tokenizes it."""
    return set(re.findall(r"\w+", text.lower()))


def top(posts: list[tuple[int, str]]) -> list[str]:
    """Post ids by (likes, post id) descending, the first FEED_SIZE."""
    return [post_id for _, post_id in sorted(posts, reverse=True)[:FEED_SIZE]]


def newest_first(found: list[tuple[Any, str, str, str]]) -> list[UserComment]:
    """(created, comment_id, post_id, body) rows as UserComments, newest first (ties: higher id first)."""
    return [UserComment(c, p, b) for _, c, p, b in sorted(found, reverse=True)]


def migrate(app: Any, transport: Any, started: float) -> Adapted:
    """Run the migrations the new model `app` declares (`dynamokit.model.migrations.run`, the requests through
    `transport`): what it rewrote or wrote into views, what DynamoDB copied into new GSIs and the WCU the
    engine metered for that, and seconds from `started` until the new pattern was served."""
    from dynamokit.model.migrations import run

    done = run(app, transport, segments=2)
    rewritten = sum(t.progress.migrated for t in done.tables if t.progress is not None)
    views = [v for t in done.tables for v in t.views]
    copied = 0
    for table in done.tables:
        described = transport.call("DescribeTable", {"TableName": table.table})["Table"]
        copied += sum(int(g.get("ItemCount", 0)) for g in described.get("GlobalSecondaryIndexes", [])
                      if g["IndexName"] in table.indexes)
    return Adapted(
        items_rewritten=rewritten + sum(v.writes for v in views),
        index_items=copied,
        served_seconds=time.perf_counter() - started,
        index_wcu=sum(w or 0.0 for t in done.tables for w in t.index_wcu.values()),
        scan_rcu=sum(v.rcu for v in views),
    )


def query_all(transport: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a Query (following pages)."""
    request = {**request, "ReturnConsumedCapacity": "TOTAL"}
    items: list[dict[str, Any]] = []
    while True:
        page = transport.call("Query", request)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
