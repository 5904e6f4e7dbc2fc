"""Real boto3 clients answered in-process by an Engine: botocore validates each request as always (item
operations skip serialization when it would change nothing, see `_direct`); the engine answers it at
botocore's `before-call` step (no HTTP, no sockets). Hooks of your own on `before-call` see an empty body
for such requests: register on `before-parameter-build` to see parameters.

An error botocore would retry (throttling, 5xx) leaves that fast path: the request continues into botocore's
endpoint, whose retry loop (legacy, standard or adaptive mode) sees the error answered at `before-send` and
retries it there, each retry answered by the engine again, as a real client's would be. aiobotocore clients
are not retried in-process (their endpoint awaits a response object of aiobotocore's own)."""

from __future__ import annotations

import base64
import itertools
import warnings
import weakref
from importlib.metadata import version
from typing import Any

import boto3
import orjson
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.model import OperationModel
from botocore.parsers import DEFAULT_TIMESTAMP_PARSER, ResponseParserFactory

from .._engine import Engine
from .._protocol import answer, handle, operation_of
from ._direct import DirectSerializer, Unserialized
from ._responses import ShapeParser, may_hold_binary

_ENDPOINT = "http://dynamokit.invalid"
_MISSING = object()
TESTED_BOTOCORE = ">=1.29.165"  # the oldest: .ci/botocore-range


def _private(owner: Any, name: str, fallback: str) -> Any:
    """`owner.name`, a botocore internal the in-process client reads; missing (another botocore), warns that
    `fallback`, the public path, is taken instead, and gives None."""
    found = getattr(owner, name, _MISSING)
    if found is _MISSING:
        warnings.warn(
            f"dynamokit: botocore {version('botocore')} has no {type(owner).__name__}.{name}; {fallback} "
            f"(dynamokit is tested with botocore {TESTED_BOTOCORE})",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return found


_PENDING_HEADER = "x-dynamokit-pending"
# Error codes some botocore retry mode retries besides any 5xx (botocore/retries/standard.py, _retry.json).
RETRYABLE = frozenset((
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException",
))
_pending: weakref.WeakValueDictionary[int, _Pending] = weakref.WeakValueDictionary()
_numbers = itertools.count()


class _Pending:
    """A request handed on to botocore's endpoint (so its retry loop runs): the engine answering it, and the
    answer of its first attempt (already computed at `before-call`). Kept alive by the request's context."""

    __slots__ = ("__weakref__", "engine", "first")

    def __init__(self, engine: Engine, first: tuple[int, list[tuple[str, str]], bytes]) -> None:
        self.engine = engine
        self.first: tuple[int, list[tuple[str, str]], bytes] | None = first


class _Raw:
    """The raw body object botocore reads a response from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class Answer:
    """A `before-call` hook that answers each request in-process, as botocore's Stubber does: the request
    botocore serialized goes to the engine, and the response is parsed as botocore would parse it (see
    `responses`), skipping HTTP request preparation and the generic response walk. `engine` is fixed here;
    subclasses (`dynamokit.mock`'s) choose it per call by overriding `__call__` and calling `answer`."""

    def __init__(self, engine: Engine | None, made: Any) -> None:
        self.engine = engine
        endpoint = _private(made, "_endpoint", "parsing with botocore's default response parsers")
        factory = None if endpoint is None else _private(
            endpoint, "_response_parser_factory", "parsing with botocore's default response parsers"
        )
        if factory is None:
            factory = ResponseParserFactory()
        elif type(factory) is not ResponseParserFactory:  # aiobotocore's parsers are coroutines: use botocore's
            plain = ResponseParserFactory()
            plain._defaults = dict(getattr(factory, "_defaults", {}))
            factory = plain
        self.parser = factory.create_parser(made.meta.service_model.protocol)
        blobs = _private(self.parser, "_blob_parser", "decoding blobs with base64")
        times = _private(self.parser, "_timestamp_parser", "parsing timestamps with botocore's default")
        self.shapes = ShapeParser(blobs or base64.b64decode, times or DEFAULT_TIMESTAMP_PARSER)
        # botocore's own endpoint (not aiobotocore's): retryable errors may go through its retry loop.
        self.retries = type(made._endpoint).__module__ == "botocore.endpoint"

    def __call__(self, model: OperationModel, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict] | None:
        assert self.engine is not None
        return self.answer(self.engine, model, params)

    def answer(self, engine: Engine, model: OperationModel, params: dict[str, Any]) -> tuple[AWSResponse, dict] | None:
        """The (http response, parsed response) pair botocore expects from a `before-call` hook; None for an
        error botocore retries, handed on to its endpoint (see `send`)."""
        headers = params["headers"]
        body = params["body"]
        if type(body) is Unserialized:
            status, response_headers, payload = answer(engine, operation_of(headers["X-Amz-Target"]),
                                                       body.params)
        else:
            if isinstance(body, str):
                body = body.encode()
            status, response_headers, payload = handle(engine, headers.get("X-Amz-Target"), body or b"")
        if status >= 300 and self.retries and _retryable(status, payload):
            if type(body) is Unserialized:
                params["body"] = orjson.dumps(body.params)
            pending = _Pending(engine, (status, response_headers, payload))
            number = next(_numbers)
            _pending[number] = pending
            params["context"]["dynamokit_pending"] = pending  # alive as long as the request
            headers[_PENDING_HEADER] = str(number)
            return None
        http = AWSResponse(params["url"], status, dict(response_headers), _Raw(payload))
        if status < 300:
            parsed = self.shapes.parse(model.output_shape, orjson.loads(payload or b"{}"), may_hold_binary(payload))
            metadata = {"RequestId": http.headers["x-amzn-RequestId"]}
        else:
            parsed = self._error(model, http, payload)
            metadata = parsed["ResponseMetadata"]
        metadata["HTTPStatusCode"] = status
        metadata["HTTPHeaders"] = {name.lower(): value for name, value in response_headers}
        metadata["RetryAttempts"] = 0
        parsed["ResponseMetadata"] = metadata
        return http, parsed

    def send(self, request: Any, **_: Any) -> AWSResponse | None:
        """A `before-send` hook: the answer to an attempt of a request handed on by `answer` (the first
        attempt's answer is the one `answer` computed; retries are answered anew)."""
        number = request.headers.get(_PENDING_HEADER)
        pending = _pending.get(int(number)) if number is not None else None
        if pending is None:
            return None
        if pending.first is not None:
            status, headers, payload = pending.first
            pending.first = None
        else:
            body = request.body
            if isinstance(body, str):
                body = body.encode()
            target = request.headers.get("X-Amz-Target")
            if isinstance(target, bytes):
                target = target.decode()
            status, headers, payload = handle(pending.engine, target, body or b"")
        return AWSResponse(request.url, status, dict(headers), _Raw(payload))

    def _error(self, model: OperationModel, http: AWSResponse, payload: bytes) -> dict[str, Any]:
        """An error response, parsed by botocore itself with its modeled fields (errors are the rare case)."""
        response = {"headers": http.headers, "status_code": http.status_code, "body": payload,
                    "context": {"operation_name": model.name}}
        parsed: dict[str, Any] = self.parser.parse(response, model.output_shape)
        shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
        if shape is not None:
            parsed.update(self.parser.parse(response, shape))
        return parsed


def _retryable(status: int, payload: bytes) -> bool:
    """Whether some botocore retry mode retries this error response."""
    if status >= 500:
        return True
    try:
        code = str(orjson.loads(payload).get("__type", ""))
    except orjson.JSONDecodeError:
        return False
    return code.rpartition("#")[2] in RETRYABLE


class _UserAgent:
    """A client's User-Agent header computed once: no one reads it in-process, and botocore's building it
    anew for each request costs about a quarter of an in-process call."""

    def __init__(self, creator: Any) -> None:
        self._creator = creator
        self._text = creator.to_string()

    def to_string(self) -> str:
        return self._text

    def __getattr__(self, name: str) -> Any:
        return getattr(self._creator, name)


def install(made: Any, hook: Answer, serializer: type[DirectSerializer] = DirectSerializer, *,
            only_in_process: bool = True) -> Any:
    """Make `hook` answer the botocore (or aiobotocore) client `made`; returns it. `only_in_process`: the
    client never sends a request (so its User-Agent may be computed once)."""
    service = made.meta.service_model.service_id.hyphenize()
    event = f"before-call.{service}"
    previous = getattr(made, "_dynamokit_answer", None)
    dynamodb = made.meta.service_model.service_name == "dynamodb"
    current = _private(made, "_serializer", "botocore serializes every request") if dynamodb else None
    if previous:  # replaced: `client(engine)` under `dynamokit.mock` is bound to `engine`
        made.meta.events.unregister(event, previous)
        made.meta.events.unregister(f"before-send.{service}", previous.send)
        if isinstance(current, DirectSerializer):
            made._serializer = current = current._serializer
    if current is not None:
        made._serializer = serializer(current)
    agent = getattr(made, "_user_agent_creator", None)
    if only_in_process and agent is not None and not isinstance(agent, _UserAgent):
        made._user_agent_creator = _UserAgent(agent)
    # Last, so hooks of the user's (and a Stubber) still run first.
    made.meta.events.register_last(event, hook)
    # First, so that moto's `before-send` (when mock_aws is active too) never answers a retried request.
    made.meta.events.register_first(f"before-send.{service}", hook.send)
    made._dynamokit_answer = hook
    return made


def _answered(made: Any, engine: Engine) -> Any:
    return install(made, Answer(engine, made))


def client(engine: Engine, service: str = "dynamodb", *, region_name: str | None = None,
           config: Config | None = None) -> Any:
    """A boto3 client (`dynamodb` or `dynamodbstreams`) whose requests `engine` answers in-process."""
    session = boto3.session.Session(
        aws_access_key_id="dynamokit", aws_secret_access_key="dynamokit",
        region_name=region_name or engine.region,
    )
    # No retries unless `config` asks for them (errors reach the caller at once); legacy mode skips standard
    # mode's per-call bookkeeping.
    base = Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1, "mode": "legacy"})
    return _answered(session.client(service, endpoint_url=_ENDPOINT, config=base.merge(config) if config else base),
                     engine)


def resource(engine: Engine, *, region_name: str | None = None) -> Any:
    """A boto3 DynamoDB resource (tables, items) answered in-process by `engine`."""
    session = boto3.session.Session(
        aws_access_key_id="dynamokit", aws_secret_access_key="dynamokit",
        region_name=region_name or engine.region,
    )
    made = session.resource("dynamodb", endpoint_url=_ENDPOINT,
                            config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))
    _answered(made.meta.client, engine)
    return made
