"""The web console served under /console/ by `dynamokit serve` (and `dynamokit console`).

Server-rendered HTML plus one small vanilla-JS file, every asset shipped in this package. `answer` is the one
entry point: the HTTP server hands it every request whose path starts with /console.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from typing import Any
from urllib.parse import unquote

from ..._engine.errors import DatabaseLocked, EngineClosed
from ..._errors import DynamoDBError
from . import api, bulk, design, explorer, export, item, login, streams, tables, usage
from .markup import error_box
from .security import HEADERS, csrf_ok, host_allowed
from .web import Backend, Request, Response, csrf_refused, html_response, message_page

log = logging.getLogger("dynamokit.console")

_TABLE = re.compile(r"/console/tables/([^/]+)(/[a-z/]*)?")
_STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
_GET = {"": tables.describe_page, "/items": explorer.explore_page, "/item": item.item_page,
        "/delete": tables.delete_form, "/stream": streams.stream_page, "/items/export": export.export}
_POST = {"/delete": tables.delete, "/item": item.put, "/item/update": item.update, "/item/delete": item.delete,
         "/item/convert": item.convert, "/items/delete": bulk.delete_selected, "/stream": streams.enable}


def answer(backend: Backend, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
    """The console's answer to one HTTP request below /console."""
    if not host_allowed(headers):
        return _plain(403, "The console answers only requests addressed to an IP address or localhost.\n")
    if method not in ("GET", "HEAD", "POST"):
        return _plain(405, "Method Not Allowed\n", [("Allow", "GET, HEAD, POST")])
    request = Request.parse(backend, method, target, headers, body)
    try:
        status, fields, data = _checked(backend, request)
    except DatabaseLocked:
        raise  # nothing was written: the server answers the request again from a thread that may wait
    except EngineClosed:
        status, fields, data = message_page(request, 503, "Engine closed", "The engine behind this console is closed.")
    except DynamoDBError as error:
        status, fields, data = html_response(request, "Error", error_box(error.code, error.message), 400)
    except Exception:
        log.exception("console error on %s %s", method, target)
        status, fields, data = message_page(request, 500, "Internal error",
                                            "The console failed on this request; the server's log has the details.")
    return status, fields, b"" if method == "HEAD" else data


def _checked(backend: Backend, request: Request) -> Response:
    """Under --auth, the login gate (session, its CSRF token); else this process's CSRF check; then the page."""
    if _authorizing(backend):
        gated = login.gate(backend, request)
        if gated is not None:
            return gated
    elif request.method == "POST" and not csrf_ok(request.headers, request.form.get("csrf") if request.form else None):
        return csrf_refused(request)
    return _route(request)


def _route(request: Request) -> Response:
    path, post = request.path, request.method == "POST"
    if path in ("/console", "/console/"):
        return tables.list_page(request) if not post else _plain(405, "Method Not Allowed\n")
    if path.startswith("/console/static/") and not post:
        return _static(path.removeprefix("/console/static/"))
    if path == "/console/model":
        return design.run(request) if post else design.design_page(request)
    if path == "/console/usage" and not post:
        return usage.usage_page(request)
    if path == "/console/api" and post:
        return api.api(request)
    if path == "/console/tables/new":
        return tables.create(request) if post else tables.create_form(request)
    found = _TABLE.fullmatch(path)
    if found:
        name, rest = unquote(found.group(1)), (found.group(2) or "").rstrip("/")
        handler: Any = (_POST if post else _GET).get(rest)
        if handler is not None:
            return handler(request, name)  # type: ignore[no-any-return]
    return message_page(request, 404, "Not found", f"The console has no page {path}")


def _static(name: str) -> Response:
    kind = _STATIC.get(name)
    if kind is None:
        return _plain(404, "Not Found\n")
    data = resources.files(__package__).joinpath("static", name).read_bytes()
    return 200, [("Content-Type", kind), ("Content-Length", str(len(data))), ("Cache-Control", "no-cache"),
                 *[h for h in HEADERS if h[0] != "Cache-Control"]], data


def _plain(status: int, text: str, extra: list[tuple[str, str]] | None = None) -> Response:
    data = text.encode()
    return status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data))),
                    *HEADERS, *(extra or [])], data


def _authorizing(backend: Backend) -> bool:
    from .._auth import AuthorizingBackend
    return isinstance(backend, AuthorizingBackend)


configure = design.configure

__all__ = ["answer", "configure"]
