"""The console under `serve --auth`: login with a key of the credentials file, sessions, and every request
authorized by the principal's IAM policies, as the HTTP API authorizes it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from dynamokit._engine import Engine
from dynamokit.server import Server
from dynamokit.server._auth import Authenticator, AuthorizingBackend
from dynamokit.server._console import login, sessions

from .conftest import Browser, create_posts
from .test_usage import cells

READER_ACTIONS = ["dynamodb:ListTables", "dynamodb:DescribeTable", "dynamodb:Query", "dynamodb:Scan",
                  "dynamodb:GetItem", "dynamodb:DescribeTimeToLive", "dynamodb:DescribeContinuousBackups"]
PRINCIPALS = [
    {"name": "admin", "access_key_id": "AKADMIN", "secret_access_key": "admin-secret",
     "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*",
                                                            "Resource": "*"}]}]},
    {"name": "reader", "access_key_id": "AKREADER", "secret_access_key": "reader-secret",
     "policies": [{"Version": "2012-10-17", "Statement": [
         {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"},
         {"Effect": "Allow", "Action": READER_ACTIONS[1:], "Resource": [
             "arn:aws:dynamodb:*:*:table/posts", "arn:aws:dynamodb:*:*:table/posts/index/*"]}]}]},
    {"name": "temp", "temporary_credentials": [
        {"AccessKeyId": "ASIALIVE", "SecretAccessKey": "live-secret", "SessionToken": "live-token",
         "Expiration": "2100-01-01T00:00:00Z"},
        {"AccessKeyId": "ASIAOLD", "SecretAccessKey": "old-secret", "SessionToken": "old-token",
         "Expiration": "2001-01-01T00:00:00Z"}],
     "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:ListTables",
                                                            "Resource": "*"}]}]},
]


class Clock:
    """The sessions' clock, moved by hand (the signatures keep the real one)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(login, "SESSIONS", sessions.Sessions(clock))
    return clock


@pytest.fixture
def secured(engine: Engine, tmp_path: Path, clock: Clock) -> Iterator[Server]:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"principals": PRINCIPALS}))
    create_posts(engine)
    engine.call("CreateTable", {"TableName": "secret", "BillingMode": "PAY_PER_REQUEST",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
    engine.call("PutItem", {"TableName": "posts", "Item": {
        "pk": {"S": "blog"}, "sk": {"S": "p1"}, "author": {"S": "ada"}, "created": {"N": "1"}}})
    backend = AuthorizingBackend(engine, Authenticator.from_file(str(path), engine.region, engine.account_id))
    with Server(backend) as server:
        yield server


def log_in(browser: Browser, key: str, secret: str, token: str = "", **extra: str) -> Any:
    """Post the login form as a browser would (the login page's CSRF token and cookie); the answer unfollowed."""
    browser.get("/console/login")
    return browser.post("/console/login", {"access_key_id": key, "secret_access_key": secret,
                                           "session_token": token, **extra}, follow=False)


def logged_in(server: Server, key: str, secret: str, token: str = "") -> Browser:
    browser = Browser(server.port)
    answer = log_in(browser, key, secret, token)
    assert answer.status == 303 and answer.headers["location"] == "/console/", answer.error()
    browser.get("/console/")
    return browser


def session_cookie(browser: Browser) -> str:
    return browser.cookies.get(f"dynamokit_session_{browser.port}", "")


def test_without_a_session_every_page_leads_to_login_and_nothing_runs(engine: Engine, secured: Server) -> None:
    browser = Browser(secured.port)
    page = browser.get("/console/tables/posts/items?mode=scan")
    assert page.status == 303
    assert page.headers["location"] == "/console/login?" + urlencode({"next": "/console/tables/posts/items?mode=scan"})
    form = browser.get(page.headers["location"])
    assert form.status == 200 and 'name="secret_access_key" type="password"' in form.text
    assert 'value="/console/tables/posts/items?mode=scan"' in form.text  # where login goes next
    assert browser.get("/console/static/console.css").status == 200  # the login page's own assets
    # state changes without a session: refused, even with the login page's valid CSRF token and cookie
    assert browser.post("/console/tables/new", {"name": "t", "pk": "pk"}, follow=False).status == 401
    assert browser.post("/console/tables/posts/delete", {"confirm": "posts"}, follow=False).status == 401
    assert browser.api("DescribeTable", {"TableName": "posts"})[0] == 401
    assert sorted(engine.call("ListTables")["TableNames"]) == ["posts", "secret"]


def test_a_read_only_principal_lists_and_queries_but_cannot_write(engine: Engine, secured: Server) -> None:
    browser = logged_in(secured, "AKREADER", "reader-secret")
    tables = browser.get("/console/")
    assert tables.status == 200 and "arn:aws:iam::" in tables.text and "user/reader" in tables.text
    assert 'href="/console/tables/posts"' in tables.text
    assert 'href="/console/tables/secret"' not in tables.text  # DescribeTable denied: not shown
    query = browser.get("/console/tables/posts/items?" + urlencode({"mode": "query", "index": "by_author",
                                                                     "pk": "ada"}))
    assert query.status == 200 and query.error() is None and '<td title="S">p1</td>' in query.text
    item = {"pk": {"S": "blog"}, "sk": {"S": "p2"}}
    put = browser.post("/console/tables/posts/item", {"item": json.dumps(item)})
    assert put.status == 400 and put.error() is not None
    assert put.error().startswith("AccessDeniedException: User: arn:aws:iam::")  # type: ignore[union-attr]
    assert "dynamodb:PutItem" in put.error()  # type: ignore[operator]
    assert json.dumps(item) in put.text.replace("&quot;", '"')  # the editor keeps what was typed
    assert "Item" not in engine.call("GetItem", {"TableName": "posts", "Key": item})
    other = browser.get("/console/tables/secret/items?mode=scan")
    assert other.error() is not None and other.error().startswith("AccessDeniedException")  # type: ignore[union-attr]
    delete = browser.post("/console/tables/posts/delete", {"confirm": "posts"})
    assert delete.error() is not None and delete.error().startswith("AccessDeniedException")  # type: ignore[union-attr]
    status, answer = browser.api("DescribeStream", {"StreamArn": "arn:aws:dynamodb:us-east-1:1:table/x/stream/y"})
    assert status == 400 and answer["code"] == "AccessDeniedException"
    assert sorted(engine.call("ListTables")["TableNames"]) == ["posts", "secret"]


def test_a_full_access_principal_changes_things(engine: Engine, secured: Server) -> None:
    browser = logged_in(secured, "AKADMIN", "admin-secret")
    created = browser.post("/console/tables/new", {"name": "made", "pk": "id"})
    assert created.status == 200 and created.error() is None
    assert "made" in engine.call("ListTables")["TableNames"]
    assert browser.post("/console/tables/made/delete", {"confirm": "made"}).status == 200
    assert "made" not in engine.call("ListTables")["TableNames"]


def test_temporary_credentials_need_their_token_and_end_the_session_when_they_expire(
        secured: Server, clock: Clock) -> None:
    browser = Browser(secured.port)
    missing = log_in(browser, "ASIALIVE", "live-secret")
    assert missing.status == 400 and missing.error().startswith("UnrecognizedClientException")  # type: ignore[union-attr]
    expired = log_in(browser, "ASIAOLD", "old-secret", "old-token")
    assert expired.status == 400 and expired.error().startswith("ExpiredTokenException")  # type: ignore[union-attr]
    browser = logged_in(secured, "ASIALIVE", "live-secret", "live-token")
    assert "user/temp" in browser.get("/console/").text
    clock.now = 4102444800.0  # 2100-01-01T00:00:00Z
    assert browser.get("/console/").status == 303


@pytest.mark.parametrize(("form", "code"), [
    ({"access_key_id": "AKADMIN", "secret_access_key": "wrong"}, "InvalidSignatureException"),
    ({"access_key_id": "AKNOBODY", "secret_access_key": "admin-secret"}, "UnrecognizedClientException"),
    ({"access_key_id": "AKADMIN", "secret_access_key": "admin-secret", "session_token": "forged"},
     "UnrecognizedClientException"),
    ({"access_key_id": "AKADMIN", "secret_access_key": "admin-secret\u00e9"}, "InvalidSignatureException"),
    ({"access_key_id": "AKADMIN", "secret_access_key": "admin-secret\x00"}, "ValidationException"),  # HMAC pads
    ({"access_key_id": "", "secret_access_key": "admin-secret"}, "ValidationException"),
    ({"access_key_id": "AKADMIN", "secret_access_key": ""}, "ValidationException"),
    ({"access_key_id": "AKADMIN"}, "ValidationException"),
    ({}, "ValidationException"),
    ({"access_key_id": "A" * 10_000, "secret_access_key": "s"}, "ValidationException"),
    ({"access_key_id": "AKADMIN", "secret_access_key": "s" * 100_000}, "ValidationException"),
    ({"access_key_id": "AKADMIN/20240101/us-east-1/dynamodb/aws4_request", "secret_access_key": "s"},
     "ValidationException"),
    ({"access_key_id": "AKADMIN\r\nX-Amz-Target: x", "secret_access_key": "admin-secret"}, "ValidationException"),
    ({"access_key_id": "<script>alert(1)</script>", "secret_access_key": "s"}, "ValidationException"),
    ({"access_key_id": "AKADMIN", "secret_access_key": "admin-secret", "session_token": "a\nb"},
     "ValidationException"),
    ({"access_key_id": "' OR 1=1 --", "secret_access_key": "' OR 1=1 --"}, "ValidationException"),
])
def test_hostile_logins_are_refused_with_the_reason_next_to_the_form(secured: Server, form: dict[str, str],
                                                                     code: str) -> None:
    browser = Browser(secured.port)
    browser.get("/console/login")
    page = browser.request("POST", "/console/login", urlencode({"csrf": browser.token, **form}).encode(),
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert page.status == 400 and page.error() is not None and page.error().startswith(code), page.error()
    assert session_cookie(browser) == "" and "<script>alert" not in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/console/static/console.js" defer>']
    secret = form.get("secret_access_key", "")
    assert len(secret) < 8 or secret not in page.text  # the secret is never echoed back
    assert browser.get("/console/").status == 303


def test_login_needs_its_csrf_token_and_never_redirects_off_the_console(secured: Server) -> None:
    browser = Browser(secured.port)
    browser.get("/console/login")
    form = {"access_key_id": "AKADMIN", "secret_access_key": "admin-secret"}
    assert browser.post("/console/login", form, csrf=False, follow=False).status == 403
    assert Browser(secured.port, token=browser.token).post("/console/login", form, follow=False).status == 403
    for target in ("//evil.example/", "https://evil.example/", "/console/\\evil", "/console/login",
                   "javascript:alert(1)", "/console/\r\nSet-Cookie: x=1", "/other"):
        answer = log_in(Browser(secured.port), "AKADMIN", "admin-secret", next=target)
        assert answer.status == 303 and answer.headers["location"] == "/console/", target
    answer = log_in(Browser(secured.port), "AKADMIN", "admin-secret", next="/console/tables/posts/items?mode=scan")
    assert answer.headers["location"] == "/console/tables/posts/items?mode=scan"


def test_the_session_cookie_holds_no_secret_and_scripts_cannot_read_it(secured: Server) -> None:
    browser = Browser(secured.port)
    answer = log_in(browser, "AKADMIN", "admin-secret")
    cookie = next(v for k, v in answer.headers.items() if k == "set-cookie")
    assert cookie.startswith(f"dynamokit_session_{secured.port}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console/" in cookie and "Max-Age=" in cookie
    page = browser.get("/console/")
    for text in (cookie, page.text, json.dumps(browser.cookies)):
        assert "admin-secret" not in text and "AKADMIN" not in text.replace('value="AKADMIN"', "")


def test_state_changes_need_the_sessions_own_csrf_token(engine: Engine, secured: Server) -> None:
    admin = logged_in(secured, "AKADMIN", "admin-secret")
    reader = logged_in(secured, "AKREADER", "reader-secret")
    form = {"confirm": "posts"}
    assert admin.post("/console/tables/posts/delete", form, csrf=False).status == 403
    assert admin.post("/console/tables/posts/delete", {**form, "csrf": reader.token}, csrf=False).status == 403
    from dynamokit.server._console.security import TOKEN  # the anonymous pages' token is not the session's
    assert admin.post("/console/tables/posts/delete", {**form, "csrf": TOKEN}, csrf=False).status == 403
    page = admin.request("POST", "/console/tables/posts/delete", urlencode({**form, "csrf": admin.token}).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"})
    assert page.status == 403
    assert "posts" in engine.call("ListTables")["TableNames"]
    assert admin.post("/console/tables/posts/delete", form, follow=False).status == 303


def test_logout_ends_the_session_even_for_a_copied_cookie(secured: Server) -> None:
    browser = logged_in(secured, "AKADMIN", "admin-secret")
    copied = dict(browser.cookies)
    answer = browser.post("/console/logout", {}, follow=False)
    assert answer.status == 303 and answer.headers["location"] == "/console/login"
    assert "Max-Age=0" in answer.headers["set-cookie"]
    assert Browser(secured.port, cookies=copied).get("/console/").status == 303


def test_sessions_expire_when_idle_and_after_a_fixed_time(secured: Server, clock: Clock) -> None:
    browser = logged_in(secured, "AKADMIN", "admin-secret")
    clock.now += sessions.IDLE - 1
    assert browser.get("/console/").status == 200  # a request restarts the idle time
    clock.now += sessions.IDLE - 1
    assert browser.get("/console/").status == 200
    clock.now += sessions.IDLE + 1
    assert browser.get("/console/").status == 303
    browser = logged_in(secured, "AKADMIN", "admin-secret")
    for _ in range(int(sessions.ABSOLUTE // (sessions.IDLE - 1)) + 1):
        clock.now += sessions.IDLE - 1
        browser.get("/console/")
    assert browser.get("/console/").status == 303  # active all along, still ended


def test_a_session_is_good_only_on_the_server_that_opened_it(engine: Engine, secured: Server, tmp_path: Path) -> None:
    browser = logged_in(secured, "AKADMIN", "admin-secret")
    backend = AuthorizingBackend(engine, Authenticator.from_file(str(tmp_path / "credentials.json"), engine.region))
    with Server(backend) as other:
        stolen = {f"dynamokit_session_{other.port}": session_cookie(browser)}
        assert Browser(other.port, cookies=stolen).get("/console/").status == 303


def test_failed_logins_are_throttled_per_key_and_in_total(secured: Server, clock: Clock) -> None:
    browser = Browser(secured.port)
    for _ in range(sessions.MAX_FAILURES_PER_KEY):
        assert log_in(browser, "AKADMIN", "guess").error().startswith("InvalidSignatureException")  # type: ignore[union-attr]
    refused = log_in(browser, "AKADMIN", "admin-secret")  # even the right secret, for now
    assert refused.status == 429 and refused.error().startswith("ThrottlingException")  # type: ignore[union-attr]
    assert log_in(browser, "AKREADER", "reader-secret").status == 303  # another key is not held up
    clock.now += sessions.FAILURE_WINDOW
    assert log_in(browser, "AKADMIN", "admin-secret").status == 303
    for n in range(sessions.MAX_FAILURES):
        log_in(browser, f"AKGUESS{n}", "guess")
    assert log_in(browser, "AKREADER", "reader-secret").status == 429


def test_the_login_page_escapes_what_it_echoes(secured: Server) -> None:
    browser = Browser(secured.port)
    page = browser.get("/console/login?next=" + quote('"><script>alert(1)</script>'))
    assert page.status == 200 and "<script>alert" not in page.text and 'name="next" value="/console/"' in page.text


def test_live_usage_shows_only_the_principals_tables(engine: Engine, secured: Server) -> None:
    engine.call("Scan", {"TableName": "secret"})
    reader = logged_in(secured, "AKREADER", "reader-secret")
    page = reader.get("/console/usage")
    assert page.status == 200
    assert [row[0] for row in cells(page.text, "usage-tables")] == ["posts", "posts · by_author"]
    assert 'id="usage-operations"' not in page.text  # engine-wide: not one principal's to see
    admin = logged_in(secured, "AKADMIN", "admin-secret")
    names = [row[0] for row in cells(admin.get("/console/usage").text, "usage-tables")]
    assert "secret" in names and "posts" in names
