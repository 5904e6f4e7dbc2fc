"""AWS Signature Version 4 verification and the credentials of the HTTP endpoint.

Credentials file (`dynamokit serve --auth FILE`), JSON::

    {"principals": [
        {"name": "alice",                        # IAM user name: ${aws:username}, arn:aws:iam::ACCOUNT:user/alice
         "access_key_id": "AKIAALICE",           # unique across principals
         "secret_access_key": "...",
         "tags": {"tenant": "t1"},               # optional: ${aws:PrincipalTag/tenant}
         "policies": [{"Version": "2012-10-17", "Statement": [...]}],   # IAM identity policies (objects or JSON text)
         "temporary_credentials": [              # optional: session credentials, as STS issues them
            {"AccessKeyId": "ASIA...", "SecretAccessKey": "...", "SessionToken": "...",
             "Expiration": "2026-12-02T18:00:00Z"}]}
    ]}

A principal has long-term keys (`access_key_id`, `secret_access_key`), temporary credentials, or both. A
request signed with temporary credentials must carry their `X-Amz-Security-Token` before their `Expiration`
(else UnrecognizedClientException / ExpiredTokenException); a request signed with long-term keys must carry
none, as in AWS.

A principal without policies may do nothing (IAM's default deny). Both signature forms are verified: the
`Authorization` header and the presigned query string (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
`X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`). The payload hash is always computed from the body
as received, the timestamp must be within 15 minutes of the server clock, the credential scope must name
this endpoint's region and the `dynamodb` service, and the signed headers must include `host` and
`x-amz-target` (the operation: a signature can never be replayed as another operation). Failures answer
DynamoDB's codes, without detail that could help guess a secret.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import posixpath
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from .._engine.errors import DynamoDBError
from .._protocol import Backend
from ._access import PolicyError, Principal, authorize

if TYPE_CHECKING:
    from .._engine import Engine

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = 15 * 60.0
MAX_EXPIRES = 7 * 24 * 3600
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_BASIC_DATE = re.compile(r"\d{8}T\d{6}Z", re.ASCII)
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_UNRESERVED = "-_.~"
_BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. Check your "
                  "AWS Secret Access Key and signing method. Consult the service documentation for details.")


def _missing_token() -> DynamoDBError:
    return DynamoDBError("MissingAuthenticationTokenException", "Request is missing Authentication Token")


def _incomplete(message: str) -> DynamoDBError:
    return DynamoDBError("IncompleteSignatureException", message)


def _invalid(message: str = _BAD_SIGNATURE) -> DynamoDBError:
    return DynamoDBError("InvalidSignatureException", message)


# -- credentials --------------------------------------------------------------------------------------------

class CredentialsError(ValueError):
    """A credentials file that cannot be read or is not of the documented shape."""


@dataclass(frozen=True)
class Credential:
    """One access key: its secret and the principal it authenticates; temporary credentials also have a
    session token and an expiry (epoch seconds)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    principal: Principal
    session_token: str | None = field(default=None, repr=False)
    expires: float | None = None


def parse_credentials(data: Any, account_id: str = "123456789012") -> dict[str, Credential]:
    """The credentials of a parsed credentials file, by access key id; CredentialsError when malformed."""
    principals = data.get("principals") if isinstance(data, dict) else None
    if not isinstance(principals, list):
        raise CredentialsError('credentials file must be a JSON object with a "principals" list')
    found: dict[str, Credential] = {}
    names: set[str] = set()
    for n, entry in enumerate(principals):
        where = f"principals[{n}]"
        if not isinstance(entry, dict):
            raise CredentialsError(f"{where} must be a JSON object")
        unknown = set(entry) - {"name", "access_key_id", "secret_access_key", "tags", "policies",
                                "temporary_credentials"}
        if unknown:
            raise CredentialsError(f"{where} has unknown field(s): {', '.join(sorted(unknown))}")
        temporary = entry.get("temporary_credentials", [])
        if not isinstance(temporary, list):
            raise CredentialsError(f"{where}.temporary_credentials must be a list of STS credentials")
        required = ("name",) if temporary and "access_key_id" not in entry else (
            "name", "access_key_id", "secret_access_key")
        for label in required:
            if not isinstance(entry.get(label), str) or not entry[label]:
                raise CredentialsError(f"{where}.{label} must be a non-empty string")
        name = str(entry["name"])
        tags, policies = entry.get("tags", {}), entry.get("policies", [])
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise CredentialsError(f"{where}.tags must map strings to strings")
        if not isinstance(policies, list):
            raise CredentialsError(f"{where}.policies must be a list of IAM policy documents")
        if name in names:
            raise CredentialsError(f"{where}: duplicate name")
        try:
            principal = Principal.with_policies(name, account_id, tags, policies)
        except PolicyError as error:
            raise CredentialsError(f"{where} ({name}): {error}") from None
        names.add(name)
        keys = [Credential(str(entry["access_key_id"]), str(entry["secret_access_key"]), principal)
                ] if "access_key_id" in entry else []
        keys += [_temporary(f"{where}.temporary_credentials[{i}]", sts, principal) for i, sts in enumerate(temporary)]
        for credential in keys:
            if credential.access_key_id in found:
                raise CredentialsError(f"{where}: duplicate access key id {credential.access_key_id}")
            found[credential.access_key_id] = credential
    return found


def _temporary(where: str, sts: Any, principal: Principal) -> Credential:
    """One set of temporary credentials in STS's shape (AccessKeyId, SecretAccessKey, SessionToken,
    Expiration as ISO 8601)."""
    if not isinstance(sts, dict) or set(sts) != {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}:
        raise CredentialsError(f"{where} must be an object with exactly AccessKeyId, SecretAccessKey, "
                               "SessionToken and Expiration")
    if not all(isinstance(value, str) and value for value in sts.values()):
        raise CredentialsError(f"{where}: every field must be a non-empty string")
    try:
        expires = datetime.fromisoformat(sts["Expiration"])  # "...Z" too (Python 3.11+)
    except ValueError:
        raise CredentialsError(f"{where}.Expiration must be an ISO 8601 time, got {sts['Expiration']!r}") from None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return Credential(sts["AccessKeyId"], sts["SecretAccessKey"], principal, sts["SessionToken"],
                      expires.timestamp())


def load_credentials(path: str | Path, account_id: str = "123456789012") -> dict[str, Credential]:
    """Read and validate a credentials file (see the module docstring)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CredentialsError(f"cannot read credentials file {str(path)!r}: {error}") from None
    return parse_credentials(data, account_id)


# -- SigV4 --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Signed:
    """The signature parameters of one request, from its Authorization header or its query string."""

    access_key_id: str
    scope: tuple[str, str, str, str]  # date, region, service, terminator
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    expires: int | None  # presigned form only
    query: list[tuple[str, str]]  # the query parameters that are signed


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def _from_header(authorization: str, headers: Mapping[str, str], query: list[tuple[str, str]]) -> _Signed:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, value = part.strip().partition("=")
        if equals:
            fields[name] = value
    missing = [f"Authorization header requires '{name}' parameter."
               for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    timestamp = headers.get("x-amz-date") or _http_date(headers.get("date"))
    if not timestamp:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        raise _incomplete(" ".join(missing))
    key, scope = _credential(fields["Credential"])
    return _Signed(key, scope, tuple(fields["SignedHeaders"].split(";")), fields["Signature"], timestamp, None,
                   query)


def _from_query(query: list[tuple[str, str]]) -> _Signed:
    params = dict(query)
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{params.get('X-Amz-Algorithm', '')}'")
    missing = [f"AWS query-string parameters must include '{name}'."
               for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                            "X-Amz-Signature") if not params.get(name)]
    if missing:
        raise _incomplete(" ".join(missing) + " Re-examine the query-string parameters.")
    expires = params["X-Amz-Expires"]
    if not expires.isdigit() or not 0 < int(expires) <= MAX_EXPIRES:
        raise _incomplete(f"X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES}")
    key, scope = _credential(params["X-Amz-Credential"])
    signed_query = [(k, v) for k, v in query if k != "X-Amz-Signature"]
    return _Signed(key, scope, tuple(params["X-Amz-SignedHeaders"].split(";")), params["X-Amz-Signature"],
                   params["X-Amz-Date"], int(expires), signed_query)


def _credential(text: str) -> tuple[str, tuple[str, str, str, str]]:
    parts = text.split("/")
    if len(parts) != 5 or not all(parts):
        raise _incomplete(f"Credential must have exactly 5 slash-delimited elements, e.g. "
                          f"keyid/date/region/service/term, got '{'/'.join(parts[1:])}'")
    return parts[0], (parts[1], parts[2], parts[3], parts[4])


def _http_date(text: str | None) -> str:
    """An RFC 7231 Date header as an ISO 8601 basic timestamp ("" when absent or unreadable)."""
    if not text:
        return ""
    try:
        return datetime.strptime(text, "%a, %d %b %Y %H:%M:%S GMT").strftime(_AMZ_DATE)
    except ValueError:
        return ""


def _canonical_uri(path: str) -> str:
    normalized = posixpath.normpath(path) if path not in ("", "/") else "/"
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return quote(normalized, safe="/~")


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe=_UNRESERVED), quote(v, safe=_UNRESERVED)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(_AMZ_DATE)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min." if seconds % 60 == 0 else f"{int(seconds)} sec."


class Authenticator:
    """Verifies SigV4 signatures against a set of credentials; `authenticate` returns the signer's Principal."""

    def __init__(self, credentials: Mapping[str, Credential], region: str, *, service: str = "dynamodb",
                 clock: Callable[[], float] = time.time, max_skew: float = MAX_SKEW) -> None:
        self.credentials = dict(credentials)
        self.region = region
        self.service = service
        self.clock = clock
        self.max_skew = max_skew
        self._keys: dict[tuple[str, str], bytes] = {}  # (access key, date) -> signing key

    @classmethod
    def from_file(cls, path: str | Path, region: str, account_id: str = "123456789012",
                  **options: Any) -> Authenticator:
        return cls(load_credentials(path, account_id), region, **options)

    def authenticate(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Principal:
        """The principal that signed this request, or DynamoDBError as DynamoDB answers a bad signature.

        `target` is the HTTP request-target (path with its query string, or an absolute URL); `headers`
        have lower-cased names; `body` is the payload exactly as received (before any decompression).
        """
        split = urlsplit(target) if not target.startswith("/") else None
        path, _, query_text = (split.path, "", split.query) if split else target.partition("?")
        query = _query_pairs(query_text)
        authorization = headers.get("authorization")
        if authorization:
            signed = _from_header(authorization, headers, query)
        elif any(name == "X-Amz-Algorithm" for name, _ in query):
            signed = _from_query(query)
        else:
            raise _missing_token()
        credential = self._check_scope(signed)
        self._check_time(signed)
        self._check_token(credential, headers.get("x-amz-security-token") or dict(query).get("X-Amz-Security-Token"))
        if _SIGNATURE.fullmatch(signed.signature) is None:
            raise _invalid()
        canonical = "\n".join((
            method.upper(),
            _canonical_uri(path or "/"),
            _canonical_query(signed.query),
            "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed.signed_headers),
            ";".join(signed.signed_headers),
            hashlib.sha256(body).hexdigest(),
        ))
        to_sign = "\n".join((ALGORITHM, signed.timestamp, "/".join(signed.scope),
                             hashlib.sha256(canonical.encode()).hexdigest()))
        expected = hmac.new(self._signing_key(credential, signed.scope[0]), to_sign.encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signed.signature.lower()):
            raise _invalid()
        return credential.principal

    def _check_token(self, credential: Credential, token: str | None) -> None:
        """Temporary credentials need their own session token, unexpired; long-term keys take none."""
        if token != credential.session_token:
            raise DynamoDBError("UnrecognizedClientException", "The security token included in the request is invalid.")
        if credential.expires is not None and self.clock() >= credential.expires:
            raise DynamoDBError("ExpiredTokenException", "The security token included in the request is expired")

    def _check_scope(self, signed: _Signed) -> Credential:
        missing = [header for header in ("host", "x-amz-target") if header not in signed.signed_headers]
        if missing:
            names = {"host": "'Host' or ':authority'", "x-amz-target": "'X-Amz-Target'"}
            raise _incomplete(" ".join(f"{names[header]} must be a 'SignedHeader' in the AWS Authorization."
                                       for header in missing))
        date, region, service, terminator = signed.scope
        credential = self.credentials.get(signed.access_key_id)
        if credential is None:
            raise DynamoDBError("UnrecognizedClientException", "The security token included in the request is invalid.")
        if terminator != "aws4_request":
            raise _invalid(f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ")
        if service != self.service:
            raise _invalid(f"Credential should be scoped to correct service: '{self.service}'. ")
        if region != self.region:
            raise _invalid(f"Credential should be scoped to a valid region, not '{region}'. ")
        if date != signed.timestamp[:8]:
            raise _invalid(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                           f"HTTP: '{date}' != '{signed.timestamp[:8]}', from '{signed.timestamp}'.")
        return credential

    def _check_time(self, signed: _Signed) -> None:
        stamp = signed.timestamp
        if _BASIC_DATE.fullmatch(stamp) is None:
            raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{stamp}'. See "
                              "http://en.wikipedia.org/wiki/ISO_8601")
        try:
            at = float(calendar.timegm((int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]),
                                        int(stamp[11:13]), int(stamp[13:15]), 0, 0, 0)))
            datetime(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]), int(stamp[11:13]),
                     int(stamp[13:15]))  # rejects 20240231 and other impossible dates
        except ValueError:
            raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{stamp}'. See "
                              "http://en.wikipedia.org/wiki/ISO_8601") from None
        now = self.clock()
        if signed.expires is not None:
            if now > at + signed.expires:
                raise _invalid(f"Signature expired: {signed.timestamp} is now earlier than "
                               f"{_stamp(now - signed.expires)} ({_stamp(now)} - {_minutes(signed.expires)})")
        elif at < now - self.max_skew:
            raise _invalid(f"Signature expired: {signed.timestamp} is now earlier than "
                           f"{_stamp(now - self.max_skew)} ({_stamp(now)} - {_minutes(self.max_skew)})")
        if at > now + self.max_skew:
            raise _invalid(f"Signature not yet current: {signed.timestamp} is still later than "
                           f"{_stamp(now + self.max_skew)} ({_stamp(now)} + {_minutes(self.max_skew)})")

    def _signing_key(self, credential: Credential, date: str) -> bytes:
        cached = self._keys.get((credential.access_key_id, date))
        if cached is not None:
            return cached
        key = ("AWS4" + credential.secret_access_key).encode()
        for part in (date, self.region, self.service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        if len(self._keys) > 4096:
            self._keys.clear()
        self._keys[(credential.access_key_id, date)] = key
        return key


# -- the backend the HTTP server uses -----------------------------------------------------------------------

class _AsPrincipal:
    """The engine, as one authenticated principal sees it: every call is authorized first."""

    __slots__ = ("engine", "principal")

    def __init__(self, engine: Engine, principal: Principal) -> None:
        self.engine = engine
        self.principal = principal

    def call(self, operation: str, request: dict[str, Any], *, wire: bool = False) -> dict[str, Any]:
        if operation in self.engine.operations:  # unknown operations are the engine's UnknownOperationException
            authorize(self.principal, operation, request, self.engine)
        return self.engine.call(operation, request, wire=wire)


class AuthorizingBackend:
    """An HTTP backend that authenticates (SigV4) and authorizes (IAM policies) every request.

    The server calls `bind(method, target, headers, body)` with the raw request before decoding the body;
    it raises DynamoDBError for a bad signature, or returns the backend that serves this request.
    """

    def __init__(self, engine: Engine, authenticator: Authenticator) -> None:
        self.engine = engine
        self.authenticator = authenticator
        self.region = engine.region

    def bind(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Backend:
        return _AsPrincipal(self.engine, self.authenticator.authenticate(method, target, headers, body))

    def call(self, operation: str, request: dict[str, Any], *, wire: bool = False) -> dict[str, Any]:
        """Reached only if a server forgets to `bind`: nothing is served unauthenticated."""
        raise _missing_token()


__all__ = ["Authenticator", "AuthorizingBackend", "Credential", "CredentialsError", "load_credentials",
           "parse_credentials"]
