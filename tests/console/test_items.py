"""The item editor's formats and conditions, bulk delete and export, over real HTTP against a real engine."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from typing import Any
from urllib.parse import quote, urlencode

from dynamokit._engine import Engine
from dynamokit.server import Server

from .conftest import Browser, Page, create_posts
from .test_pages import items_in, put_posts

KEY = {"pk": {"S": "blog"}, "sk": {"S": "post#000"}}
ITEM = {**KEY, "author": {"S": "ada"}, "created": {"N": "1.50"}, "tags": {"L": [{"S": "a"}, {"BOOL": True}]},
        "meta": {"M": {"draft": {"NULL": True}}}}


def editor_text(page: Page) -> str:
    return unescape(page.text.split('spellcheck="false">', 1)[1].split("</textarea>", 1)[0])


def error_after(page: Page, field: str) -> str:
    """The error box right after the form field `field` (its label), if any."""
    after = page.text.split(f'name="{field}"', 1)[1].split("</label>", 1)[1]
    found = re.match(r'<div class="error" role="alert">(.*?)</div>', after, re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else ""


def stored(engine: Engine) -> dict[str, object] | None:
    return engine.call("GetItem", {"TableName": "posts", "Key": KEY}).get("Item")  # type: ignore[no-any-return]


def test_plain_json_view_edit_and_convert(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    engine.call("PutItem", {"TableName": "posts", "Item": ITEM})
    page = browser.get("/console/tables/posts/item?format=plain&key=" + quote(json.dumps(KEY)))
    assert page.status == 200 and "plain JSON" in page.text
    plain = json.loads(editor_text(page), parse_float=str)
    assert plain == {"pk": "blog", "sk": "post#000", "author": "ada", "created": "1.5", "tags": ["a", True],
                     "meta": {"draft": None}}
    assert '"created": 1.5,' in editor_text(page)  # a JSON number, not a string
    saved = browser.post("/console/tables/posts/item", {
        "format": "plain", "item": '{"pk": "blog", "sk": "post#000", "n": 12345678901234567890.5, "ok": false}'})
    assert saved.status == 200 and "Saved." in saved.text and '"n": 12345678901234567890.5' in editor_text(saved)
    assert stored(engine) == {**KEY, "n": {"N": "12345678901234567890.5"}, "ok": {"BOOL": False}}
    converted = browser.post("/console/tables/posts/item/convert", {
        "format": "plain", "item": '{"pk": "blog", "x": [1, {"y": null}]}', "values": '{":v": 2}'})
    assert converted.status == 200 and stored(engine) == {**KEY, "n": {"N": "12345678901234567890.5"},
                                                          "ok": {"BOOL": False}}
    assert json.loads(editor_text(converted)) == {"pk": {"S": "blog"}, "x": {"L": [{"N": "1"}, {"M": {
        "y": {"NULL": True}}}]}}
    assert 'value="dynamodb"' in converted.text and "&quot;:v&quot;: {" in converted.text


def test_items_with_sets_or_binary_stay_dynamodb_json(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    engine.call("PutItem", {"TableName": "posts", "Item": {**KEY, "m": {"M": {"tags": {"SS": ["x"]}}}}})
    page = browser.get("/console/tables/posts/item?format=plain&key=" + quote(json.dumps(KEY)))
    assert page.status == 200 and "m.tags (SS)" in (page.error() or "") and "no sets" in (page.error() or "")
    assert json.loads(editor_text(page))["m"] == {"M": {"tags": {"SS": ["x"]}}}
    refused = browser.post("/console/tables/posts/item/convert", {
        "format": "dynamodb", "item": json.dumps({**KEY, "b": {"B": "AAE="}})})
    assert refused.status == 400 and "b (B)" in error_after(refused, "item")
    for bad in ({"n": {"N": "abc"}}, {"x": {"M": [1]}}, {"x": {"L": "abc"}}, {"s": {"S": 5}}, {"e": {}}):
        page = browser.post("/console/tables/posts/item/convert", {"format": "dynamodb", "item": json.dumps(bad)})
        assert page.status == 400 and "is not a DynamoDB attribute value" in error_after(page, "item"), bad


def test_hostile_plain_json_is_an_error_next_to_the_item(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    cases = [("[1]", "SerializationException"), ('{"pk": NaN}', "SerializationException"),
             ('{"pk": "blog", "sk": "x", "n": 1e999}', "ValidationException"), ("[" * 100000, "SerializationException"),
             ('{"pk": "blog", "sk": "x", "d": ' + '{"a": ' * 40 + "1" + "}" * 41, "ValidationException"), ("{}", "empty")]
    for text, code in cases:
        page = browser.post("/console/tables/posts/item", {"format": "plain", "item": text})
        assert page.status == 400 and code in error_after(page, "item"), (text[:40], page.text[:300])
        assert editor_text(page) == text
    assert engine.call("Scan", {"TableName": "posts"})["Count"] == 0


def test_conditional_put_update_and_delete(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    engine.call("PutItem", {"TableName": "posts", "Item": {**KEY, "v": {"N": "1"}}})
    item = json.dumps({**KEY, "v": {"N": "2"}})
    absent = {"item": item, "condition": "attribute_not_exists(pk)"}
    page = browser.post("/console/tables/posts/item", absent)
    assert page.status == 400 and "ConditionalCheckFailedException" in error_after(page, "condition")
    assert editor_text(page) == item and 'value="attribute_not_exists(pk)"' in page.text
    assert stored(engine) == {**KEY, "v": {"N": "1"}}
    ok = browser.post("/console/tables/posts/item", {"item": item, "condition": "#v = :v", "names": '{"#v": "v"}',
                                                     "values": '{":v": {"N": "1"}}'})
    assert ok.status == 200 and stored(engine) == {**KEY, "v": {"N": "2"}}
    update = {"key": json.dumps(KEY), "format": "plain", "update": "SET #v = #v + :one", "condition": "#v = :two",
              "names": '{"#v": "v"}', "values": '{":one": 1, ":two": 3}'}
    refused = browser.post("/console/tables/posts/item/update", update)
    assert refused.status == 400 and "ConditionalCheckFailedException" in error_after(refused, "condition")
    done = browser.post("/console/tables/posts/item/update", {**update, "values": '{":one": 1, ":two": 2}'})
    assert done.status == 200 and 'name="format" value="plain"' in done.text and stored(engine) == {**KEY, "v": {"N": "3"}}
    bad = browser.post("/console/tables/posts/item/update", {**update, "update": "SET = oops"})
    assert bad.status == 400 and "UpdateExpression" in error_after(bad, "update")
    empty = browser.post("/console/tables/posts/item/update", {**update, "update": " "})
    assert empty.status == 400 and "UpdateExpression" in error_after(empty, "update")
    syntax = browser.post("/console/tables/posts/item", {"item": item, "condition": "v ="})
    assert syntax.status == 400 and "Invalid ConditionExpression" in error_after(syntax, "condition")
    unused = browser.post("/console/tables/posts/item", {"item": item, "values": '{":x": {"S": "1"}}'})
    assert unused.status == 400 and "ExpressionAttributeValues" in unused.text.split('name="condition"', 1)[1]
    keep = browser.post("/console/tables/posts/item/delete", {"key": json.dumps(KEY), "condition": "v = :v",
                                                              "values": '{":v": {"N": "9"}}'})
    assert keep.status == 400 and "ConditionalCheckFailedException" in error_after(keep, "condition")
    assert stored(engine) is not None
    gone = browser.post("/console/tables/posts/item/delete", {"key": json.dumps(KEY), "condition": "v = :v",
                                                              "values": '{":v": {"N": "3"}}'}, follow=False)
    assert gone.status == 303 and stored(engine) is None


def test_item_forms_refuse_missing_csrf(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    for action in ("item", "item/update", "item/delete", "item/convert"):
        page = browser.post(f"/console/tables/posts/{action}", {"key": json.dumps(KEY), "item": json.dumps(KEY),
                                                                "update": "SET a = :a"}, csrf=False)
        assert page.status == 403, action
    assert stored(engine) is None


class Stingy:
    """The engine, except that BatchWriteItem leaves a key whose sk is `stuck` unprocessed, and leaves the last
    request of any other batch unprocessed once (as DynamoDB may under load)."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.batches, self.held = engine, 0, set[str]()

    def call(self, operation: str, request: dict[str, Any], **options: Any) -> dict[str, Any]:
        if operation != "BatchWriteItem":
            return self.engine.call(operation, request, **options)
        self.batches += 1
        (table, writes), = request["RequestItems"].items()
        held = [w for w in writes if w["DeleteRequest"]["Key"]["sk"]["S"] == "stuck"]
        rest = [w for w in writes if w not in held]
        last = json.dumps(rest[-1]) if rest else ""
        if last and last not in self.held and len(rest) > 1:
            self.held.add(last)
            held, rest = held + rest[-1:], rest[:-1]
        if rest:
            self.engine.call("BatchWriteItem", {"RequestItems": {table: rest}})
        return {"UnprocessedItems": {table: held} if held else {}}


def post_keys(browser: Browser, keys: list[dict[str, Any]], back: str, csrf: bool = True) -> Page:
    fields = [("csrf", browser.token)] if csrf else []
    body = urlencode(fields + [("back", back)] + [("key", json.dumps(k)) for k in keys])
    return browser.request("POST", "/console/tables/posts/items/delete", body.encode(),
                           {"Content-Type": "application/x-www-form-urlencoded"})


def test_bulk_delete_in_batches_of_25_with_unprocessed_items_retried(engine: Engine) -> None:
    create_posts(engine)
    put_posts(engine, 60)
    engine.call("PutItem", {"TableName": "posts", "Item": {"pk": {"S": "blog"}, "sk": {"S": "stuck"}}})
    stingy = Stingy(engine)
    with Server(stingy) as server:
        browser = Browser(server.port)
        back = urlencode({"mode": "query", "pk": "blog", "limit": "100"})
        page = browser.get("/console/tables/posts/items?" + back)
        assert page.text.count('type="checkbox" name="key"') == 61 and 'id="delete-selected"' in page.text
        assert 'data-confirm="Delete the selected items?"' in page.text
        keys = [json.loads(unescape(k)) for k in re.findall(r'name="key" value="([^"]+)"', page.text)]
        keys = keys[:30] + keys[:30] + keys[30:]  # a key checked twice is deleted once
        done = post_keys(browser, keys, back)
        assert done.status == 303
        location = done.headers["location"]
        assert "deleted=60" in location and "unprocessed=1" in location
        after = browser.get(location)
        assert "Deleted 60 items; 1 still unprocessed after retries." in unescape(after.text)
        assert items_in(after.text) == [] and "1 items" in after.text  # the same query again: only `stuck` left
    assert stingy.batches == 2 + 2 + 6  # 25 + 25 + 11 keys, each held request retried; `stuck`, 5 retries
    assert engine.call("Scan", {"TableName": "posts"})["Count"] == 1


def test_bulk_delete_hostile_input(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    put_posts(engine, 2)
    browser.get("/console/")
    assert post_keys(browser, [{"pk": {"S": "blog"}, "sk": {"S": "post#000"}}], "", csrf=False).status == 403
    for keys, code in [([], "No items are selected"), ([{"pk": {"S": "blog"}}], "ValidationException"),
                       ([{}], "empty"), ([{"pk": {"S": "x"}, "sk": {"S": "y"}}] * 2 + [[1]], "JSON object"),
                       ([{"pk": {"S": str(i)}, "sk": {"S": "x"}} for i in range(1001)], "At most 1000")]:
        page = post_keys(browser, keys, "mode=scan&deleted=9")
        assert page.status == 400 and code in (page.error() or ""), (code, page.error())
        assert "Deleted 0 items" in page.text and 'id="items"' in page.text  # the result as it is now
    raw = browser.request("POST", "/console/tables/posts/items/delete",
                          urlencode({"csrf": browser.token, "key": "{not json"}).encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"})
    assert raw.status == 400 and "SerializationException" in (raw.error() or "")
    assert engine.call("Scan", {"TableName": "posts"})["Count"] == 2


def test_export_this_page_or_all_pages_as_json_and_csv(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    put_posts(engine, 7)
    engine.call("PutItem", {"TableName": "posts", "Item": {"pk": {"S": "blog"}, "sk": {"S": "x"}, "title": {
        "S": '=HYPERLINK("http://evil")'}, "n": {"N": "-3"}, "tags": {"SS": ["a", "b"]}}})
    query = {"mode": "query", "pk": "blog", "limit": "3"}
    page = browser.get("/console/tables/posts/items?" + urlencode(query))
    links = [unescape(h) for h in re.findall(r'<a href="([^"]+)" download>', page.text)]
    assert len(links) == 4 and "at most 10,000 items or 16 MB" in page.text
    one = browser.get(links[0])
    assert one.headers["content-disposition"] == 'attachment; filename="posts-query.json"'
    exported = json.loads(one.text)
    assert [i["sk"]["S"] for i in exported["Items"]] == ["post#000", "post#001", "post#002"]
    assert exported["LastEvaluatedKey"] == {"pk": {"S": "blog"}, "sk": {"S": "post#002"}}
    assert exported["Request"]["Limit"] == 3
    every = json.loads(browser.get(links[2]).text)
    assert every["Count"] == 8 and "LastEvaluatedKey" not in every
    csv_all = browser.get(links[3])
    assert csv_all.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_all.text)))
    assert rows[0] == ["pk", "sk", "author", "created", "title", "n", "tags"] and len(rows) == 9
    assert rows[8][4:] == ["\'=HYPERLINK(\"http://evil\")", "-3", '{"SS":["a","b"]}']
    second = browser.get(links[1].replace("limit=3", "limit=3&start=" + quote(json.dumps(
        exported["LastEvaluatedKey"]))))
    assert [r[1] for r in list(csv.reader(io.StringIO(second.text)))[1:]] == ["post#003", "post#004", "post#005"]


def test_export_is_bounded_and_errors_are_pages(engine: Engine, browser: Browser, monkeypatch: Any) -> None:
    from dynamokit.server._console import export

    create_posts(engine)
    put_posts(engine, 7)
    monkeypatch.setattr(export, "EXPORT_ITEMS", 5)
    cut = browser.get("/console/tables/posts/items/export?mode=scan&pages=all&format=json")
    assert 'filename="posts-scan-all-cut.json"' in cut.headers["content-disposition"]
    assert json.loads(cut.text)["Count"] == 5 and json.loads(cut.text)["LastEvaluatedKey"]
    for query, code in [("mode=scan&format=xml", "format"), ("mode=scan&format=csv&filter=a%20%3D", "Invalid"),
                        ("mode=query&format=json&index=nope", "index")]:
        page = browser.get("/console/tables/posts/items/export?" + query)
        assert page.status == 400 and code in (page.error() or ""), query
    assert browser.get("/console/tables/nope/items/export?format=json").status == 404
