"""Pattern 2, faux-SQL: a table per entity, declared references, joins and integrity kept by dynamokit.

Reads join with batched gets (never one request per row), writes check their references in the same
transaction, and deleting a post cascades to its comments and likes atomically. A page that shows
several entities costs several requests, and a question no index answers (search) is still a Scan.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

from dynamokit.model import (
    GSI,
    App,
    Entity,
    Index,
    Keys,
    Options,
    Pattern,
    Ref,
    ScanWarning,
    Table,
    Transport,
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
    words,
)


class Author(Entity):
    author_id: str
    name: str
    keys = Keys(pk="{author_id}")


class Post(Entity):
    post_id: str
    author_id: str
    title: str
    body: str
    tags: frozenset[str] = frozenset()
    created: dt.datetime
    likes: int = 0
    keys = Keys(
        pk="{post_id}",
        by_author=Index("by_author", pk="{author_id}", sk="{created}"),
        by_likes=Index("by_likes", pk="POSTS", sk="{likes:8}#{post_id}"),
    )
    references: ClassVar[Mapping[str, Ref]] = {"author_id": Ref(Author, on_delete="restrict")}


class Comment(Entity):
    comment_id: str
    post_id: str
    author_id: str
    body: str
    created: dt.datetime
    day: str
    keys = Keys(
        pk="{comment_id}",
        by_post=Index("by_post", pk="{post_id}", sk="{created}#{comment_id}"),
        by_author=Index("by_author", pk="{author_id}", sk="{comment_id}"),
        by_day=Index("by_day", pk="{day}", sk="{created}#{comment_id}"),
    )
    references: ClassVar[Mapping[str, Ref]] = {
        "post_id": Ref(Post, on_delete="cascade"),
        "author_id": Ref(Author, on_delete="restrict"),
    }


class CommentV2(Comment):
    """The product change (model version 2): a user's comments, newest first, from a new GSI over attributes
    every comment already has. DynamoDB backfills it; nothing is rewritten."""

    keys = Keys(
        pk="{comment_id}",
        by_post=Index("by_post", pk="{post_id}", sk="{created}#{comment_id}"),
        by_author=Index("by_author", pk="{author_id}", sk="{comment_id}"),
        by_day=Index("by_day", pk="{day}", sk="{created}#{comment_id}"),
        by_user=Index("by_user", pk="{author_id}", sk="{created}"),
    )
    options = Options(name="Comment")


class Like(Entity):
    post_id: str
    user_id: str
    created: dt.datetime
    keys = Keys(pk="{post_id}", sk="{user_id}", by_user=Index("by_user", pk="{user_id}", sk="{post_id}"))
    references: ClassVar[Mapping[str, Ref]] = {
        "post_id": Ref(Post, on_delete="cascade"),
        "user_id": Ref(Author, on_delete="restrict"),
    }


POSTS_BY_AUTHOR = Pattern("posts_by_author", Post, by=("author_id",))
TOP_POSTS = Pattern("top_posts", Post, by=(), key="by_likes")
COMMENTS_OF_POST = Pattern("comments_of_post", Comment, by=("post_id",))
COMMENTS_ON_DAY = Pattern("comments_on_day", Comment, by=("day",))
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


def app(prefix: str = "sql_", version: int = 1) -> App:
    """The blog's model as it shipped (version 1), or after the product change (version 2)."""
    comment = Comment if version == 1 else CommentV2
    indexes = [GSI("by_post"), GSI("by_author"), GSI("by_day")]
    patterns: list[Pattern[Any]] = [POSTS_BY_AUTHOR, TOP_POSTS, COMMENTS_OF_POST, COMMENTS_ON_DAY, LIKES_OF_POST]
    if version == 2:
        indexes.append(GSI("by_user", pk="author_id", sk="created"))
        patterns[2:4] = [
            Pattern("comments_of_post", CommentV2, by=("post_id",)),
            Pattern("comments_on_day", CommentV2, by=("day",)),
            Pattern("user_comments", CommentV2, by=("author_id",), key="by_user"),
        ]
    return App(
        Table(f"{prefix}authors", [Author], pk="author_id", sk=None),
        Table(f"{prefix}posts", [Post], pk="post_id", sk=None, indexes=[GSI("by_author"), GSI("by_likes")]),
        Table(f"{prefix}comments", [comment], pk="comment_id", sk=None, indexes=indexes),
        Table(f"{prefix}likes", [Like], pk="post_id", sk="user_id", indexes=[GSI("by_user")]),
        patterns=patterns,
        migrations=MIGRATIONS if version == 2 else (),
    )


def comment_entity(comment: data.Comment) -> Comment:
    return Comment(
        comment_id=comment.comment_id,
        post_id=comment.post_id,
        author_id=comment.author_id,
        body=comment.body,
        created=comment.created,
        day=comment.day,
    )


class FauxSqlBlog:
    """The blog as four tables with references."""

    name = "faux_sql"
    guarantees = (
        "Every write checks its references in the same transaction; deleting a post deletes its comments "
        "and likes in one transaction (all or nothing). Restrict and cascade rules are checked in that same "
        "transaction through reference counts."
    )

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.app = app().use(transport)
        self.changed: App | None = None  # model version 2, once the product change is deployed

    def create(self) -> None:
        create_tables(self.app)

    def load(self, items: data.Dataset, step: int, progress: ProgressFn) -> None:
        """Authors in batches (nothing to check); the rest one checked write each, as an app would."""
        for start in range(0, len(items.authors), step):
            chunk = [Author(**a.__dict__) for a in items.authors[start : start + step]]
            self.app.batch_write(puts=chunk)
            progress(len(chunk))
        rows: list[Entity] = [
            *(
                Post(
                    post_id=p.post_id,
                    author_id=p.author_id,
                    title=p.title,
                    body=p.body,
                    tags=p.tags,
                    created=p.created,
                    likes=p.likes,
                )
                for p in items.posts
            ),
            *(comment_entity(c) for c in items.comments),
            *(Like(**like.__dict__) for like in items.likes),
        ]
        for done, row in enumerate(rows, 1):
            self.app.put(row, create=True).run()
            if done % step == 0 or done == len(rows):
                progress(step if done % step == 0 else done % step)

    def settle(self, timeout: float = 30.0) -> None:
        """Nothing to wait for: every read sees every acknowledged write."""

    def post_page(self, post_id: str) -> PostPage | None:
        post = self.app.get(Post, post_id=post_id).run()
        if post is None:
            return None
        author = self.app.get(Author, author_id=post.author_id).run()
        comments = self.comments(post_id)
        return PostPage(
            post.post_id,
            post.title,
            author.name if author else "?",
            post.likes,
            post.tags,
            len(comments),
            tuple(comments),
        )

    def author_posts(self, author_id: str) -> list[str]:
        posts = self.app.query(POSTS_BY_AUTHOR, author_id=author_id).reverse().limit(FEED_SIZE).all()
        return [p.post_id for p in posts]

    def comments(self, post_id: str) -> list[CommentView]:
        out: list[CommentView] = []
        for page in self.app.query(COMMENTS_OF_POST, post_id=post_id).include("author_id").pages():
            out += [CommentView(c.comment_id, page.ref(c, "author_id").name, c.body) for c in page.items]
        return out

    def add_comment(self, comment: data.Comment) -> None:
        self.app.put(comment_entity(comment), create=True).run()

    def delete_post(self, post_id: str) -> None:
        self.app.delete(Post, post_id=post_id).run()

    def top_posts(self) -> list[str]:
        return [p.post_id for p in self.app.query(TOP_POSTS).reverse().limit(FEED_SIZE).all()]

    def search(self, word: str) -> list[str]:
        with warnings.catch_warnings():  # deliberate: no index answers full-text search
            warnings.simplefilter("ignore", ScanWarning)
            posts = self.app.scan(Post).all()
        return sorted(p.post_id for p in posts if word in words(f"{p.title} {p.body}"))

    def comments_per_day(self, days: list[dt.date]) -> dict[str, int]:
        """One query per day: the faux-SQL way to GROUP BY."""
        return {
            d.isoformat(): len(self.app.query(COMMENTS_ON_DAY, day=d.isoformat()).project("comment_id").all())
            for d in days
        }

    def adapt(self, transport: Transport) -> Adapted:
        """The product change as a model migration (`AddIndex` over attributes every comment has): the run
        adds GSI by_user (author_id, created) to the live comments table with UpdateTable and waits until
        DynamoDB has backfilled it (ACTIVE); nothing is rewritten."""
        started = time.perf_counter()
        changed = app(version=2).use(self.transport)
        adapted = migrate(changed, transport, started)
        self.changed = changed
        return adapted

    def user_comments(self, author_id: str) -> list[UserComment]:
        assert self.changed is not None, "adapt() first"
        found = self.changed.query("user_comments", author_id=author_id).reverse().all()
        return newest_first([(c.created, c.comment_id, c.post_id, c.body) for c in found])

    def remnants(self, post_id: str) -> Remnants:
        children = len(self.app.query(COMMENTS_OF_POST, post_id=post_id).all())
        children += len(self.app.query(LIKES_OF_POST, post_id=post_id).all())
        return Remnants(self.app.get(Post, post_id=post_id).run() is not None, children)

    def close(self) -> None:
        """Nothing runs in the background."""
