"""A small user model for the typing tests (checked with mypy --strict, as user code is)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dynamokit.model import GSI, App, Collection, Entity, Index, Keys, Table, pattern


class Post(Entity):
    post_id: str
    author: str
    title: str
    created: datetime
    views: int = 0
    keys = Keys(
        pk="POST#{post_id}",
        sk="POST#{post_id}",
        by_author=Index("gsi1", pk="AUTHOR#{author}", sk="{created}"),
    )


class Comment(Entity):
    post_id: str
    comment_id: str
    body: str
    keys = Keys(pk="POST#{post_id}", sk="COMMENT#{comment_id}")


@pattern(Post)
def posts_by_author(author: str, created: datetime | None = None) -> None:
    """An author's posts, oldest first."""


@dataclass
class Thread:
    post: Post | None
    comments: list[Comment]


THREAD = Collection("thread", Thread)


def blog() -> App:
    return App(
        Table("blog", [Post, Comment], indexes=[GSI("gsi1")]),
        patterns=[posts_by_author],
        collections=[THREAD],
    )
