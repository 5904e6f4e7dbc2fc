"""The console's request checks: a per-server CSRF secret (cookie + form field or header, SameSite=Strict),
Host and Origin checks against DNS rebinding and cross-site posts, and the response headers of every page."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from urllib.parse import urlsplit

CONSOLE_SECRET = "_DYNAMOKIT_CONSOLE_SECRET"  # set by a `serve --workers` supervisor: one secret for its workers
# Every page carries it, every state change must echo it: one per server (per process, or shared by the workers).
TOKEN = os.environ.get(CONSOLE_SECRET) or secrets.token_urlsafe(32)

HEADERS = [
    ("Content-Security-Policy", ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),  # "no-referrer" would make browsers send `Origin: null`
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
]


def cookie_name(headers: dict[str, str], kind: str = "csrf") -> str:
    """Cookies ignore ports: each server on this host (one per port) keeps its own cookie."""
    port = urlsplit("//" + headers.get("host", "")).port if _parses(headers.get("host", "")) else None
    return f"dynamokit_{kind}_{port or 80}"


def set_cookie(headers: dict[str, str], kind: str = "csrf", value: str = TOKEN, max_age: int | None = None
               ) -> tuple[str, str]:
    """A console cookie, out of reach of scripts (HttpOnly) and of other sites' requests (SameSite=Strict)."""
    age = "" if max_age is None else f"; Max-Age={max_age}"
    return ("Set-Cookie", f"{cookie_name(headers, kind)}={value}; Path=/console/; HttpOnly; SameSite=Strict{age}")


def host_allowed(headers: dict[str, str]) -> bool:
    """The Host is an IP address or `localhost`: a page of another site re-pointed at this address by DNS
    (rebinding) names its own host, and gets nothing from the console."""
    host = headers.get("host", "")
    if not _parses(host):
        return False
    name = urlsplit("//" + host).hostname or ""
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _parses(host: str) -> bool:
    try:
        _ = urlsplit("//" + host).port  # raises for a port that is not a number
    except ValueError:
        return False
    return bool(host)


def csrf_ok(headers: dict[str, str], form_token: str | None, session_token: str | None = None) -> bool:
    """A state-changing request: same-origin (if the browser says), and the field/header holds the token of
    the session its cookie found, or (no session) this process's secret, which the cookie must hold too."""
    origin = headers.get("origin")
    if origin not in (None, "null") and urlsplit(origin).netloc != headers.get("host"):
        return False
    sent = form_token if form_token is not None else headers.get("x-csrf-token", "")
    if session_token is not None:
        return _same(sent, session_token)
    return _same(sent, TOKEN) and _same(cookie(headers, cookie_name(headers)), TOKEN)


def cookie(headers: dict[str, str], name: str) -> str:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
