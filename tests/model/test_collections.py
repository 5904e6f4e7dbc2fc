"""Collections: member-only key conditions, cursors and limits, reverse order, shared sort-key conditions,
sub-collections, typed grouped results, strays reported by the catalogue, async."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypedDict

import pytest

from dynamokit import Engine
from dynamokit.model import (
    App,
    Collection,
    CollectionPage,
    Entity,
    Keys,
    ModelError,
    Table,
    Transport,
    attr,
)
from dynamokit.model._schema import create_tables
from dynamokit.model.catalogue import markdown, patterns


class Repo(Entity):
    owner: str
    repo: str
    about: str = ""
    keys = Keys(pk="REPO#{owner}#{repo}", sk="REPO")


class Issue(Entity):
    owner: str
    repo: str
    number: str
    subject: str
    keys = Keys(pk="REPO#{owner}#{repo}", sk="ISSUE#{number}")


class IssueComment(Entity):
    owner: str
    repo: str
    number: str
    comment_id: str
    body: str
    keys = Keys(pk="REPO#{owner}#{repo}", sk="ISSUE#{number}#COMMENT#{comment_id}")


class Label(Entity):  # sorts between ISSUE# and REPO: a stray of repo_page
    owner: str
    repo: str
    label: str
    keys = Keys(pk="REPO#{owner}#{repo}", sk="LABEL#{label}")


class Star(Entity):  # sorts after REPO: outside every collection's span
    owner: str
    repo: str
    user: str
    keys = Keys(pk="REPO#{owner}#{repo}", sk="STAR#{user}")


@dataclass
class RepoPage:
    repo: Repo | None
    issues: list[Issue]
    comments: list[IssueComment]


class Thread(TypedDict):
    issue: Issue | None
    comments: list[IssueComment]


REPO_PAGE = Collection("repo_page", RepoPage)
ISSUES = Collection("issues", {"issues": list[Issue], "comments": list[IssueComment]}, within="repo_page")
THREAD = Collection("thread", Thread, within="issues")


def vcs_app() -> App:
    return App(
        Table("vcs", [Repo, Issue, IssueComment, Label, Star]), collections=[REPO_PAGE, ISSUES, THREAD]
    )


@pytest.fixture
def vcs(transport: Transport) -> App:
    app = vcs_app().use(transport)
    create_tables(app)
    seed(app)
    return app


def seed(app: App) -> None:
    items: list[Entity] = [Repo(owner="ann", repo="kit", about="a kit")]
    for n in ("1", "1!", "2", "3"):  # "1!" sorts between "1" and "1#COMMENT#..."
        items.append(Issue(owner="ann", repo="kit", number=n, subject=f"issue {n}"))
        items += [
            IssueComment(owner="ann", repo="kit", number=n, comment_id=f"c{i}", body=f"{n}/{i}")
            for i in range(3)
        ]
    items += [Label(owner="ann", repo="kit", label=name) for name in ("bug", "docs")]
    items += [Star(owner="ann", repo="kit", user=f"u{i}") for i in range(4)]
    items.append(Repo(owner="bob", repo="kit"))  # another partition
    assert not app.batch_write(puts=items)


def scanned(engine: Engine, request: dict[str, Any]) -> int:
    count: int = engine.call("Query", request)["ScannedCount"]
    return count


def test_key_conditions_read_only_members_where_the_design_allows() -> None:
    with Engine() as engine:
        app = vcs_app().use(engine)
        create_tables(app)
        seed(app)
        # 16 issues and comments, 1 repo, 2 labels, 4 stars in the partition
        assert scanned(engine, app.collection(ISSUES, owner="ann", repo="kit").params()) == 16
        thread = app.collection(THREAD, owner="ann", repo="kit", number="1")
        assert scanned(engine, thread.params()) == 4 + 4  # "1" and its comments, and "1!" sharing the range
        assert [c.comment_id for c in thread.run()["comments"]] == ["c0", "c1", "c2"]
        # repo_page's span (ISSUE# .. REPO) holds the labels too: read, dropped, and reported
        assert scanned(engine, app.collection(REPO_PAGE, owner="ann", repo="kit").params()) == 19
    rows = {r.name: r for r in patterns(vcs_app())}
    assert rows["repo_page"].reads == "also reads Label (dropped, billed)"
    assert rows["issues (in repo_page)"].reads == "members only"
    assert 'begins_with(sk, "ISSUE#")' in rows["issues (in repo_page)"].condition
    assert "also reads Label" in markdown(vcs_app())


def test_grouped_results_are_the_declared_types(vcs: App) -> None:
    page = vcs.collection(REPO_PAGE, owner="ann", repo="kit").run()
    assert isinstance(page, RepoPage)
    assert page.repo is not None and page.repo.about == "a kit"
    assert [i.number for i in page.issues] == ["1", "1!", "2", "3"]
    assert len(page.comments) == 12
    thread = vcs.collection(THREAD, owner="ann", repo="kit", number="2").run()
    assert thread["issue"] is not None and thread["issue"].subject == "issue 2"
    assert [c.body for c in thread["comments"]] == ["2/0", "2/1", "2/2"]
    none = vcs.collection(THREAD, owner="ann", repo="kit", number="9").run()
    assert none == {"issue": None, "comments": []}
    by_name = vcs.collection("issues", owner="ann", repo="kit").run()  # a dict collection, by name
    assert sorted(by_name) == ["comments", "issues"] and len(by_name["issues"]) == 4


def test_cursor_paging_and_limits(vcs: App) -> None:
    query = vcs.collection(ISSUES, owner="ann", repo="kit")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = vcs.collection(ISSUES, owner="ann", repo="kit").limit(5).start(cursor).page()
        assert isinstance(page, CollectionPage)
        seen += [i.number for i in page.result["issues"]] + [c.body for c in page.result["comments"]]
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert pages >= 4 and len(seen) == 16 == len(set(seen))
    assert len(query.run()["issues"]) == 4
    first = vcs.collection(ISSUES, owner="ann", repo="kit").limit(3).run()
    assert [i.number for i in first["issues"]] == ["1", "1!"] and len(first["comments"]) == 1
    assert (
        sum(len(p.result["comments"]) for p in vcs.collection(ISSUES, owner="ann", repo="kit").pages()) == 12
    )


def test_reverse_order(vcs: App) -> None:
    forward = vcs.collection(THREAD, owner="ann", repo="kit", number="3").run()
    backward = vcs.collection(THREAD, owner="ann", repo="kit", number="3").reverse().run()
    assert [c.comment_id for c in backward["comments"]] == [c.comment_id for c in forward["comments"]][::-1]
    newest = vcs.collection(ISSUES, owner="ann", repo="kit").reverse().limit(1).run()
    assert newest["comments"][0].number == "3" and newest["comments"][0].comment_id == "c2"


def test_sort_key_conditions_on_shared_fields(vcs: App) -> None:
    def numbers(query: Any) -> list[str]:
        return sorted({i.number for i in query.run()["issues"]} | {c.number for c in query.run()["comments"]})

    base = {"owner": "ann", "repo": "kit"}
    assert numbers(vcs.collection(ISSUES, **base).eq(number="2")) == ["2"]
    assert numbers(vcs.collection(ISSUES, **base).gt(number="2")) == ["3"]
    assert numbers(vcs.collection(ISSUES, **base).ge(number="2")) == ["2", "3"]
    assert numbers(vcs.collection(ISSUES, **base).lt(number="2")) == ["1", "1!"]
    assert numbers(vcs.collection(ISSUES, **base).le(number="2")) == ["1", "1!", "2"]
    assert numbers(vcs.collection(ISSUES, **base).between({"number": "2"}, {"number": "3"})) == ["2", "3"]
    assert numbers(vcs.collection(ISSUES, **base).begins(number="1")) == ["1", "1!"]
    filtered = vcs.collection(ISSUES, **base).where(attr("subject") == "issue 3").run()
    assert [i.number for i in filtered["issues"]] == ["3"] and filtered["comments"] == []


def test_misuse_is_one_readable_line() -> None:
    app = vcs_app()
    with pytest.raises(ModelError, match=r"collection 'issues' needs \['repo'\]"):
        app.collection(ISSUES, owner="ann")
    with pytest.raises(
        ModelError, match=r"leading fields its members share \['number'\], got \['comment_id'\]"
    ):
        app.collection(ISSUES, owner="ann", repo="kit", comment_id="c1")
    with pytest.raises(ModelError, match=r"share \[\]"):  # repo_page members share no sort-key field
        app.collection(REPO_PAGE, owner="ann", repo="kit").eq(number="1")
    with pytest.raises(ModelError, match=r"\['Star'\] are not members of 'issues'"):
        App(
            Table("vcs", [Repo, Issue, IssueComment, Label, Star]),
            collections=[ISSUES, REPO_PAGE, Collection("bad", {"stars": list[Star]}, within="issues")],
        )
    with pytest.raises(ModelError, match="no parent collection 'nope'"):
        App(Table("vcs", [Issue]), collections=[Collection("x", {"i": list[Issue]}, within="nope")])

    @dataclass
    class Loose:
        issue: Issue  # a single member may be missing: must be `Issue | None`

    with pytest.raises(ModelError, match=r"member 'issue' must be list\[Entity\] or Entity \| None"):
        Collection("loose", Loose)
    with pytest.raises(ModelError, match="must be a dict, a dataclass or a TypedDict"):
        Collection("odd", int)


def test_async_pages_and_runs(vcs: App) -> None:
    async def main() -> tuple[Thread, CollectionPage[RepoPage]]:
        thread = await vcs.collection(THREAD, owner="ann", repo="kit", number="1").reverse().arun()
        page = await vcs.collection(REPO_PAGE, owner="ann", repo="kit").limit(4).apage()
        return thread, page

    thread, page = asyncio.run(main())
    assert [c.comment_id for c in thread["comments"]] == ["c2", "c1", "c0"]
    assert page.cursor is not None and len(page.result.issues) + len(page.result.comments) == 4
