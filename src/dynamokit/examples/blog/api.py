"""What every blog answers, whatever its pattern: the `Blog` protocol and its plain result types."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol

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

    def close(self) -> None: ...


class ProgressFn(Protocol):
    def __call__(self, advance: int) -> None: ...


def words(text: str) -> set[str]:
    """The lower-cased words of a text, as a full-text index tokenizes it."""
    return set(re.findall(r"\w+", text.lower()))


def top(posts: list[tuple[int, str]]) -> list[str]:
    """Post ids by (likes, post id) descending, the first FEED_SIZE."""
    return [post_id for _, post_id in sorted(posts, reverse=True)[:FEED_SIZE]]
