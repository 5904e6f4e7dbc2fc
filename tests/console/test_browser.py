"""The console in headless Chromium, the whole flow under --auth: log in, create a table with a GSI, put an
item, query it through the GSI, edit it and watch its stream record arrive in the tail (another tab), run a
model access pattern; and a 1280 px screenshot whose key regions are checked."""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from dynamokit._engine import Engine
from dynamokit.model import create_tables
from dynamokit.server import Server
from dynamokit.server._auth import Authenticator, AuthorizingBackend, parse_credentials
from dynamokit.server._console import configure

from .cdp import BINARY, Chromium
from .model_app import Post, make_app

pytestmark = pytest.mark.skipif(BINARY is None, reason="Debian chromium is not installed (apt-get install -y chromium)")

HOSTILE = '<img src=x onerror="document.title=\'pwned\'">'
ADMIN = {"principals": [{"name": "admin", "access_key_id": "AKADMIN", "secret_access_key": "admin-secret",
                         "policies": [{"Version": "2012-10-17", "Statement": [
                             {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}]}]}


@pytest.fixture
def chromium() -> Iterator[Chromium]:
    browser = Chromium(width=1280, height=900)
    try:
        yield browser
    finally:
        browser.close()


def fill(chromium: Chromium, values: dict[str, str]) -> None:
    """Set form fields by name, as typing would."""
    chromium.evaluate(f"""(() => {{
        for (const [name, value] of Object.entries({json.dumps(values)})) {{
            const field = document.querySelector(`[name="${{name}}"]`);
            if (field.type === "radio") document.querySelector(`[name="${{name}}"][value="${{value}}"]`).click();
            else {{ field.value = value; field.dispatchEvent(new Event("change")); }}
        }}
    }})()""")


def submit(chromium: Chromium, form: str, then: str) -> None:
    """Click the submit button of `form` (a selector) and wait for the next page to satisfy `then`."""
    chromium.evaluate(f"document.querySelector({json.dumps(form)}).querySelector('button[type=submit]').click()")
    chromium.wait(f"document.readyState === 'complete' && ({then})")


def rows(chromium: Chromium, table: str, skip: int = 1) -> list[list[str]]:
    return chromium.evaluate(f"[...document.querySelectorAll('{table} tbody tr')].map("  # type: ignore[no-any-return]
                             f"r => [...r.cells].slice({skip}).map(c => c.textContent))")


def check_layout(chromium: Chromium, selectors: list[str]) -> None:
    """Each region is on screen (not empty, within the 1280 px width), they follow each other top to bottom
    without overlapping, and the page does not scroll sideways."""
    boxes = chromium.evaluate(f"""{json.dumps(selectors)}.map(s => {{
        const r = document.querySelector(s).getBoundingClientRect();
        return [s, r.left, r.top, r.right, r.bottom];
    }})""")
    for selector, left, top, right, bottom in boxes:
        assert right - left > 50 and bottom - top > 10, (selector, left, top, right, bottom)
        assert 0 <= left and right <= 1280, (selector, left, right)
    for (upper, *a), (lower, *b) in itertools.pairwise(boxes):
        assert a[3] <= b[1], f"{upper} (bottom {a[3]}) overlaps {lower} (top {b[1]})"
    assert chromium.evaluate("document.documentElement.scrollWidth") <= 1280
    assert chromium.evaluate("innerWidth") == 1280


def test_the_whole_flow(chromium: Chromium, tmp_path: Path) -> None:
    with Engine() as engine:
        app = make_app().use(engine)
        create_tables(app)
        app.put(Post(author="ann", post_id="p1", title=HOSTILE, stars=4, published=date(2024, 1, 2))).run()
        backend = AuthorizingBackend(engine, Authenticator(parse_credentials(ADMIN), engine.region))
        configure(app)
        try:
            with Server(backend) as server:
                flow(chromium, engine, f"http://127.0.0.1:{server.port}/console/", tmp_path)
        finally:
            configure(None)


def flow(chromium: Chromium, engine: Engine, base: str, tmp_path: Path) -> None:
    # log in: every page leads to the login form first
    chromium.send("Page.navigate", session=True, url=base + "tables/new")
    chromium.wait("location.pathname === '/console/login' && document.readyState === 'complete'")
    fill(chromium, {"access_key_id": "AKADMIN", "secret_access_key": "admin-secret"})
    submit(chromium, "#login", "location.pathname === '/console/tables/new'")
    assert "user/admin" in chromium.evaluate("document.getElementById('logout').textContent")

    # create a table with a GSI and a stream
    fill(chromium, {"name": "notes", "pk": "owner", "sk": "id", "gsi": "by_tag", "gsi_pk": "tag", "gsi_sk": "stars",
                    "gsi_sk_type": "N", "stream": "NEW_AND_OLD_IMAGES"})
    submit(chromium, "form.stack", "location.pathname === '/console/tables/notes'")
    assert chromium.evaluate("document.querySelector('h1').textContent") == "notes"
    described = engine.call("DescribeTable", {"TableName": "notes"})["Table"]
    assert described["GlobalSecondaryIndexes"][0]["IndexName"] == "by_tag"

    # put an item
    item = {"owner": {"S": "ada"}, "id": {"S": "n1"}, "tag": {"S": "work"}, "stars": {"N": "5"}, "text": {"S": HOSTILE}}
    chromium.evaluate("document.querySelector('a.button[href$=\"/item\"]').click()")
    chromium.wait("location.pathname === '/console/tables/notes/item' && !!document.getElementById('item-form')")
    fill(chromium, {"item": json.dumps(item)})
    submit(chromium, "#item-form", "location.search.includes('saved=1')")

    # query it through the GSI
    chromium.open(base + "tables/notes/items")
    fill(chromium, {"mode": "query", "index": "by_tag"})
    assert chromium.evaluate("document.getElementById('pk-name').textContent") == "tag"
    fill(chromium, {"pk": "work", "sk_op": ">=", "sk": "1", "order": "desc"})
    submit(chromium, "#explorer", "!!document.getElementById('items')")
    assert rows(chromium, "#items") == [["ada", "n1", "work", "5", HOSTILE]]
    assert chromium.evaluate("document.getElementById('summary').textContent").startswith("1 items")
    assert '"IndexName": "by_tag"' in chromium.evaluate("document.querySelector('.request pre').textContent")
    assert "aws dynamodb query" in chromium.evaluate("document.querySelector('.request').textContent")
    assert chromium.evaluate("document.querySelectorAll('main img').length") == 0
    assert chromium.evaluate("document.title") != "pwned"

    # the screenshot at 1280 px, and its key regions
    check_layout(chromium, ["header", "h1", "#explorer", "#summary", "#items", ".request"])
    png = chromium.screenshot()
    (tmp_path / "console-query.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1280, 900)

    # tail the stream in another tab, edit the item in this one, and watch the record arrive
    tail = chromium.tab()
    tail.open(base + "tables/notes/stream")
    tail.wait("document.getElementById('tail-status').textContent.includes('polled')")
    chromium.evaluate("document.querySelector('#items tbody a').click()")  # the row's edit link
    chromium.wait("location.pathname === '/console/tables/notes/item' && !!document.getElementById('item-form')")
    chromium.evaluate("""(() => {
        const field = document.querySelector('[name="item"]');
        const item = JSON.parse(field.value);
        item.stars = {N: "6"};
        field.value = JSON.stringify(item);
    })()""")
    submit(chromium, "#item-form", "location.search.includes('saved=1')")
    tail.wait("document.querySelectorAll('#tail-records tr').length === 1")
    assert tail.evaluate("document.querySelector('#tail-records tr td:nth-child(2)').textContent") == "MODIFY"
    old, new = tail.evaluate("[...document.querySelectorAll('#tail-records tr td pre')].slice(1)"
                             ".map(p => JSON.parse(p.textContent))")
    assert old["stars"] == {"N": "5"} and new["stars"] == {"N": "6"} and new["text"] == {"S": HOSTILE}
    assert tail.evaluate("document.querySelector('#tail-records td.changes').textContent") == "~ stars"
    assert tail.evaluate("[...document.querySelectorAll('#tail-records pre.new span.changed')].map("
                         "s => s.textContent.trim().replace(/,$/, ''))") == ['"stars": {"N":"6"}']
    assert tail.evaluate("document.querySelectorAll('main img').length") == 0
    check_layout(tail, ["header", "h1", "#tail"])

    # run a model access pattern (--app)
    chromium.open(base + "model")
    assert chromium.evaluate("document.querySelectorAll('form.pattern-run').length") == 3
    run_pattern(chromium, "2024-01-02")
    chromium.wait("document.readyState === 'complete' && !!document.getElementById('entities')")
    assert rows(chromium, "#entities", 0) == [["Post", "ann", "p1", HOSTILE, "4", "2024-01-02"]]
    assert chromium.evaluate("document.getElementById('pattern-rcu').textContent") == "0.5"
    assert "aws dynamodb query" in chromium.evaluate("document.querySelector('#pattern-result .request').textContent")
    assert chromium.evaluate("document.title") != "pwned"
    run_pattern(chromium, "yesterday")  # a bad input: the model's error next to the form, the page intact
    chromium.wait("document.readyState === 'complete' && !!document.querySelector('#run-posts_on_day .error')")
    assert "ValidationError" in chromium.evaluate("document.querySelector('#run-posts_on_day .error').textContent")
    assert chromium.evaluate("document.querySelectorAll('form.pattern-run').length") == 3
    assert not chromium.errors, chromium.errors


def run_pattern(chromium: Chromium, day: str) -> None:
    chromium.evaluate(f"""(() => {{
        const form = document.querySelector('form[data-pattern="posts_on_day"]');
        form.querySelector('[name="in.published"]').value = {json.dumps(day)};
        form.querySelector('button[type=submit]').click();
    }})()""")
