"""A small model for the console's access-pattern runner: posts by author (a GSI), an author's page
(a collection) and a typed `@pattern`."""

from __future__ import annotations

from datetime import date

from dynamokit.model import GSI, App, Collection, Entity, Index, Keys, Pattern, Table, pattern


class Author(Entity):
    author: str
    name: str
    keys = Keys(pk="AUTHOR#{author}", sk="PROFILE")


class Post(Entity):
    author: str
    post_id: str
    title: str
    stars: int = 0
    published: date
    keys = Keys(pk="AUTHOR#{author}", sk="POST#{post_id}",
                by_day=Index("gsi1", pk="DAY#{published}", sk="POST#{post_id}"))


@pattern(Post)
def posts_of(author: str, post_id: str | None = None) -> None:
    """An author's posts, or one of them."""


POSTS_ON_DAY = Pattern("posts_on_day", Post, by=("published",))
PAGE = Collection("author_page", {"author": Author, "posts": list[Post]})


def make_app() -> App:
    return App(Table("blog", [Author, Post], indexes=[GSI("gsi1")]), patterns=[posts_of, POSTS_ON_DAY],
               collections=[PAGE])
