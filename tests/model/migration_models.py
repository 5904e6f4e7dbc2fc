"""Two versions of a documents model: v1 as first shipped, v2 after the access patterns changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dynamokit.model import GSI, App, Entity, Index, Keys, Options, Pattern, Table
from dynamokit.model.migrations import (
    AddAttribute,
    AddIndex,
    ChangeIndex,
    Migration,
    RemoveAttribute,
    RenameAttribute,
    Transform,
)


class DocV1(Entity):
    doc_id: str
    owner: str
    title: str
    status: str = "draft"
    views: int = 0
    body: str = ""
    legacy: str | None = None
    keys = Keys(pk="DOC#{doc_id}", sk="DOC", by_owner=Index("gsi1", pk="OWNER#{owner}", sk="DOC#{doc_id}"))
    options = Options(name="doc")


class Doc(Entity):
    """v2: documents by status (a new GSI), by owner in title order (a changed template), body renamed to
    text, a language with a default, the legacy attribute gone and a word count computed."""

    doc_id: str
    owner: str
    title: str
    status: str = "draft"
    views: int = 0
    text: str = ""
    lang: str = "en"
    words: int = 0
    keys = Keys(
        pk="DOC#{doc_id}",
        sk="DOC",
        by_owner=Index("gsi1", pk="OWNER#{owner}", sk="TITLE#{title}#{doc_id}"),
        by_status=Index("gsi2", pk="STATUS#{status}", sk="{doc_id}"),
    )
    options = Options(name="doc")


class Tag(Entity):
    """An entity no migration touches (its items are never rewritten)."""

    tag: str
    keys = Keys(pk="TAG#{tag}", sk="TAG")
    options = Options(name="tag")


def count_words(values: dict[str, Any]) -> dict[str, Any]:
    values["words"] = len(str(values.get("text", "")).split())
    return values


def migrations(transform: Callable[[dict[str, Any]], dict[str, Any]] = count_words) -> list[Migration]:
    return [
        Migration(
            1,
            2,
            [
                AddIndex(Doc, "by_status"),
                ChangeIndex(Doc, "by_owner"),
                RenameAttribute(Doc, "body", "text"),
                AddAttribute(Doc, "lang", "en"),
                RemoveAttribute(Doc, "legacy"),
                Transform(Doc, transform, "count words"),
            ],
            "documents by status",
        )
    ]


def v1_app() -> App:
    return App(
        Table("docs", [DocV1, Tag], indexes=[GSI("gsi1")]),
        patterns=[Pattern("docs_by_owner", DocV1, by=("owner",))],
    )


def v2_app(migrations_: list[Migration] | None = None, **options: Any) -> App:
    return App(
        Table("docs", [Doc, Tag], indexes=[GSI("gsi1"), GSI("gsi2")]),
        patterns=[
            Pattern("docs_by_owner", Doc, by=("owner",)),
            Pattern("docs_by_status", Doc, by=("status",)),
        ],
        migrations=migrations() if migrations_ is None else migrations_,
        **options,
    )


STATUSES = ("draft", "live", "archived")


def v1_doc(i: int) -> DocV1:
    return DocV1(
        doc_id=f"d{i:06d}",
        owner=f"o{i % 37}",
        title=f"title {(i * 7919) % 1000:04d}",
        status=STATUSES[i % 3],
        body=" ".join(["word"] * (i % 5)),
        legacy="old" if i % 2 else None,
    )


def v2_doc(i: int, views: int = 0) -> Doc:
    """The same document as v1_doc(i), written fresh in the new shape."""
    old = v1_doc(i)
    return Doc(
        doc_id=old.doc_id,
        owner=old.owner,
        title=old.title,
        status=old.status,
        views=views,
        text=old.body,
        words=len(old.body.split()),
    )
