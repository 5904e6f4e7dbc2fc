"""Real boto3 clients answered in-process by an Engine: botocore validates each request as always (item
operations skip serialization when it would change nothing, see `direct`); the engine answers it at
botocore's `before-call` step (no HTTP, no sockets). Hooks of your own on `before-call` see an empty body
for such requests: register on `before-parameter-build` to see parameters."""

from __future__ import annotations

import base64
import warnings
from importlib.metadata import version
from typing import Any

import boto3
import orjson
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.model import OperationModel
from botocore.parsers import DEFAULT_TIMESTAMP_PARSER, ResponseParserFactory

from .direct import DirectSerializer, Unserialized
from .engine import Engine
from .responses import ShapeParser, may_hold_binary
from .server.protocol import answer, handle, operation_of

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

    def __call__(self, model: OperationModel, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict]:
        assert self.engine is not None
        return self.answer(self.engine, model, params)

    def answer(self, engine: Engine, model: OperationModel, params: dict[str, Any]) -> tuple[AWSResponse, dict]:
        """The (http response, parsed response) pair botocore expects from a `before-call` hook."""
        headers = params["headers"]
        body = params["body"]
        if type(body) is Unserialized:
            status, response_headers, payload = answer(engine, operation_of(headers["X-Amz-Target"]),
                                                       body.params)
        else:
            if isinstance(body, str):
                body = body.encode()
            status, response_headers, payload = handle(engine, headers.get("X-Amz-Target"), body or b"")
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

    def _error(self, model: OperationModel, http: AWSResponse, payload: bytes) -> dict[str, Any]:
        """An error response, parsed by botocore itself with its modeled fields (errors are the rare case)."""
        response = {"headers": http.headers, "status_code": http.status_code, "body": payload,
                    "context": {"operation_name": model.name}}
        parsed: dict[str, Any] = self.parser.parse(response, model.output_shape)
        shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
        if shape is not None:
            parsed.update(self.parser.parse(response, shape))
        return parsed


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
    event = f"before-call.{made.meta.service_model.service_id.hyphenize()}"
    previous = getattr(made, "_dynamokit_answer", None)
    dynamodb = made.meta.service_model.service_name == "dynamodb"
    current = _private(made, "_serializer", "botocore serializes every request") if dynamodb else None
    if previous:  # replaced: `client(engine)` under `dynamokit.mock` is bound to `engine`
        made.meta.events.unregister(event, previous)
        if isinstance(current, DirectSerializer):
            made._serializer = current = current._serializer
    if current is not None:
        made._serializer = serializer(current)
    agent = getattr(made, "_user_agent_creator", None)
    if only_in_process and agent is not None and not isinstance(agent, _UserAgent):
        made._user_agent_creator = _UserAgent(agent)
    # Last, so hooks of the user's (and a Stubber) still run first.
    made.meta.events.register_last(event, hook)
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
    # No retries (nothing transient happens in-process); legacy mode skips standard mode's per-call bookkeeping.
    base = Config(signature_version=UNSIGNED, retries={"max_attempts": 1, "mode": "legacy"})
    return _answered(session.client(service, endpoint_url=_ENDPOINT, config=base.merge(config) if config else base),
                     engine)


def resource(engine: Engine, *, region_name: str | None = None) -> Any:
    """A boto3 DynamoDB resource (tables, items) answered in-process by `engine`."""
    session = boto3.session.Session(
        aws_access_key_id="dynamokit", aws_secret_access_key="dynamokit",
        region_name=region_name or engine.region,
    )
    made = session.resource("dynamodb", endpoint_url=_ENDPOINT,
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    _answered(made.meta.client, engine)
    return made
