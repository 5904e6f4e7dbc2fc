"""The test models: a single-table blog and a faux-SQL blog."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field

from dynamokit.model import GSI, App, Collection, Entity, Index, Keys, Options, Pattern, Ref, Table


class Status(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Address(BaseModel):
    city: str
    zip: str


class User(Entity):
    user_id: str
    email: str
    name: str
    org: str = "acme"
    address: Address | None = None
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    keys = Keys(
        pk="USER#{user_id}", sk="PROFILE", by_org=Index("gsi1", pk="ORG#{org}", sk="USER#{name}#{user_id}")
    )
    options = Options(
        name="user", version="version", created="created_at", updated="updated_at", unique=("email",)
    )


class Post(Entity):
    post_id: str
    author: str
    title: str
    created: datetime
    status: Status = Status.DRAFT
    views: int = 0
    rating: Decimal = Decimal(0)
    tags: set[str] = Field(default_factory=set)
    data: bytes = b""
    featured_rank: int | None = None
    expires: datetime | None = None
    keys = Keys(
        pk="POST#{post_id}",
        sk="POST#{post_id}",
        by_author=Index("gsi1", pk="AUTHOR#{author}", sk="POST#{status}#{created}"),
        featured=Index("gsi2", pk="FEATURED", sk="{featured_rank:6}#{post_id}"),
    )
    options = Options(name="post", ttl="expires")


class Comment(Entity):
    post_id: str
    comment_id: str
    author: str
    body: str
    created: datetime
    keys = Keys(
        pk="POST#{post_id}",
        sk="COMMENT#{created}#{comment_id}",
        by_author=Index("gsi1", pk="AUTHOR#{author}", sk="COMMENT#{created}"),
    )
    options = Options(name="comment")


def blog_app() -> App:
    return App(
        Table("blog", [User, Post, Comment], indexes=[GSI("gsi1"), GSI("gsi2")], stream="NEW_AND_OLD_IMAGES"),
        patterns=[
            Pattern("posts_by_author", Post, by=("author",)),
            Pattern("users_by_org", User, by=("org",)),
            Pattern("comments_by_author", Comment, by=("author",)),
            Pattern("featured_posts", Post, by=(), key="featured"),
            Pattern("comments_on_post", Comment, by=("post_id",)),
        ],
        collections=[
            Collection("post_with_comments", {"post": Post, "comments": list[Comment]}),
            Collection("author_activity", {"posts": list[Post], "comments": list[Comment]}, key="gsi1"),
        ],
    )


class Author(Entity):
    author_id: str
    name: str
    keys = Keys(pk="{author_id}")


class Article(Entity):
    article_id: str
    author_id: str
    category: str
    title: str
    keys = Keys(
        pk="{article_id}",
        by_category=Index("by_category", pk="{category}", sk="{article_id}"),
        by_author=Index("by_author", pk="{author_id}", sk="{article_id}"),
    )
    references: ClassVar[Mapping[str, Ref]] = {"author_id": Ref(Author, on_delete="restrict")}


class Note(Entity):
    note_id: str
    article_id: str
    body: str
    keys = Keys(pk="{note_id}", by_article=Index("by_article", pk="{article_id}", sk="{note_id}"))
    references: ClassVar[Mapping[str, Ref]] = {"article_id": Ref(Article, on_delete="cascade")}


def sql_app() -> App:
    return App(
        Table("authors", [Author], pk="author_id", sk=None),
        Table(
            "articles",
            [Article],
            pk="article_id",
            sk=None,
            indexes=[
                GSI("by_category", pk="category", sk="article_id"),
                GSI("by_author", pk="author_id", sk="article_id"),
            ],
        ),
        Table(
            "notes", [Note], pk="note_id", sk=None, indexes=[GSI("by_article", pk="article_id", sk="note_id")]
        ),
        patterns=[
            Pattern("articles_in_category", Article, by=("category",)),
            Pattern("notes_on_article", Note, by=("article_id",)),
        ],
    )
