"""The console in headless Chromium: create a table, put an item, query it, tail the stream, screenshot."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynamokit.engine import Engine
from dynamokit.server import Server

from .cdp import BINARY, Chromium

pytestmark = pytest.mark.skipif(BINARY is None, reason="Debian chromium is not installed (apt-get install -y chromium)")

HOSTILE = '<img src=x onerror="document.title=\'pwned\'">'


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


def test_create_put_query_tail_and_screenshot(chromium: Chromium, tmp_path: Path) -> None:
    with Engine() as engine, Server(engine) as server:
        base = f"http://127.0.0.1:{server.port}/console/"
        chromium.open(base)
        assert chromium.evaluate("document.querySelector('h1').textContent") == "Tables"
        chromium.evaluate("document.querySelector('a.button[href=\"/console/tables/new\"]').click()")
        chromium.wait("location.pathname === '/console/tables/new' && document.readyState === 'complete'")
        fill(chromium, {"name": "notes", "pk": "owner", "sk": "id", "stream": "NEW_AND_OLD_IMAGES"})
        submit(chromium, "form", "location.pathname === '/console/tables/notes'")
        assert chromium.evaluate("document.querySelector('h1').textContent") == "notes"

        item = {"owner": {"S": "ada"}, "id": {"S": "n1"}, "text": {"S": HOSTILE}, "stars": {"N": "5"}}
        chromium.open(base + "tables/notes/item")
        fill(chromium, {"item": json.dumps(item)})
        submit(chromium, "#item-form", "location.search.includes('saved=1')")
        assert engine.call("GetItem", {"TableName": "notes", "Key": {"owner": {"S": "ada"}, "id": {"S": "n1"}}})[
            "Item"]["text"] == {"S": HOSTILE}

        chromium.open(base + "tables/notes/items")
        assert chromium.evaluate("document.getElementById('pk-name').textContent") == "owner"
        fill(chromium, {"mode": "query", "pk": "ada", "sk_op": "begins_with", "sk": "n", "order": "desc"})
        submit(chromium, "#explorer", "!!document.getElementById('items')")
        rows = chromium.evaluate("[...document.querySelectorAll('#items tbody tr')].map("
                                 "r => [...r.cells].slice(1).map(c => c.textContent))")
        assert rows == [["ada", "n1", HOSTILE, "5"]]
        assert chromium.evaluate("document.getElementById('summary').textContent").startswith("1 items")
        assert chromium.evaluate("document.querySelectorAll('main img').length") == 0
        assert chromium.evaluate("document.title") != "pwned"
        assert "aws dynamodb query" in chromium.evaluate("document.querySelector('.request').textContent")
        png = chromium.screenshot()
        shot = tmp_path / "console-query.png"
        shot.write_bytes(png)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
        assert struct.unpack(">I", png[16:20])[0] == 1280

        chromium.open(base + "tables/notes/stream")
        chromium.wait("document.getElementById('tail-status').textContent.includes('polled')")
        engine.call("UpdateItem", {"TableName": "notes", "Key": {"owner": {"S": "ada"}, "id": {"S": "n1"}},
                                   "UpdateExpression": "SET stars = :s", "ExpressionAttributeValues": {":s": {"N": "6"}}})
        chromium.wait("document.querySelectorAll('#tail-records tr').length === 1")
        old, new = chromium.evaluate("[...document.querySelectorAll('#tail-records tr td pre')].slice(1)"
                                     ".map(p => JSON.parse(p.textContent))")
        assert old["stars"] == {"N": "5"} and new["stars"] == {"N": "6"}
        assert chromium.evaluate("document.querySelectorAll('main img').length") == 0
        assert not chromium.errors, chromium.errors


def test_run_a_model_access_pattern(chromium: Chromium) -> None:
    from datetime import date

    from dynamokit.model import create_tables
    from dynamokit.server.console import configure

    from .model_app import Post, make_app

    with Engine() as engine, Server(engine) as server:
        app = make_app().use(engine)
        create_tables(app)
        app.put(Post(author="ann", post_id="p1", title=HOSTILE, stars=4, published=date(2024, 1, 2))).run()
        configure(app)
        try:
            chromium.open(f"http://127.0.0.1:{server.port}/console/model")
            assert chromium.evaluate("document.querySelectorAll('form.pattern-run').length") == 3
            chromium.evaluate("""(() => {
                const form = document.querySelector('form[data-pattern="posts_on_day"]');
                form.querySelector('[name="in.published"]').value = "2024-01-02";
                form.querySelector('button[type=submit]').click();
            })()""")
            chromium.wait("document.readyState === 'complete' && !!document.getElementById('entities')")
            rows = chromium.evaluate("[...document.querySelectorAll('#entities tbody tr')].map("
                                     "r => [...r.cells].map(c => c.textContent))")
            assert rows == [["Post", "ann", "p1", HOSTILE, "4", "2024-01-02"]]
            assert chromium.evaluate("document.getElementById('pattern-rcu').textContent") == "0.5"
            assert "aws dynamodb query" in chromium.evaluate("document.querySelector('#pattern-result .request')"
                                                             ".textContent")
            assert chromium.evaluate("document.querySelectorAll('main img').length") == 0
            assert chromium.evaluate("document.title") != "pwned"
            # a bad input: the model's error next to the form, the page intact
            chromium.evaluate("""(() => {
                const form = document.querySelector('form[data-pattern="posts_on_day"]');
                form.querySelector('[name="in.published"]').value = "yesterday";
                form.querySelector('button[type=submit]').click();
            })()""")
            chromium.wait("document.readyState === 'complete' && !!document.querySelector("
                          "'#run-posts_on_day .error')")
            assert "ValidationError" in chromium.evaluate("document.querySelector('#run-posts_on_day .error')"
                                                          ".textContent")
            assert chromium.evaluate("document.querySelectorAll('form.pattern-run').length") == 3
            assert not chromium.errors, chromium.errors
        finally:
            configure(None)
