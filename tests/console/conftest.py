"""A real engine behind a real HTTP server, and a small cookie-keeping HTTP client that posts forms."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest

from dynamokit._engine import Engine
from dynamokit.server import Server


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    text: str

    def token(self) -> str:
        found = re.search(r'<meta name="csrf-token" content="([^"]+)">', self.text)
        assert found, self.text[:500]
        return unescape(found.group(1))

    def error(self) -> str | None:
        found = re.search(r'<div class="error" role="alert">(.*?)</div>', self.text, re.DOTALL)
        return unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else None


@dataclass
class Browser:
    """Keeps the console's cookie like a browser and sends forms with the page's CSRF token."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Page:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        fields = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            fields["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=fields)
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        page = Page(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        if re.search(r"<meta name=\"csrf-token\"", text):
            self.token = page.token()
        return page

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, Any], *, follow: bool = True, csrf: bool = True) -> Page:
        if not self.token:
            self.get("/console/")
        data = {**({"csrf": self.token} if csrf else {}), **form}
        page = self.request("POST", path, urlencode(data).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})
        if follow and page.status == 303:
            return self.get(page.headers["location"])
        return page

    def api_get(self, path: str) -> tuple[int, Any]:
        page = self.get(path)
        return page.status, json.loads(page.text)

    def api(self, operation: str, request: dict[str, Any]) -> tuple[int, Any]:
        if not self.token:
            self.get("/console/")
        page = self.request("POST", "/console/api", json.dumps({"operation": operation, "request": request}).encode(),
                            {"Content-Type": "application/json", "X-CSRF-Token": self.token})
        return page.status, json.loads(page.text)


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine() as engine:
        yield engine


@pytest.fixture
def server(engine: Engine) -> Iterator[Server]:
    with Server(engine) as server:
        yield server


@pytest.fixture
def browser(server: Server) -> Browser:
    return Browser(server.port)


def create_posts(engine: Engine, stream: bool = False) -> None:
    """`posts`: pk (S) + sk (S), a GSI `by_author` (author, created N)."""
    request: dict[str, Any] = {
        "TableName": "posts", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in
                                 (("pk", "S"), ("sk", "S"), ("author", "S"), ("created", "N"))],
        "GlobalSecondaryIndexes": [{"IndexName": "by_author", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "author", "KeyType": "HASH"}, {"AttributeName": "created", "KeyType": "RANGE"}]}]}
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    engine.call("CreateTable", request)
