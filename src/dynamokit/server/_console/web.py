"""The console's request and response shapes, and the small helpers every page uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import orjson

from .markup import EMPTY, Safe, csrf_field, error_box, html, page
from .security import HEADERS, TOKEN, set_cookie

log = logging.getLogger("dynamokit.console")

Response = tuple[int, list[tuple[str, str]], bytes]


class Backend(Protocol):
    """What the console needs: DynamoDB's operations (and the Streams API's) in wire shape."""

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class Request:
    """One console request: path below /console/, query and form fields (last value of each wins)."""

    backend: Backend
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    token: str = TOKEN  # the CSRF token its forms carry: the session's under --auth, else this process's
    user: str = ""  # under --auth: the ARN of the principal logged in

    @classmethod
    def parse(cls, backend: Backend, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        parts = urlsplit(target)
        form: dict[str, str] = {}
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = _fields(body.decode("utf-8", "replace"))
        return cls(backend, method, parts.path, headers, _fields(parts.query), form, body)

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return self.backend.call(operation, request)

    def endpoint(self) -> str | None:
        """The DynamoDB endpoint code snippets name: the remote one, or this server (None: AWS's own)."""
        if hasattr(self.backend, "endpoint_url"):
            endpoint: str | None = self.backend.endpoint_url
            return endpoint
        return "http://" + self.headers.get("host", "127.0.0.1:8000")

    def region(self) -> str:
        backend = getattr(self.backend, "engine", self.backend)  # a principal's view of the engine: the engine's
        return str(getattr(backend, "region", None) or "us-east-1")


def _fields(text: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def html_response(request: Request, title: str, body: Safe, status: int = 200, nav: Safe = EMPTY) -> Response:
    from .design import APP

    if request.user:
        nav = html('{}<form method="post" action="/console/logout" class="right" id="logout">{}<span>{}</span> '
                   '<button type="submit">Log out</button></form>', nav, csrf_field(request.token), request.user)
    nav = Safe(nav + '<a class="right" href="/console/usage">usage</a>')
    if APP is not None:
        nav = Safe(nav + '<a class="right" href="/console/model">model</a>')
    data = page(title, body, request.token, nav).encode()
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data))), *HEADERS,
               set_cookie(request.headers)]
    return status, headers, data


def json_response(payload: Any, status: int = 200) -> Response:
    data = orjson.dumps(payload, default=str)
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *HEADERS], data


def redirect(location: str) -> Response:
    """303 See Other after a change: reloading the next page repeats nothing."""
    return 303, [("Location", location), ("Content-Length", "0"), *HEADERS], b""


def message_page(request: Request, status: int, title: str, text: str) -> Response:
    return html_response(request, title, html("<h1>{}</h1>{}", title, error_box(str(status), text)), status)


def csrf_refused(request: Request) -> Response:
    return message_page(request, 403, "Request refused", (
        "The request's CSRF token is missing or stale (the server restarted?). Reload the page and try again."))


def breadcrumbs(*links: tuple[str, str]) -> Safe:
    """The header's trail: (href, label) pairs."""
    return Safe("".join(html(' <span>/</span> <a href="{}">{}</a>', href, label) for href, label in links))


def status_of(error: Any) -> int:
    """The HTTP status of a page that failed with this DynamoDBError: 404 for a missing table, else 400."""
    return 404 if error.code == "ResourceNotFoundException" else 400
