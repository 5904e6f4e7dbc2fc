"""The item editor's formats and conditions, bulk delete and export, over real HTTP against a real engine."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import quote

from dynamokit.engine import Engine

from .conftest import Browser, Page, create_posts

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
