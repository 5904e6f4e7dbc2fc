"""What console.js does on the item pages, the stream tail and the usage page, in headless Chromium: selecting
rows and bulk-deleting them after a confirmation, the item editor's formats and per-button confirmations, the
tail's diff by attribute path, and the usage page refreshing itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from dynamokit._engine import Engine
from dynamokit.server import Server

from .cdp import BINARY, Chromium
from .conftest import create_posts
from .test_browser import fill, rows, submit

pytestmark = pytest.mark.skipif(BINARY is None, reason="Debian chromium is not installed (apt-get install -y chromium)")

CONFIRMS = "window.confirms = []; window.confirm = (m) => { window.confirms.push(m); return window.answer; };"


@pytest.fixture
def console() -> Iterator[tuple[Chromium, Engine, str]]:
    with Engine() as engine, Server(engine) as server:
        chromium = Chromium(width=1280, height=900)
        try:
            yield chromium, engine, f"http://127.0.0.1:{server.port}/console/"
        finally:
            chromium.close()


def test_select_rows_and_delete_them_after_confirming(console: tuple[Chromium, Engine, str]) -> None:
    chromium, engine, base = console
    create_posts(engine)
    for i in range(5):
        engine.call("PutItem", {"TableName": "posts", "Item": {"pk": {"S": "p"}, "sk": {"S": f"s{i}"}}})
    chromium.open(base + "tables/posts/items?mode=scan")
    button = "document.getElementById('delete-selected')"
    assert chromium.evaluate(f"{button}.disabled") is True
    chromium.evaluate("document.getElementById('select-all').click()")
    assert chromium.evaluate(f"{button}.textContent") == "Delete selected (5)"
    chromium.evaluate("document.querySelector('#items tbody input[name=key]').click()")  # s0 stays
    assert chromium.evaluate(f"{button}.textContent") == "Delete selected (4)"
    assert chromium.evaluate("document.getElementById('select-all').checked") is False
    chromium.evaluate(CONFIRMS + "window.answer = false;")
    chromium.evaluate(f"{button}.click()")
    assert chromium.evaluate("window.confirms") == ["Delete 4 selected items? This cannot be undone."]
    assert engine.call("Scan", {"TableName": "posts"})["Count"] == 5  # refused: nothing was sent
    chromium.evaluate(CONFIRMS + "window.answer = true;")
    submit(chromium, "#bulk", "!!document.getElementById('deleted')")
    assert chromium.evaluate("document.getElementById('deleted').textContent") == "Deleted 4 items."
    assert rows(chromium, "#items") == [["p", "s0"]]
    assert engine.call("Scan", {"TableName": "posts"})["Count"] == 1
    assert not chromium.errors, chromium.errors


def test_item_editor_formats_conditions_and_confirmations(console: tuple[Chromium, Engine, str]) -> None:
    chromium, engine, base = console
    create_posts(engine)
    key = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    engine.call("PutItem", {"TableName": "posts", "Item": {**key, "n": {"N": "1"}}})
    chromium.open(base + "tables/posts/item?key=" + quote(json.dumps(key)))
    chromium.evaluate("document.getElementById('convert').click()")
    chromium.wait("document.readyState === 'complete' && document.getElementById('format').textContent === "
                  "'plain JSON'")
    assert json.loads(chromium.evaluate("document.querySelector('[name=item]').value")) == {"pk": "p", "sk": "s",
                                                                                            "n": 1}
    fill(chromium, {"item": '{"pk": "p", "sk": "s", "n": 2}', "condition": "n = :n", "values": '{":n": 5}'})
    submit(chromium, "#item-form", "!!document.querySelector('#item-form .error')")
    assert "ConditionalCheckFailedException" in chromium.evaluate(
        "document.querySelector('[name=condition]').closest('label').nextElementSibling.textContent")
    fill(chromium, {"values": '{":n": 1}'})
    submit(chromium, "#item-form", "location.search.includes('saved=1')")
    assert engine.call("GetItem", {"TableName": "posts", "Key": key})["Item"]["n"] == {"N": "2"}
    assert chromium.evaluate("document.getElementById('format').textContent") == "plain JSON"
    chromium.evaluate(CONFIRMS + "window.answer = false;")
    chromium.evaluate("document.querySelector('button[formaction$=\"/item/delete\"]').click()")
    assert chromium.evaluate("window.confirms") == ["Delete this item?"]
    assert "Item" in engine.call("GetItem", {"TableName": "posts", "Key": key})
    assert not chromium.errors, chromium.errors


def test_the_tail_diffs_by_attribute_path(console: tuple[Chromium, Engine, str]) -> None:
    chromium, engine, base = console
    create_posts(engine, stream=True)
    key = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    engine.call("PutItem", {"TableName": "posts", "Item": {**key, "gone": {"S": "x"}, "same": {"N": "1"},
                                                           "meta": {"M": {"city": {"S": "Oslo"}, "zip": {"S": "1"}}}}})
    chromium.open(base + "tables/posts/stream")
    chromium.wait("document.getElementById('tail-status').textContent.includes('polled')")
    engine.call("UpdateItem", {"TableName": "posts", "Key": key,
                               "UpdateExpression": "SET meta.city = :c, fresh = :f REMOVE gone",
                               "ExpressionAttributeValues": {":c": {"S": "Bergen"}, ":f": {"BOOL": True}}})
    chromium.wait("document.querySelectorAll('#tail-records tr').length === 1")
    changes = chromium.evaluate("[...document.querySelectorAll('#tail-records td.changes div')].map("
                                "d => [d.className, d.textContent])")
    assert sorted(changes) == [["added", "+ fresh"], ["changed", "~ meta.city"], ["removed", "− gone"]]
    marked = chromium.evaluate("Object.fromEntries(['old', 'new'].map(side => [side, [...document.querySelectorAll("
                               "`#tail-records pre.${side} span[class]`)].map(s => [s.className, "
                               "JSON.parse(`{${s.textContent.trim().replace(/,$/, '')}}`)])]))")
    assert sorted(marked["old"], key=str) == sorted([["removed", {"gone": {"S": "x"}}], ["changed", {"meta": {"M": {
        "city": {"S": "Oslo"}, "zip": {"S": "1"}}}}]], key=str)
    assert sorted(marked["new"], key=str) == sorted([["added", {"fresh": {"BOOL": True}}], ["changed", {"meta": {
        "M": {"city": {"S": "Bergen"}, "zip": {"S": "1"}}}}]], key=str)
    assert not chromium.errors, chromium.errors


def test_the_usage_page_refreshes_itself(console: tuple[Chromium, Engine, str]) -> None:
    chromium, engine, base = console
    create_posts(engine)
    chromium.open(base + "usage")
    assert rows(chromium, "#usage-tables", 0)[0][:2] == ["posts", "1"]
    chromium.evaluate("document.body.dataset.marker = 'same page'")
    engine.call("PutItem", {"TableName": "posts", "Item": {"pk": {"S": "p"}, "sk": {"S": "s"}}})
    chromium.wait("document.querySelector('#usage-tables tbody td:nth-child(2)').textContent === '2'")
    assert chromium.evaluate("document.body.dataset.marker") == "same page"  # no reload
    assert rows(chromium, "#usage-tables", 0)[0][7] == "1.0"  # the put's write unit
    assert "refreshed" in chromium.evaluate("document.getElementById('usage-status').textContent")
    assert not chromium.errors, chromium.errors
