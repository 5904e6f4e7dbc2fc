"""docs/model.md's expert designs (ElectroDB's Library System and Version Control examples, written with
dynamokit) run as written: their code blocks are executed, sample data loaded, every access pattern checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.model._schema import create_tables
from dynamokit.model.catalogue import patterns

DOC = Path(__file__).parents[2] / "docs" / "model.md"


def blocks(title: str) -> list[str]:
    """The python code blocks of the docs section `### <title>`."""
    text = DOC.read_text()
    start = text.index(f"\n### {title}")
    end = text.find("\n## ", start + 1)
    following = text.find("\n### ", start + 1)
    stops = [e for e in (end, following) if e != -1]
    section = text[start : min(stops) if stops else None]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def model_lines(title: str) -> int:
    """Lines of model code (the first block: entities, collections, patterns, the App), blank ones not counted."""
    return sum(1 for line in blocks(title)[0].splitlines() if line.strip())


def load(title: str) -> types.ModuleType:
    name = "docs_" + re.sub(r"\W+", "_", title.lower())
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    try:
        exec(compile("\n".join(blocks(title)), f"docs/model.md ({title})", "exec"), module.__dict__)  # noqa: S102
    finally:
        del sys.modules[name]
    return module


@pytest.fixture
def library() -> Iterator[types.ModuleType]:
    docs = load("Library System")
    with Engine() as engine:
        create_tables(docs.library.use(engine))
        yield docs


def ids(items: Any) -> list[str]:
    return [getattr(i, "book_id", None) or getattr(i, "isbn", "") for i in items]


def test_library_system(library: types.ModuleType) -> None:
    m = library
    stand = {"title": "The Stand", "author_last": "King", "author_first": "Stephen", "publisher": "Doubleday"}
    books = [
        m.Book(isbn="111", book_id="b1", release_date="1978-09-01", **stand),
        m.Book(isbn="111", book_id="b2", release_date="1978-09-01", member_id="m1", loan_end="2024-05-01", **stand),
        m.Book(isbn="111", book_id="b3", release_date="1978-09-01", member_id="m1", loan_end="2024-06-20", **stand),
        m.Book(isbn="222", book_id="b4", release_date="1990-05-01", **stand),
        m.Book(
            isbn="333", book_id="b5", title="Earthsea", author_last="Le Guin", author_first="Ursula",
            publisher="Parnassus", release_date="1968-11-01", member_id="m2", loan_end="2024-06-01",
        ),
    ]  # fmt: skip
    king = {"author_last": "King", "author_first": "Stephen", "title": "The Stand"}
    genres = [
        m.Genre(isbn="111", genre="horror", subgenre="post-apocalyptic", **king),
        m.Genre(isbn="111", genre="fiction", subgenre="epic", **king),
        m.Genre(isbn="222", genre="horror", subgenre="post-apocalyptic", **king),
        m.Genre(isbn="333", genre="fantasy", subgenre="high", title="Earthsea", author_last="Le Guin",
                author_first="Ursula"),
    ]  # fmt: skip
    authors = [
        m.Author(author_last="King", author_first="Stephen", birthday="1947-09-21", bio="b"),
        m.Author(author_last="King", author_first="Stella", birthday="1980-01-01", bio="b"),
        m.Author(author_last="Le Guin", author_first="Ursula", birthday="1929-10-21", bio="b"),
    ]
    address = m.Address(street="1 Main St", city="Portland", zip="97201")
    members = [
        m.Member(member_id=i, name=i.upper(), address=address, since="2020-01-01") for i in ("m1", "m2")
    ]
    assert not m.library.batch_write(puts=[*books, *genres, *authors, *members])

    page = m.copies_by_author("King", "Stephen")
    assert ids(page.items) == ["b2", "b3", "b1", "b4"] and page.cursor is None  # lent first, by due date
    assert sorted(b.isbn for b in m.books_by_author("King", "Stephen")) == ["111", "222"]
    assert [a.author_first for a in m.authors_by_name("King", "Ste")] == ["Stella", "Stephen"]
    assert len(m.authors_by_name("King")) == 2 and m.authors_by_name("King", "Sx") == []
    with m.library.counter() as counter:
        works = m.body_of_work("King", "Stephen").result
    assert counter.requests == 1
    assert works.author.birthday == "1947-09-21" and len(works.copies) == 4
    assert sorted((g.isbn, g.genre) for g in works.genres) == [
        ("111", "fiction"),
        ("111", "horror"),
        ("222", "horror"),
    ]
    first = m.library.collection(m.WORKS, author_last="King", author_first="Stephen").limit(3).page()
    rest = m.body_of_work("King", "Stephen", cursor=first.cursor).result
    assert first.result.author is not None and len(first.result.copies) + len(rest.copies) == 4
    assert ids(m.copies_by_isbn("111")) == ["b1", "b2", "b3"]
    assert ids(m.books_on_loan("m1")) == ["b2", "b3"]
    assert ids(m.overdue("m1", "2024-06-01")) == ["b2"]
    account = m.account("m1")
    assert account.member.name == "M1" and ids(account.loans) == ["b2", "b3"]
    assert m.account("m9").member is None
    assert ids(m.available_copies("King", "Stephen", "111")) == ["b1"]
    assert ids(m.lent_copies("King", "Stephen")) == ["b2", "b3"]
    assert ids(m.copies_by_title("The Stand")) == ["b1", "b2", "b3", "b4"]
    assert ids(m.editions("The Stand", "1980")) == ["b4"]
    assert ids(m.editions("The Stand", "1978-01-01", "1979-12-31")) == ["b1", "b2", "b3"]
    assert ids(m.editions_of("The Stand", "1990-05")) == ["b4"]
    detail = m.book_details(isbn="111")
    assert ids(detail["copies"]) == ["b1", "b2", "b3"] and len(detail["genres"]) == 2
    titled = m.book_details(title="Earthsea")
    assert ids(titled["copies"]) == ["b5"] and [g.genre for g in titled["genres"]] == ["fantasy"]
    assert ids(m.copies_by_genre("horror")) == ["b1", "b2", "b3", "b4"]
    assert ids(m.copies_by_genre("fantasy", "hi")) == ["b5"]
    assert sorted(ids(m.books_by_author_and_genre("King", "Stephen", "horror"))) == ["b1", "b4"]
    rows = {r.name: r for r in patterns(m.library)}
    assert {rows[c].reads for c in ("detail", "account", "works", "titles")} == {"members only"}


@pytest.mark.parametrize("title", ["Library System", "Version Control"])
def test_designs_pass_mypy_strict(title: str, tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    source = tmp_path / "design.py"
    source.write_text("\n".join(blocks(title)))
    done = subprocess.run(
        [sys.executable, "-I", "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
         "--cache-dir=/dev/null", str(source)],
        check=False,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(DOC.parents[1] / "src")},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_design_sizes() -> None:
    """The model code's size as reported (entities, collections, patterns and the App)."""
    assert model_lines("Library System") < 80
    assert model_lines("Version Control") < 120


@pytest.fixture
def vcs() -> Iterator[types.ModuleType]:
    docs = load("Version Control")
    with Engine() as engine:
        create_tables(docs.vcs.use(engine))
        yield docs


def test_version_control(vcs: types.ModuleType) -> None:
    m = vcs
    day = lambda d, h=0: datetime(2024, 3, d, h, tzinfo=UTC)
    kit = {"owner": "ann", "repo": "kit"}
    items = [
        m.User(username="ann", full_name="Ann"),
        m.User(username="bob", full_name="Bob"),
        m.Repository(username="ann", repo="kit", created=day(1)),
        m.Repository(username="ann", repo="secret", created=day(2), private=True),
        m.Repository(username="bob", repo="tool", created=day(3)),
        m.Issue(number="1", username="bob", subject="crash", created=day(4), **kit),
        m.Issue(number="2", username="ann", subject="docs", created=day(5), status="closed", **kit),
        m.PullRequest(number="3", username="bob", subject="fix", created=day(10), reviewers=[m.Reviewer(username="ann")], **kit),
        m.PullRequest(number="4", username="bob", subject="old", created=day(12), status="closed", **kit),
        m.IssueComment(number="1", comment_id="c1", username="ann", body="?", created=day(6), reply_to="bob", **kit),
        m.IssueComment(number="1", comment_id="c2", username="bob", body="!", created=day(7), reply_to="ann", **kit),
        m.IssueComment(number="1", comment_id="c3", username="ann", body="ok", created=day(8), reply_to="bob", **kit),
        m.PullRequestComment(number="3", comment_id="c4", username="ann", body="lgtm", created=day(11), reply_to="bob", **kit),
        m.PullRequestComment(number="3", comment_id="c5", username="bob", body="ty", created=day(11, 1), **kit),
    ]  # fmt: skip
    assert not m.vcs.batch_write(puts=items)

    def numbers(found: Any) -> list[str]:
        return [t.number for t in found]

    def comments(found: Any) -> list[str]:
        return [c.comment_id for c in found]

    assert [r.repo for r in m.public_repositories("ann")] == ["kit"]
    review = m.review_pull_request("ann", "kit", "3")
    assert review.result.pull.subject == "fix" and comments(review.result.comments) == ["c5", "c4"]
    assert review.cursor is None
    first = m.vcs.collection(m.PULL_REVIEW, number="3", **kit).reverse().limit(1).page()
    assert comments(first.result.comments) == ["c5"] and first.result.pull is None
    rest = m.review_pull_request("ann", "kit", "3", cursor=first.cursor).result
    assert comments(rest.comments) == ["c4"] and rest.pull is not None
    issue = m.review_issue("ann", "kit", "1").result
    assert issue.issue.subject == "crash" and comments(issue.comments) == ["c3", "c2", "c1"]
    assert numbers(m.user_pull_requests("bob")) == ["3", "4"]
    assert numbers(m.user_pull_requests("bob", "open")) == ["3"]
    with m.vcs.counter() as counter:
        bob = m.first_page_load("bob")
    assert counter.requests == 1
    assert bob.user.full_name == "Bob" and [r.repo for r in bob.repos] == ["tool"]
    assert numbers(bob.issues) == ["1"] and numbers(bob.pulls) == ["4", "3"]  # closed < open
    ann = m.first_page_load("ann")
    assert (
        [r.repo for r in ann.repos] == ["kit", "secret"] and numbers(ann.issues) == ["2"] and ann.pulls == []
    )
    tickets = m.managed("bob", "open")
    assert numbers(tickets["issues"]) == ["1"] and numbers(tickets["pulls"]) == ["3"]
    assert {k: numbers(v) for k, v in m.open_tickets("ann", "kit").items()} == {
        "issues": ["1"],
        "pulls": ["3"],
    }
    inbox = m.unread_replies("bob")
    assert comments(inbox.issues) == ["c1", "c3"] and comments(inbox.pulls) == ["c4"]
    c1 = inbox.issues[0]
    assert not m.read_reply("ann", c1)  # not the addressee
    assert m.read_reply("bob", c1)
    assert comments(m.unread_replies("bob").issues) == ["c3"]
    assert not m.close_pull_request("eve", "ann", "kit", "3")
    assert m.close_pull_request("ann", "ann", "kit", "3")  # the repository's owner
    assert numbers(m.user_pull_requests("bob", "open")) == []
    assert m.open_tickets("ann", "kit")["pulls"] == []
    assert m.approve_pull_request("ann", "kit", "3", "ann")
    assert not m.approve_pull_request("ann", "kit", "3", "zed")
    pull = m.vcs.get(m.PullRequest, number="3", **kit).run()
    assert pull is not None and pull.reviewers[0].approved
    assert m.follow_repository("ann", "kit", "bob").followers == {"bob"}
    assert comments(m.comment_history("ann")) == ["c1", "c3"]
    rows = {r.name: r for r in patterns(m.vcs)}
    assert rows["managed (in owned)"].reads == "members only"
    assert {r.reads for r in rows.values() if r.reads} == {"members only"}
    assert len([r for r in rows.values() if r.reads]) == 6
