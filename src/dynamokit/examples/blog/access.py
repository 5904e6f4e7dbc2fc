"""The access patterns every blog is measured on, and the seeded inputs they run with."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import data
from .api import Blog

PROBES = 3  # posts kept aside for the interrupted-delete probe


@dataclass(frozen=True)
class Workload:
    """The inputs of each repetition, identical for every pattern."""

    reads: list[str]  # post ids for post page / comments
    authors: list[str]
    words: list[str]
    days: list[dt.date]
    new_comments: list[data.Comment]
    lag_comments: list[data.Comment]  # written one at a time to measure view lag
    doomed: list[str]  # posts deleted by the delete access pattern
    probes: list[str]  # posts deleted with an injected failure
    children: dict[str, int]  # comments + likes of each post in the data set


def workload(items: data.Dataset, reps: int, seed: int) -> Workload:
    rng = random.Random(seed + 1)
    posts = [p.post_id for p in items.posts]
    rng.shuffle(posts)
    if len(posts) < 2 * reps + PROBES:
        raise ValueError(f"{len(posts)} posts are too few for {reps} repetitions; load more data")
    doomed, probes, kept = posts[:reps], posts[reps : reps + PROBES], posts[reps + PROBES :]
    children = {p.post_id: 0 for p in items.posts}
    for post_id in [c.post_id for c in items.comments] + [like.post_id for like in items.likes]:
        children[post_id] += 1
    authors = {a.author_id: a for a in items.authors}
    new_comments, lag_comments = [], []
    for i in range(reps):
        author = authors[rng.choice(sorted(authors))]
        lag_comments.append(
            data.Comment(
                f"lag{i:05d}", kept[-1 - i % len(kept)], author.author_id, author.name, "lag probe", data.NOW
            )
        )
        new_comments.append(
            data.Comment(
                f"new{i:05d}",
                kept[i % len(kept)],
                author.author_id,
                author.name,
                " ".join(rng.sample(data.WORDS, 5)),
                data.NOW,
            )
        )
    return Workload(
        reads=[kept[i % len(kept)] for i in range(reps)],
        authors=[rng.choice(items.authors).author_id for _ in range(reps)],
        words=[rng.choice(data.WORDS) for _ in range(reps)],
        days=[data.NOW.date() - dt.timedelta(days=n) for n in range(6, -1, -1)],
        new_comments=new_comments,
        lag_comments=lag_comments,
        doomed=doomed,
        probes=probes,
        children=children,
    )


@dataclass(frozen=True)
class AccessPattern:
    key: str
    title: str
    writes: bool
    run: Callable[[Blog, Workload, int], Any]  # repetition i; returns what the blog answered


ACCESS_PATTERNS = (
    AccessPattern("post_page", "get post page", False, lambda b, w, i: b.post_page(w.reads[i])),
    AccessPattern(
        "author_posts", "author's posts, newest first", False, lambda b, w, i: b.author_posts(w.authors[i])
    ),
    AccessPattern("comments", "comments of a post", False, lambda b, w, i: b.comments(w.reads[i])),
    AccessPattern("add_comment", "add a comment", True, lambda b, w, i: b.add_comment(w.new_comments[i])),
    AccessPattern("delete_post", "delete a post", True, lambda b, w, i: b.delete_post(w.doomed[i])),
    AccessPattern("top_posts", "top posts by likes", False, lambda b, w, i: b.top_posts()),
    AccessPattern("search", "full-text search", False, lambda b, w, i: b.search(w.words[i])),
    AccessPattern(
        "comments_per_day", "comments per day (7 days)", False, lambda b, w, i: b.comments_per_day(w.days)
    ),
)


def after_writes(blog: Blog, work: Workload) -> Any:
    """What every blog must agree on once the writes have settled."""
    touched = sorted({c.post_id for c in work.new_comments})
    return (
        [blog.post_page(p) for p in touched],
        [blog.remnants(p) for p in work.doomed],
        blog.comments_per_day(work.days),
        blog.top_posts(),
    )
