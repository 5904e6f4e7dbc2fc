"""The console under `dynamokit serve --auth`: a login page, and the gate every other request passes.

Login signs a request with the keys typed in (botocore's SigV4 signer, as any SDK signs) and hands it to the
endpoint's own `bind`, which verifies it exactly as it verifies an API request: the signature (compared in
constant time), the session token, the expiry. What `bind` returns, the backend of that principal, is all
the session keeps; every console request then goes through its `call`, which authorizes each operation with
the principal's IAM policies as the HTTP API does. Failed logins are throttled (see sessions.py).
"""

from __future__ import annotations

import re
from typing import Any

from ..._errors import DynamoDBError
from .markup import EMPTY, Safe, csrf_field, error_box, html, url
from .security import cookie, cookie_name, csrf_ok, set_cookie
from .sessions import ABSOLUTE, SESSIONS
from .web import Request, Response, csrf_refused, html_response, json_response, message_page, redirect

_KEY_ID = re.compile(r"[A-Za-z0-9_+=,.@-]{1,128}", re.ASCII)
_TOKEN = re.compile(r"[\x21-\x7e]{0,8192}", re.ASCII)
MAX_SECRET = 1024
_PROBE_TARGET = "DynamoDB_20120810.ListTables"  # signed, verified, never run: login authorizes nothing


def gate(issuer: Any, request: Request) -> Response | None:
    """The answer to a request that needs no session or has none (the login page, a redirect to it, a
    refusal), or None after binding `request` to its session (backend, CSRF token, user)."""
    if request.path.startswith("/console/static/") and request.method != "POST":
        return None
    if request.path == "/console/login":
        if request.method == "POST":
            if not csrf_ok(request.headers, request.form.get("csrf")):
                return csrf_refused(request)
            return _login(issuer, request)
        return login_page(request)
    ident = cookie(request.headers, cookie_name(request.headers, "session"))
    session = SESSIONS.find(issuer, ident) if ident else None
    if session is None:
        if request.path == "/console/api":
            return json_response({"code": "MissingAuthenticationTokenException",
                                  "message": "Not logged in (or the session ended): reload the page"}, 401)
        if request.method == "POST":
            return message_page(request, 401, "Logged out", "Your session ended: log in again.")
        return redirect(url("/console/login", next=url(request.path, **request.query)))
    request.backend, request.token, request.user = session.backend, session.token, session.user
    if request.method == "POST" and not csrf_ok(request.headers, request.form.get("csrf")
                                                if request.form else None, session.token):
        return csrf_refused(request)
    if request.path == "/console/logout" and request.method == "POST":
        SESSIONS.close(ident)
        return _with(redirect("/console/login"), set_cookie(request.headers, "session", "", 0))
    return None


def login_page(request: Request, error: Safe = EMPTY, status: int = 200) -> Response:
    form = request.form
    body = html(
        '<h1>Log in</h1><p class="muted">This endpoint checks signatures (<code>--auth</code>): log in with an '
        'access key of its credentials file. The console then does what that principal\'s policies allow.</p>'
        '{error}<form method="post" action="/console/login" class="stack" id="login">{csrf}'
        '<input type="hidden" name="next" value="{next}">'
        '<label>Access key id <input name="access_key_id" required autocomplete="username" value="{key}"></label>'
        '<label>Secret access key <input name="secret_access_key" type="password" required '
        'autocomplete="current-password"></label>'
        '<label>Session token <span class="muted">(temporary credentials only)</span> '
        '<input name="session_token" type="password" autocomplete="off"></label>'
        '<button type="submit">Log in</button></form>',
        error=error, csrf=csrf_field(request.token), next=_next(form.get("next") or request.query.get("next")),
        key=form.get("access_key_id", "")[:128])
    return html_response(request, "Log in", body, status)


def _login(issuer: Any, request: Request) -> Response:
    form = request.form
    key_id, secret = form.get("access_key_id", "").strip(), form.get("secret_access_key", "")
    token = form.get("session_token", "").strip()
    # printable secrets only: HMAC pads its key with NULs, so a secret and itself + "\0" would both verify
    if not _KEY_ID.fullmatch(key_id) or not 0 < len(secret) <= MAX_SECRET or not secret.isprintable() or \
            not _TOKEN.fullmatch(token):
        return login_page(request, error_box("ValidationException", (
            "An access key id is 1 to 128 letters, digits or _+=,.@-; a secret 1 to 1024 printable characters; "
            "a session token printable ASCII.")), 400)
    if SESSIONS.throttled(key_id):
        return login_page(request, error_box("ThrottlingException", (
            "Too many failed logins: wait a few minutes before trying again.")), 429)
    try:
        backend = issuer.bind(*_signed(request.headers.get("host", ""), issuer.authenticator.region, key_id, secret, token))
    except DynamoDBError as error:
        SESSIONS.failed(key_id)
        return login_page(request, error_box(error.code, error.message), 400)
    SESSIONS.succeeded(key_id)
    credential = issuer.authenticator.credentials[key_id]
    ident, _ = SESSIONS.open(issuer, backend, backend.principal.arn, credential.expires)
    return _with(redirect(_next(form.get("next"))), set_cookie(request.headers, "session", ident, int(ABSOLUTE)))


def _signed(host: str, region: str, key_id: str, secret: str, token: str) -> tuple[str, str, dict[str, str], bytes]:
    """A request signed with these keys as an SDK signs it: (method, target, lower-cased headers, body)."""
    from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    body = b"{}"
    probe = AWSRequest(method="POST", url="http://console.invalid/", data=body, headers={
        "Host": host, "X-Amz-Target": _PROBE_TARGET, "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials(key_id, secret, token or None), "dynamodb", region).add_auth(probe)
    return "POST", "/", {k.lower(): v for k, v in probe.headers.items()}, body


def _next(target: str | None) -> str:
    """Where to go after login: a console page, never another site."""
    if target and target.startswith("/console/") and not target.startswith("/console/login") and \
            "\\" not in target and not any(c.isspace() or ord(c) < 32 for c in target):
        return target
    return "/console/"


def _with(response: Response, header: tuple[str, str]) -> Response:
    status, headers, data = response
    return status, [*headers, header], data
