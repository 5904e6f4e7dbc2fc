"""The screenshots of docs/console.md, taken in headless Chromium (tests/console/cdp.py) of a real console.

    python bench/console_screenshots.py [--out docs/console]

An in-process `dynamokit serve --auth` with a small shop table (a GSI, a stream) and the blog model of
tests/console/model_app.py (`--app`); logs in, then saves login.png, tables.png, items.png (a Query through the
GSI), item.png (the editor), stream.png (the tail after an edit: its diff), usage.png (live usage, after a
failed conditional put) and model.png (the design chart and the access patterns). The window is 1024 x 640
and each shot is clipped to the page's content, so every PNG stays well under 200 KB.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from datetime import date
from urllib.parse import urlencode

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(_REPO, "src"), _REPO]

from dynamokit import Engine
from dynamokit._errors import DynamoDBError
from dynamokit.model import create_tables
from dynamokit.server._auth import Authenticator, AuthorizingBackend, parse_credentials
from dynamokit.server._console import configure
from dynamokit.server._http import Server
from tests.console.cdp import Chromium
from tests.console.model_app import Author, Post, make_app

WIDTH, HEIGHT = 1024, 640
CREDENTIALS = {"principals": [{"name": "dana", "access_key_id": "AKIADANA", "secret_access_key": "dana-secret",
                               "policies": [{"Version": "2012-10-17", "Statement": [
                                   {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}]}]}


def orders(engine: Engine) -> None:
    engine.call("CreateTable", {
        "TableName": "orders", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "order", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in ("customer", "order", "status")],
        "GlobalSecondaryIndexes": [{"IndexName": "by_status", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "order", "KeyType": "RANGE"}]}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    for n in range(12):
        engine.call("PutItem", {"TableName": "orders", "Item": {
            "customer": {"S": ["ada", "grace", "alan"][n % 3]}, "order": {"S": f"2024-06-{n + 1:02}#{n:04}"},
            "status": {"S": "SHIPPED" if n % 4 else "PENDING"}, "total": {"N": f"{19.5 + n * 7.25:.2f}"},
            "items": {"L": [{"S": "book"}, {"S": "pen"}][: 1 + n % 2]}, "gift": {"BOOL": n % 3 == 0}}})


def blog(engine: Engine) -> None:
    app = make_app().use(engine)
    create_tables(app)
    app.put(Author(author="ann", name="Ann Smith")).run()
    for n, (title, day) in enumerate([("Single-table design", 2), ("Access patterns first", 2), ("GSIs", 3)]):
        app.put(Post(author="ann", post_id=f"p{n + 1}", title=title, stars=3 + n, published=date(2024, 1, day))).run()
    configure(app)


def shoot(browser: Chromium, path: str, height: int | None = None) -> None:
    """The page, clipped to its content (at most `height` pixels)."""
    content = browser.evaluate("document.documentElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": min(content, height or HEIGHT), "scale": 1}
    data = base64.b64decode(browser.send("Page.captureScreenshot", session=True, format="png", clip=clip,
                                         captureBeyondViewport=True)["data"])
    with open(path, "wb") as out:
        out.write(data)
    print(f"{path}: {len(data) / 1024:.0f} KB")


def click(browser: Chromium, selector: str, then: str) -> None:
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
    browser.wait(f"document.readyState === 'complete' && ({then})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(_REPO, "docs", "console"))
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    with Engine() as engine:
        orders(engine)
        blog(engine)
        backend = AuthorizingBackend(engine, Authenticator(parse_credentials(CREDENTIALS), engine.region))
        browser = Chromium(width=WIDTH, height=HEIGHT)
        try:
            with Server(backend) as server:
                base = f"http://127.0.0.1:{server.port}/console/"
                browser.open(base + "login")
                browser.evaluate("document.querySelector('[name=access_key_id]').value = 'AKIADANA'")
                shoot(browser, os.path.join(out, "login.png"), 360)
                browser.evaluate("document.querySelector('[name=secret_access_key]').value = 'dana-secret'")
                click(browser, "#login button", "location.pathname === '/console/'")
                shoot(browser, os.path.join(out, "tables.png"), 300)
                query = {"mode": "query", "index": "by_status", "pk": "SHIPPED", "sk_op": "begins_with",
                         "sk": "2024-06", "limit": "6"}
                browser.open(base + "tables/orders/items?" + urlencode(query))
                shoot(browser, os.path.join(out, "items.png"), 900)
                click(browser, "#items tbody a", "!!document.getElementById('item-form')")
                shoot(browser, os.path.join(out, "item.png"), 900)
                browser.open(base + "tables/orders/stream")
                browser.wait("document.getElementById('tail-status').textContent.includes('polled')")
                engine.call("UpdateItem", {"TableName": "orders", "Key": {"customer": {"S": "ada"},
                                                                          "order": {"S": "2024-06-01#0000"}},
                                           "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                                           "ExpressionAttributeValues": {":s": {"S": "SHIPPED"}}})
                engine.call("DeleteItem", {"TableName": "orders", "Key": {"customer": {"S": "alan"},
                                                                          "order": {"S": "2024-06-03#0002"}}})
                browser.wait("document.querySelectorAll('#tail-records tr').length === 2")
                shoot(browser, os.path.join(out, "stream.png"), 560)
                try:
                    engine.call("PutItem", {"TableName": "orders", "Item": {"customer": {"S": "ada"}, "order": {
                        "S": "2024-06-01#0000"}}, "ConditionExpression": "attribute_not_exists(customer)"})
                except DynamoDBError:
                    pass  # the error the usage page counts
                browser.open(base + "usage")
                browser.wait("document.getElementById('usage-status').textContent.includes('refreshed')")
                shoot(browser, os.path.join(out, "usage.png"), 560)
                browser.open(base + "model")
                browser.evaluate("""(() => {
                    const form = document.querySelector('form[data-pattern="posts_on_day"]');
                    form.querySelector('[name="in.published"]').value = "2024-01-02";
                    form.querySelector('button[type=submit]').click();
                })()""")
                browser.wait("document.readyState === 'complete' && !!document.getElementById('entities')")
                browser.evaluate("scrollTo(0, 0)")
                shoot(browser, os.path.join(out, "model.png"), 900)
        finally:
            browser.close()
            configure(None)


if __name__ == "__main__":
    main()
