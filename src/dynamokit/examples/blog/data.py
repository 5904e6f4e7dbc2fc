"""The shared, seeded blog data set: authors, posts, comments and likes as plain records."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

NOW = dt.datetime(2025, 3, 31, 12, 0, tzinfo=dt.UTC)  # the data set's "now": runs are repeatable
WORDS = [
    "dynamodb",
    "serverless",
    "lambda",
    "stream",
    "index",
    "table",
    "partition",
    "query",
    "scan",
    "item",
    "collection",
    "capacity",
    "latency",
    "cache",
    "python",
    "model",
    "schema",
    "design",
    "pattern",
    "event",
    "view",
    "search",
    "analytics",
    "cost",
    "migration",
    "backup",
    "replica",
    "region",
    "key",
    "sort",
    "filter",
    "batch",
    "transaction",
    "consistency",
    "throughput",
    "storage",
]
TAGS = ("aws", "databases", "python", "architecture", "performance", "howto", "opinion", "news")
NAMES = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Leslie")


@dataclass(frozen=True)
class Author:
    author_id: str
    name: str


@dataclass(frozen=True)
class Post:
    post_id: str
    author_id: str
    author_name: str
    title: str
    body: str
    tags: frozenset[str]
    created: dt.datetime
    likes: int


@dataclass(frozen=True)
class Comment:
    comment_id: str
    post_id: str
    author_id: str
    author_name: str
    body: str
    created: dt.datetime

    @property
    def day(self) -> str:
        return self.created.date().isoformat()


@dataclass(frozen=True)
class Like:
    post_id: str
    user_id: str
    created: dt.datetime


@dataclass
class Dataset:
    """Everything a blog is loaded with; `items` counts stored entities."""

    authors: list[Author] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    likes: list[Like] = field(default_factory=list)

    @property
    def items(self) -> int:
        return len(self.authors) + len(self.posts) + len(self.comments) + len(self.likes)


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _after(rng: random.Random, start: dt.datetime) -> dt.datetime:
    """A moment between `start` and NOW, to the millisecond."""
    span = (NOW - start).total_seconds()
    return start + dt.timedelta(milliseconds=int(rng.uniform(0, span) * 1000))


def generate(size: int, seed: int = 7) -> Dataset:
    """About `size` items: 1% authors, 12% posts, 50% comments, the rest likes (posts' like counts match)."""
    rng = random.Random(seed)
    data = Dataset()
    for i in range(max(3, size // 100)):
        data.authors.append(Author(f"a{i:04d}", f"{NAMES[i % len(NAMES)]} {i}"))
    raw_posts = []
    for i in range(max(5, size * 12 // 100)):
        author = rng.choice(data.authors)
        created = NOW - dt.timedelta(days=60) + dt.timedelta(seconds=rng.randint(0, 59 * 86400))
        raw_posts.append((f"p{i:05d}", author, created))
    like_budget = max(0, size - len(data.authors) - len(raw_posts) - size // 2)
    liked: dict[str, list[Like]] = {post_id: [] for post_id, _, _ in raw_posts}
    pairs = rng.sample(
        range(len(raw_posts) * len(data.authors)), min(like_budget, len(raw_posts) * len(data.authors))
    )
    for pair in sorted(pairs):
        post_id, _, created = raw_posts[pair // len(data.authors)]
        like = Like(post_id, data.authors[pair % len(data.authors)].author_id, _after(rng, created))
        liked[post_id].append(like)
        data.likes.append(like)
    for post_id, author, created in raw_posts:
        tags = frozenset(rng.sample(TAGS, rng.randint(1, 3)))
        data.posts.append(
            Post(
                post_id,
                author.author_id,
                author.name,
                _text(rng, 3, 6),
                _text(rng, 12, 30),
                tags,
                created,
                len(liked[post_id]),
            )
        )
    for i in range(size // 2):
        post = rng.choice(data.posts)
        author = rng.choice(data.authors)
        data.comments.append(
            Comment(
                f"c{i:06d}",
                post.post_id,
                author.author_id,
                author.name,
                _text(rng, 4, 16),
                _after(rng, post.created),
            )
        )
    return data
