"""User code with one deliberate mistake per kind; mypy --strict must report each (the line's `# E:` code)."""
# ruff: noqa: B018, F841

from __future__ import annotations

from models import THREAD, Comment, posts_by_author

from dynamokit.model import App, attr


def mistakes(app: App) -> None:
    app.query(posts_by_author, author=42)  # E: call-overload
    app.query(posts_by_author, writer="ann")  # E: call-overload
    app.query(posts_by_author)  # E: call-overload
    chain = app.query(posts_by_author, author="a").where(attr("views") > 1).reverse()
    wrong: list[Comment] = chain.all()  # E: assignment
    app.query(posts_by_author, author="a").reversed()  # E: attr-defined
    app.get(Comment, post_id="p", comment_id="c").run().body  # E: union-attr
    app.query(posts_by_author, author="a").project("title").all()[0].title  # E: attr-defined
    app.collection(THREAD, post_id="p").run().comment  # E: attr-defined
    app.collection(THREAD, post_id="p").page().result.post.title  # E: union-attr
    app.query(posts_by_author, author="a").where(lambda p: p.viewz > 1)  # E: attr-defined
    app.query(posts_by_author, author="a").where(lambda p: p.views > "many")  # E: operator
    app.update(Comment, post_id="p", comment_id="c").set(body="x").run().title  # E: attr-defined
