"""The handler code shared by the runner and Lambda tests: a single-table blog and its read views."""

from __future__ import annotations

from typing import Any

from dynamokit.model import App, Entity, Keys, Options, Table
from dynamokit.streams import Change, FtsSink, StreamProcessor, View


class Post(Entity):
    post_id: str
    title: str
    author: str = "ann"
    keys = Keys(pk="POST#{post_id}", sk="POST#{post_id}")
    options = Options(name="post")


class Comment(Entity):
    post_id: str
    comment_id: str
    body: str
    keys = Keys(pk="POST#{post_id}", sk="COMMENT#{comment_id}")
    options = Options(name="comment")


blog = App(Table("blog", [Post, Comment], stream="NEW_AND_OLD_IMAGES"))


def make_processor(view: View, search: FtsSink) -> StreamProcessor:
    """Posts mirrored into `view` and indexed in `search`; comments counted per post."""
    processor = StreamProcessor(blog, unknown="fail")

    @processor.on(Post)
    def post_changed(change: Change[Post]) -> None:
        key = {"pk": "post", "sk": change.keys["pk"]}
        if change.new is None:
            view.delete(key, change.version)
            search.delete(change.keys["pk"], change.version)
        else:
            view.upsert(key, {"title": change.new.title, "author": change.new.author}, change.version)
            search.index(change.keys["pk"], {"title": change.new.title}, change.version)

    @processor.on(Comment)
    def comment_changed(change: Change[Comment]) -> None:
        delta = {"insert": 1, "update": 0}.get(change.kind, -1)
        post: Any = change.item
        if delta:
            view.add({"pk": "comments", "sk": post.post_id}, "count", delta, change.event_id)

    return processor
