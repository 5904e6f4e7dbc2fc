"""Every console page and action over real HTTP against a real server and engine."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import quote, urlencode

from dynamokit._engine import Engine

from .conftest import Browser, create_posts


def put_posts(engine: Engine, n: int) -> None:
    for i in range(n):
        engine.call("PutItem", {"TableName": "posts", "Item": {
            "pk": {"S": "blog"}, "sk": {"S": f"post#{i:03}"}, "author": {"S": "ada" if i % 2 else "bob"},
            "created": {"N": str(i)}, "title": {"S": f"Post {i}"}}})


def items_in(text: str) -> list[str]:
    """The `sk` cells of the items grid, in order."""
    body = text.split('id="items"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td title="S">(post#\d+)</td>', body)


def explore(browser: Browser, **query: str) -> str:
    page = browser.get("/console/tables/posts/items?" + urlencode(query))
    assert page.status == 200
    return page.text


def test_table_list_shows_counts_billing_indexes_and_statuses(engine: Engine, browser: Browser) -> None:
    create_posts(engine, stream=True)
    put_posts(engine, 3)
    engine.call("UpdateTimeToLive", {"TableName": "posts", "TimeToLiveSpecification": {
        "Enabled": True, "AttributeName": "expires"}})
    page = browser.get("/console/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    row = page.text.split('href="/console/tables/posts"', 1)[1].split("</tr>", 1)[0]
    cells = [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[:8] == ["ACTIVE", "3", cells[2], "PAY_PER_REQUEST", "by_author", "NEW_AND_OLD_IMAGES", "ENABLED",
                         "DISABLED"]
    assert cells[2].endswith(" B")


def test_no_slash_and_head(browser: Browser) -> None:
    assert "No tables yet" in browser.get("/console").text
    head = browser.request("HEAD", "/console/")
    assert head.status == 200 and head.text == ""


def test_describe_shows_the_table_as_json(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    page = browser.get("/console/tables/posts")
    described = json.loads(unescape(page.text.split("<pre>", 1)[1].split("</pre>", 1)[0]))
    assert described["TableName"] == "posts" and described["GlobalSecondaryIndexes"][0]["IndexName"] == "by_author"
    missing = browser.get("/console/tables/nope")
    assert missing.status == 404 and missing.error() and "ResourceNotFoundException" in missing.error()


def test_create_table_with_the_form(engine: Engine, browser: Browser) -> None:
    page = browser.post("/console/tables/new", {
        "name": "orders", "pk": "customer", "pk_type": "S", "sk": "placed", "sk_type": "N",
        "gsi": "by_status", "gsi_pk": "status", "gsi_pk_type": "S", "gsi_sk": "", "gsi_sk_type": "S",
        "billing": "PROVISIONED", "stream": "NEW_IMAGE"})
    assert page.status == 200 and "<h1>orders</h1>" in page.text
    table = engine.call("DescribeTable", {"TableName": "orders"})["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["customer", "placed"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by_status"
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"


def test_create_table_from_json_and_errors_next_to_the_form(engine: Engine, browser: Browser) -> None:
    request = {"TableName": "raw", "BillingMode": "PAY_PER_REQUEST",
               "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}
    assert browser.post("/console/tables/new", {"json": json.dumps(request)}).status == 200
    assert "raw" in engine.call("ListTables")["TableNames"]
    again = browser.post("/console/tables/new", {"json": json.dumps(request)})
    assert again.status == 400 and "ResourceInUseException" in (again.error() or "")
    assert 'value="raw"' not in again.text and "&quot;raw&quot;" in again.text  # the JSON is kept in the form
    broken = browser.post("/console/tables/new", {"json": "{not json"})
    assert broken.status == 400 and "SerializationException" in (broken.error() or "")
    bad = browser.post("/console/tables/new", {"name": "x", "pk": "", "pk_type": "S"})
    assert bad.status == 400 and "ValidationException" in (bad.error() or "")


def test_delete_table_needs_its_name_typed(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    form = browser.get("/console/tables/posts/delete")
    assert form.status == 200 and 'data-confirm="Delete table posts?"' in form.text
    refused = browser.post("/console/tables/posts/delete", {"confirm": "post"})
    assert refused.status == 400 and engine.call("ListTables")["TableNames"] == ["posts"]
    done = browser.post("/console/tables/posts/delete", {"confirm": "posts"}, follow=False)
    assert done.status == 303 and done.headers["location"] == "/console/"
    assert engine.call("ListTables")["TableNames"] == []


def test_query_table_and_index_in_both_directions(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    put_posts(engine, 6)
    text = explore(browser, mode="query", pk="blog", sk_op="begins_with", sk="post#00", order="desc")
    assert items_in(text) == [f"post#{i:03}" for i in range(5, -1, -1)]
    assert "6 items · 6 scanned" in text and "capacity units consumed" in text
    text = explore(browser, mode="query", index="by_author", pk="ada", sk_op="between", sk="2", sk2="5")
    assert items_in(text) == ["post#003", "post#005"]
    request = json.loads(unescape(text.split("<pre>", 1)[1].split("</pre>", 1)[0]))
    assert request["IndexName"] == "by_author" and request["KeyConditionExpression"] == (
        "#k0 = :k0 AND #k1 BETWEEN :k1 AND :k2")
    assert request["ExpressionAttributeValues"][":k1"] == {"N": "2"}
    assert "client.query(" in unescape(text) and "aws dynamodb query" in unescape(text)


def test_scan_with_filter_projection_and_paging(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    put_posts(engine, 7)
    query = {"mode": "scan", "filter": "author = :a", "values": '{":a": {"S": "bob"}}', "projection": "sk, title",
             "limit": "3"}
    seen: list[str] = []
    path = "/console/tables/posts/items?" + urlencode(query)
    for _ in range(5):
        text = browser.get(path).text
        seen += items_in(text)
        assert "author" not in text.split('id="items"', 1)[1].split("</thead>", 1)[0]  # projected away
        found = re.search(r'<a id="next-page" href="([^"]+)"', text)
        if not found:
            break
        path = unescape(found.group(1))
        assert "LastEvaluatedKey" in text
    assert sorted(seen) == [f"post#{i:03}" for i in range(0, 7, 2)]


def test_bad_input_shows_dynamodbs_error_not_a_broken_page(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    cases = [
        ({"mode": "scan", "filter": "author = "}, "ValidationException", "Invalid FilterExpression"),
        ({"mode": "scan", "filter": "a = :v", "values": '{":v": {"S": 5}}'}, "SerializationException", ""),
        ({"mode": "scan", "names": "[1]"}, "SerializationException", "must be a JSON object"),
        ({"mode": "scan", "values": "{"}, "SerializationException", "not valid JSON"),
        ({"mode": "query", "pk": ""}, "ValidationException", ""),
        ({"mode": "query", "index": "by_author", "pk": "x", "sk_op": "=", "sk": "not a number"},
         "ValidationException", ""),
        ({"mode": "query", "index": "nope", "pk": "x"}, "ValidationException", "index"),
        ({"mode": "scan", "limit": "-1"}, "ValidationException", "Limit"),
        ({"mode": "scan", "start": '{"pk": {"S": "x"}}'}, "ValidationException", ""),
    ]
    for query, code, words in cases:
        text = explore(browser, **query)
        error = re.search(r'<div class="error" role="alert">(.*?)</div>', text, re.DOTALL)
        assert error, query
        assert code in error.group(1) and words in unescape(error.group(1)), (query, error.group(1))


def test_item_view_edit_put_and_delete(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    put_posts(engine, 1)
    key = {"pk": {"S": "blog"}, "sk": {"S": "post#000"}}
    page = browser.get("/console/tables/posts/item?key=" + quote(json.dumps(key)))
    item = json.loads(unescape(page.text.split('spellcheck="false">', 1)[1].split("</textarea>", 1)[0]))
    assert item["title"] == {"S": "Post 0"}
    item["title"] = {"S": "Edited"}
    saved = browser.post("/console/tables/posts/item", {"item": json.dumps(item)})
    assert saved.status == 200 and "Edited" in saved.text
    assert engine.call("GetItem", {"TableName": "posts", "Key": key})["Item"]["title"] == {"S": "Edited"}
    wrong = browser.post("/console/tables/posts/item", {"item": json.dumps({**item, "created": {"N": "x"}})})
    assert wrong.status == 400 and "ValidationException" in (wrong.error() or "") and "&quot;x&quot;" in wrong.text
    new = browser.get("/console/tables/posts/item")
    assert "New item" in new.text and "&quot;sk&quot;" in new.text
    missing = browser.get("/console/tables/posts/item?key=" + quote('{"pk": {"S": "no"}, "sk": {"S": "no"}}'))
    assert missing.status == 404
    gone = browser.post("/console/tables/posts/item/delete", {"key": json.dumps(key)}, follow=False)
    assert gone.status == 303 and "Item" not in engine.call("GetItem", {"TableName": "posts", "Key": key})


def test_stream_page_and_tail_through_the_api(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    page = browser.get("/console/tables/posts/stream")
    assert "This table has no stream" in page.text
    enabled = browser.post("/console/tables/posts/stream", {"view": "NEW_AND_OLD_IMAGES"})
    arn = re.search(r'data-stream-arn="([^"]+)"', enabled.text)
    assert arn
    status, stream = browser.api("DescribeStream", {"StreamArn": unescape(arn.group(1))})
    assert status == 200
    shards = [s["ShardId"] for s in stream["StreamDescription"]["Shards"]]
    put_posts(engine, 1)
    engine.call("UpdateItem", {"TableName": "posts", "Key": {"pk": {"S": "blog"}, "sk": {"S": "post#000"}},
                               "UpdateExpression": "SET title = :t", "ExpressionAttributeValues": {":t": {"S": "New"}}})
    records = []
    for shard in shards:  # as console.js does: every open shard
        _, iterator = browser.api("GetShardIterator", {"StreamArn": unescape(arn.group(1)), "ShardId": shard,
                                                       "ShardIteratorType": "TRIM_HORIZON"})
        status, answer = browser.api("GetRecords", {"ShardIterator": iterator["ShardIterator"]})
        assert status == 200
        records += answer["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    modify = records[1]["dynamodb"]
    assert modify["OldImage"]["title"] == {"S": "Post 0"} and modify["NewImage"]["title"] == {"S": "New"}
    status, refused = browser.api("DeleteTable", {"TableName": "posts"})
    assert status == 400 and refused["code"] == "ValidationException"
    status, error = browser.api("GetRecords", {"ShardIterator": "bogus"})
    assert status == 400 and error["code"]


def test_static_assets_and_unknown_pages(browser: Browser) -> None:
    js = browser.get("/console/static/console.js")
    assert js.status == 200 and js.headers["content-type"].startswith("text/javascript") and "textContent" in js.text
    assert browser.get("/console/static/console.css").status == 200
    assert browser.get("/console/static/../__init__.py").status == 404
    assert browser.get("/console/nope").status == 404
    assert browser.request("PUT", "/console/").status == 405


def test_the_api_still_answers_on_post_slash(engine: Engine, browser: Browser) -> None:
    from tests.conftest import http_client

    client = http_client(f"http://127.0.0.1:{browser.port}")
    assert client.list_tables()["TableNames"] == []
    assert browser.get("/").text.startswith("healthy")


def test_a_closed_engine_is_a_page_not_a_dropped_connection(engine: Engine, browser: Browser) -> None:
    browser.get("/console/")
    engine.close()
    page = browser.get("/console/")
    assert page.status == 503 and "Engine closed" in page.text
