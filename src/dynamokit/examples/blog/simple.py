"""Pattern 1, simple: one table, no secondary indexes; what no key answers is a Scan.

Good for the few key lookups a small app needs. Everything else (an author's posts, top posts, search,
comments per day) reads the whole table, so its cost grows with the data, and multi-item writes are
separate requests: a failure between them leaves orphans.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections import Counter
from typing import Any

from dynamokit.model import (
    GSI,
    App,
    Entity,
    Index,
    Keys,
    Options,
    Pattern,
    ScanWarning,
    Table,
    Transport,
    attr,
    create_tables,
)
from dynamokit.model.migrations import AddIndex, ChangeIndex, Migration

from . import data
from .api import (
    FEED_SIZE,
    Adapted,
    CommentView,
    PostPage,
    ProgressFn,
    Remnants,
    UserComment,
    migrate,
    newest_first,
    query_all,
    top,
    words,
)


class Author(Entity):
    author_id: str
    name: str
    keys = Keys(pk="AUTHOR#{author_id}", sk="AUTHOR")


class Post(Entity):
    post_id: str
    author_id: str
    author_name: str
    title: str
    body: str
    tags: frozenset[str] = frozenset()
    created: dt.datetime
    likes: int = 0
    keys = Keys(pk="POST#{post_id}", sk="POST")


class Comment(Entity):
    comment_id: str
    post_id: str
    author_id: str
    author_name: str
    body: str
    created: dt.datetime
    day: str
    keys = Keys(pk="COMMENTS#{post_id}", sk="{created}#{comment_id}")


class CommentV2(Comment):
    """The product change (model version 2): a new GSI over attributes every comment already has; DynamoDB
    backfills it, nothing is rewritten. Posts have both attributes too, so they share the index and the
    Query filters them out (read, then dropped)."""

    keys = Keys(
        pk="COMMENTS#{post_id}",
        sk="{created}#{comment_id}",
        by_user=Index("by_user", pk="{author_id}", sk="{created}"),
    )
    options = Options(name="Comment")


class Like(Entity):
    post_id: str
    user_id: str
    created: dt.datetime
    keys = Keys(pk="LIKES#{post_id}", sk="{user_id}")


COMMENTS_OF_POST = Pattern("comments_of_post", Comment, by=("post_id",))
LIKES_OF_POST = Pattern("likes_of_post", Like, by=("post_id",))


# The stored `created` ("...+00:00") is not the form the model writes a datetime key in ("...Z"): the old
# comments are rewritten (ChangeIndex) so the index holds one form; DynamoDB's backfill indexes them first.
MIGRATIONS = [
    Migration(
        1,
        2,
        [AddIndex(CommentV2, "by_user"), ChangeIndex(CommentV2, "by_user")],
        "a user's comments, newest first",
    )
]


def app(table: str = "simple_blog", version: int = 1) -> App:
    """The blog's model as it shipped (version 1), or after the product change (version 2)."""
    if version == 1:
        return App(Table(table, [Author, Post, Comment, Like]), patterns=[COMMENTS_OF_POST, LIKES_OF_POST])
    return App(
        Table(table, [Author, Post, CommentV2, Like], indexes=[GSI("by_user", pk="author_id", sk="created")]),
        patterns=[Pattern("comments_of_post", CommentV2, by=("post_id",)), LIKES_OF_POST],
        migrations=MIGRATIONS,
    )


def comment_entity(comment: data.Comment) -> Comment:
    return Comment(**{**comment.__dict__, "day": comment.day})


def entities(items: data.Dataset) -> list[Entity]:
    return [
        *(Author(**a.__dict__) for a in items.authors),
        *(Post(**{**p.__dict__, "tags": p.tags}) for p in items.posts),
        *(comment_entity(c) for c in items.comments),
        *(Like(**like.__dict__) for like in items.likes),
    ]


class SimpleBlog:
    """The blog on one table without indexes."""

    name = "simple"
    guarantees = (
        "Single-item writes only. Deleting a post is several requests (post, then its comments and likes "
        "in batches): a failure in between leaves orphans. No references are checked."
    )

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.app = app().use(transport)

    def create(self) -> None:
        create_tables(self.app)

    def load(self, items: data.Dataset, step: int, progress: ProgressFn) -> None:
        todo = entities(items)
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            if self.app.batch_write(puts=chunk):
                raise RuntimeError("batch write left items unprocessed")
            progress(len(chunk))

    def settle(self, timeout: float = 30.0) -> None:
        """Nothing to wait for: every read sees every acknowledged write."""

    def _scan(self, entity: type[Any], condition: Any = None) -> list[Any]:
        scan = self.app.scan(entity)
        if condition is not None:
            scan.where(condition)
        with warnings.catch_warnings():  # deliberate: this pattern has no index for these questions
            warnings.simplefilter("ignore", ScanWarning)
            return scan.all()

    def post_page(self, post_id: str) -> PostPage | None:
        post = self.app.get(Post, post_id=post_id).run()
        if post is None:
            return None
        comments = self.comments(post_id)
        return PostPage(
            post.post_id, post.title, post.author_name, post.likes, post.tags, len(comments), tuple(comments)
        )

    def author_posts(self, author_id: str) -> list[str]:
        posts = self._scan(Post, attr("author_id") == author_id)
        return [p.post_id for p in sorted(posts, key=lambda p: p.created, reverse=True)[:FEED_SIZE]]

    def comments(self, post_id: str) -> list[CommentView]:
        found = self.app.query(COMMENTS_OF_POST, post_id=post_id).all()
        return [CommentView(c.comment_id, c.author_name, c.body) for c in found]

    def add_comment(self, comment: data.Comment) -> None:
        self.app.put(comment_entity(comment)).run()

    def delete_post(self, post_id: str) -> None:
        comments = self.app.query(COMMENTS_OF_POST, post_id=post_id).all()
        likes = self.app.query(LIKES_OF_POST, post_id=post_id).all()
        self.app.delete(Post, post_id=post_id).run()
        doomed: list[tuple[type[Entity], dict[str, Any]]] = [
            (Comment, {"post_id": post_id, "created": c.created, "comment_id": c.comment_id})
            for c in comments
        ]
        doomed += [(Like, {"post_id": post_id, "user_id": like.user_id}) for like in likes]
        if doomed and self.app.batch_write(deletes=doomed):
            raise RuntimeError("batch delete left items unprocessed")

    def top_posts(self) -> list[str]:
        return top([(p.likes, p.post_id) for p in self._scan(Post)])

    def search(self, word: str) -> list[str]:
        return sorted(p.post_id for p in self._scan(Post) if word in words(f"{p.title} {p.body}"))

    def comments_per_day(self, days: list[dt.date]) -> dict[str, int]:
        texts = [d.isoformat() for d in days]
        found = self._scan(Comment, attr("day").between(texts[0], texts[-1]))
        counts = Counter(c.day for c in found)
        return {day: counts[day] for day in texts}

    def adapt(self, transport: Transport) -> Adapted:
        """The product change as a model migration (`AddIndex` over attributes every comment has): the run
        adds GSI by_user (author_id, created) with UpdateTable and waits until it is ACTIVE."""
        return migrate(app(version=2).use(self.transport), transport, time.perf_counter())

    def user_comments(self, author_id: str) -> list[UserComment]:
        found = query_all(
            self.app.transport,
            {
                "TableName": "simple_blog",
                "IndexName": "by_user",
                "KeyConditionExpression": "author_id = :a",
                "FilterExpression": "#t = :t",
                "ExpressionAttributeNames": {"#t": "_type"},
                "ExpressionAttributeValues": {":a": {"S": author_id}, ":t": {"S": "Comment"}},
                "ScanIndexForward": False,
            },
        )
        comments = [Comment.from_item(item) for item in found]
        return newest_first([(c.created, c.comment_id, c.post_id, c.body) for c in comments])

    def remnants(self, post_id: str) -> Remnants:
        children = len(self.app.query(COMMENTS_OF_POST, post_id=post_id).all())
        children += len(self.app.query(LIKES_OF_POST, post_id=post_id).all())
        return Remnants(self.app.get(Post, post_id=post_id).run() is not None, children)

    def close(self) -> None:
        """Nothing runs in the background."""
