"""/console/model runs access patterns and collections: the request, the items decoded to entities, the
consumed RCU, estimated costs; bad inputs show the model's error next to the form; hostile content stays text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html import unescape

import pytest

from dynamokit._engine import Engine
from dynamokit.model import App, create_tables
from dynamokit.server._console import configure

from .conftest import Browser
from .model_app import Author, Post, make_app

HOSTILE = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>'


@pytest.fixture
def app(engine: Engine) -> Iterator[App]:
    app = make_app().use(engine)
    create_tables(app)
    app.put(Author(author="ann", name="Ann")).run()
    for n in range(3):
        app.put(Post(author="ann", post_id=f"p{n}", title=f"title {n}", stars=n, published=date(2024, 1, 2))).run()
    app.put(Post(author="bob", post_id="b1", title="other", published=date(2024, 1, 3))).run()
    configure(app)
    try:
        yield app
    finally:
        configure(None)


def rows(text: str) -> list[list[str]]:
    found = re.search(r'<table class="grid" id="entities">.*?<tbody>(.*?)</tbody>', text, re.DOTALL)
    assert found, text[-3000:]
    return [[unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
            for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.DOTALL)]


def test_every_pattern_gets_a_form_with_its_typed_inputs(app: App, browser: Browser) -> None:
    page = browser.get("/console/model")
    assert page.status == 200
    assert re.findall(r'data-pattern="([^"]+)"', page.text) == ["posts_of", "posts_on_day", "author_page"]
    assert 'name="in.author" value="" required' in page.text
    assert "published <span class=\"muted\">(date)</span>" in page.text
    assert "post_id <span class=\"muted\">(str, optional)</span>" in page.text
    assert "An author&#x27;s posts, or one of them." in page.text
    assert "est. 1.5 RCU, ~$0.0000001875 per call" in page.text  # 10 items of 1 KB, eventually consistent
    assert page.text.count('name="csrf"') == 3


def test_running_a_pattern_shows_request_entities_and_rcu(app: App, browser: Browser) -> None:
    page = browser.post("/console/model", {"pattern": "posts_of", "in.author": "ann", "limit": "2", "reverse": "1"})
    assert page.status == 200 and page.error() is None
    result = page.text[page.text.index('id="pattern-result"'):]
    assert rows(page.text) == [["Post", "ann", "p2", "title 2", "2", "2024-01-02"],
                               ["Post", "ann", "p1", "title 1", "1", "2024-01-02"]]
    assert '<td title="int">2</td>' in result and '<td title="date">2024-01-02</td>' in result
    assert re.search(r'2 items · 2 scanned · <span id="pattern-rcu">0.5</span> read capacity units consumed', result)
    assert "AUTHOR#ann" in result and "aws dynamodb query" in result and "client.query(" in result
    assert "More items follow" in result  # Limit 2 of 3
    assert 'value="ann"' in page.text  # the form keeps the inputs
    # an optional sort-key input narrows to one item; a GSI pattern with a typed (date) input
    page = browser.post("/console/model", {"pattern": "posts_of", "in.author": "ann", "in.post_id": "p1"})
    assert [r[2] for r in rows(page.text)] == ["p1"]
    page = browser.post("/console/model", {"pattern": "posts_on_day", "in.published": "2024-01-03"})
    assert [r[:3] for r in rows(page.text)] == [["Post", "bob", "b1"]] and "gsi1" in page.text
    # a collection: members of both entity types
    page = browser.post("/console/model", {"pattern": "author_page", "in.author": "ann"})
    assert [r[0] for r in rows(page.text)] == ["Post", "Post", "Post", "Author"]


def test_bad_inputs_show_the_models_error_next_to_the_form(app: App, browser: Browser) -> None:
    for form, expected in [
        ({"pattern": "posts_on_day", "in.published": "not a date"}, "ValidationError"),
        ({"pattern": "posts_of"}, "ModelError: pattern 'posts_of' needs ['author']"),
        ({"pattern": "posts_of", "in.author": "ann", "limit": "-1"}, "Limit must be a whole number"),
        ({"pattern": "nope"}, "no access pattern 'nope'"),
    ]:
        page = browser.post("/console/model", form)
        assert page.status == 400 and expected in (page.error() or ""), (form, page.error())
        assert 'id="patterns"' in page.text and 'id="entities"' not in page.text  # the whole page, no result
    page = browser.post("/console/model", {"pattern": "posts_on_day", "in.published": "not a date"})
    section = page.text[page.text.index('id="run-posts_on_day"'):]
    assert section.index('class="error"') < section.index("</section>")  # next to its own form
    assert 'value="not a date"' in section


def test_running_needs_the_csrf_token(app: App, browser: Browser) -> None:
    browser.get("/console/model")
    assert browser.post("/console/model", {"pattern": "posts_of", "in.author": "ann"}, csrf=False).status == 403


def test_without_a_model_running_is_a_404(browser: Browser) -> None:
    assert browser.post("/console/model", {"pattern": "posts_of"}).status == 404


def test_hostile_content_in_decoded_entities_stays_text(app: App, engine: Engine, browser: Browser) -> None:
    app.put(Post(author=HOSTILE, post_id=HOSTILE, title=HOSTILE, published=date(2024, 2, 2))).run()
    engine.call("PutItem", {"TableName": "blog", "Item": {  # not an entity of the model: reported, escaped
        "pk": {"S": "DAY#2024-02-02"}, "sk": {"S": "POST#zz"}, "gsi1pk": {"S": "DAY#2024-02-02"},
        "gsi1sk": {"S": "POST#" + HOSTILE}, "_type": {"S": HOSTILE}}})
    for form in ({"pattern": "posts_of", "in.author": HOSTILE},
                 {"pattern": "posts_on_day", "in.published": "2024-02-02"},
                 {"pattern": "posts_of", "in.author": HOSTILE, "in.post_id": HOSTILE, "limit": HOSTILE}):
        page = browser.post("/console/model", form)
        assert page.status in (200, 400)
        assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/console/static/console.js" defer>']
        assert "<img" not in page.text and "onerror=alert(2)>" not in page.text
    page = browser.post("/console/model", {"pattern": "posts_on_day", "in.published": "2024-02-02"})
    assert rows(page.text)[0][:4] == ["Post", HOSTILE, HOSTILE, HOSTILE]
    assert "has no entity type of this model" in (page.error() or "")
