"""Hostile item content stays text; state changes need the CSRF token; other hosts get nothing (--auth: test_login)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

from dynamokit._engine import Engine

from .conftest import Browser, create_posts

HOSTILE = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>'


def plant(engine: Engine) -> dict[str, dict[str, str]]:
    create_posts(engine, stream=True)
    key = {"pk": {"S": HOSTILE}, "sk": {"S": "</textarea><script>alert(3)</script>"}}
    engine.call("PutItem", {"TableName": "posts", "Item": {
        **key, HOSTILE: {"S": HOSTILE}, "list": {"L": [{"S": HOSTILE}]}, "author": {"S": HOSTILE},
        "created": {"N": "1"}}})
    return key


def test_hostile_item_content_is_escaped_everywhere(engine: Engine, browser: Browser) -> None:
    key = plant(engine)
    pages = [
        "/console/",
        "/console/tables/posts",
        "/console/tables/posts/items?mode=scan",
        "/console/tables/posts/items?" + urlencode({"mode": "query", "pk": HOSTILE, "filter": HOSTILE}),
        "/console/tables/posts/items?" + urlencode({"mode": "query", "index": "by_author", "pk": HOSTILE}),
        "/console/tables/posts/items?" + urlencode({"mode": "scan", "limit": "1"}),  # LastEvaluatedKey in a link
        "/console/tables/posts/item?key=" + quote(json.dumps(key)),
        "/console/tables/" + quote(HOSTILE, safe=""),
        "/console/tables/" + quote(HOSTILE, safe="") + "/items",
        "/console/" + quote(HOSTILE),
    ]
    for path in pages:
        page = browser.get(path)
        assert page.status in (200, 400, 404), path
        scripts = re.findall(r"<script[^>]*>", page.text)
        assert scripts == ['<script src="/console/static/console.js" defer>'], (path, scripts)
        assert "<img" not in page.text and "onerror=alert" not in page.text.replace("onerror=alert(2)&gt;", ""), path
        assert "</textarea><script" not in page.text, path
    scan = browser.get("/console/tables/posts/items?mode=scan").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in scan  # shown, as text
    # a hostile form value echoed back into the form stays inside its attribute
    echoed = browser.get("/console/tables/posts/items?" + urlencode({"mode": "scan", "projection": HOSTILE})).text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&gt;&lt;img' in echoed


def test_every_page_has_a_strict_content_security_policy(browser: Browser) -> None:
    page = browser.get("/console/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"]
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie and "Path=/console/" in cookie


def test_state_changes_need_the_csrf_token(engine: Engine, browser: Browser) -> None:
    create_posts(engine)
    form = {"confirm": "posts"}
    browser.get("/console/")
    # no token in the form
    assert browser.post("/console/tables/posts/delete", form, csrf=False).status == 403
    # a wrong token
    assert browser.post("/console/tables/posts/delete", {**form, "csrf": "guess"}, csrf=False).status == 403
    # the right token but no cookie (a cross-site form: SameSite=Strict keeps the cookie home)
    stranger = Browser(browser.port, token=browser.token)
    assert stranger.post("/console/tables/posts/delete", form).status == 403
    # the right token and cookie, from another origin
    page = browser.request("POST", "/console/tables/posts/delete", urlencode({**form, "csrf": browser.token}).encode(),
                           {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"})
    assert page.status == 403
    # the API wants the header
    page = browser.request("POST", "/console/api", b'{"operation": "DescribeTable", "request": {"TableName": "posts"}}',
                           {"Content-Type": "application/json"})
    assert page.status == 403
    assert engine.call("ListTables")["TableNames"] == ["posts"]
    assert browser.post("/console/tables/posts/delete", form, follow=False).status == 303
    assert engine.call("ListTables")["TableNames"] == []


def test_dns_rebinding_hosts_are_refused(browser: Browser) -> None:
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.nip.io", ""):
        page = browser.request("GET", "/console/", headers={"Host": host})
        assert page.status == 403 and "csrf-token" not in page.text, host
    for host in ("localhost", f"localhost:{browser.port}", "[::1]:80", "10.1.2.3:8000"):
        assert browser.request("GET", "/console/", headers={"Host": host}).status == 200, host
