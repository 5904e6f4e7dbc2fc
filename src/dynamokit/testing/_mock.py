"""`dynamokit.mock`: every DynamoDB and DynamoDB Streams client in the process answered by one embedded
engine, as moto's `mock_aws` answers every AWS client.

While a mock is active, botocore's `Session.create_client` (and aiobotocore's) and `BaseClient._make_api_call`
are patched so that each `dynamodb`/`dynamodbstreams` client — made by `boto3.client`, `boto3.resource`, any
`Session`, before or during the mock, in any region — gets `dynamokit.client`'s in-process `before-call` hook
(`MockAnswer`), which asks the active mock for its engine at each call. A request so answered is never
signed nor sent, so no credentials are needed: clients made during the mock without any get dummy ones (no
credential-chain lookups), and a region if none is configured. Other services are left alone (moto's
`mock_aws` keeps answering them; for DynamoDB, dynamokit's hook runs at `before-call`, before moto's
`before-send`, so dynamokit wins). After the mock ends, clients made during it raise `MockError`; clients
made before it go back to their endpoint.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import unittest
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from botocore.client import BaseClient
from botocore.model import OperationModel
from botocore.session import Session

from .._engine import Engine
from .._engine.faults import Fault
from ..client import Answer, install
from ..client._direct import DirectSerializer
from ._seeding import Source, seed

SERVICES = frozenset(("dynamodb", "dynamodbstreams"))
T = TypeVar("T")

_lock = threading.Lock()
_active: Mock | None = None
_restore: list[tuple[Any, str, Any]] = []


class MockError(RuntimeError):
    """`dynamokit.mock` used wrongly: nested or started twice, or a client used after its mock ended."""


def active_mock() -> Mock | None:
    """The active mock, if any."""
    return _active


class Mock:
    """One use of `dynamokit.mock`: `start()` lays down a fresh engine (with `tables` and `seed`) and answers
    every DynamoDB client with it until `stop()`. Also a context manager (giving the engine) and a decorator
    (each call of the function, or each test of a class, gets its own fresh mock)."""

    def __init__(self, *, tables: Iterable[Any] = (), seed: Source | None = None, serve: bool = False,
                 region: str = "us-east-1", throttling: bool = False, faults: Iterable[Fault] = (),
                 fault_seed: int | None = None) -> None:
        self.table_requests = _table_requests(tables)
        self.seed_source = seed
        self.serve = serve
        self.region = region
        self.throttling = throttling
        self.faults = tuple(faults)
        self.fault_seed = fault_seed
        self._engine: Engine | None = None
        self._server: Any = None
        self._environ: dict[str, str | None] = {}

    # -- lifecycle --------------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The engine answering while this mock is active."""
        if self._engine is None:
            raise MockError("this dynamokit.mock is not active")
        return self._engine

    @property
    def url(self) -> str:
        """The endpoint of `serve=True`'s server."""
        if self._server is None:
            raise MockError("this dynamokit.mock serves no endpoint (use dynamokit.mock(serve=True))")
        return str(self._server.url)

    def start(self) -> Engine:
        global _active
        with _lock:
            if _active is self:
                raise MockError("this dynamokit.mock is already started")
            if _active is not None:
                raise MockError("a dynamokit.mock is already active: mocks do not nest (one engine answers "
                                "every client); use the active one: dynamokit.testing.active_mock()")
            engine = Engine(region=self.region, throttling=self.throttling)
            try:
                for operation, request in self.table_requests:
                    engine.call(operation, request)
                if self.seed_source is not None:
                    seed(engine, self.seed_source)
                for fault in self.faults:  # after the tables and seed, which they must not fail
                    engine.faults.add(fault)
                engine.faults.seed(self.fault_seed)
                if self.serve:
                    self._serve(engine)
            except BaseException:
                self._stop_server()
                engine.close()
                raise
            self._engine = engine
            _patch()
            _active = self
        return engine

    def stop(self) -> None:
        global _active
        with _lock:
            if _active is not self:
                raise MockError("this dynamokit.mock is not active")
            _active = None
            _unpatch()
            engine, self._engine = self._engine, None
            self._stop_server()
        assert engine is not None
        engine.close()

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fresh(self) -> Mock:
        """A new, inactive mock with this one's settings."""
        made = Mock(serve=self.serve, region=self.region, seed=self.seed_source, throttling=self.throttling,
                    faults=self.faults, fault_seed=self.fault_seed)
        made.table_requests = self.table_requests
        return made

    # -- decorator ----------------------------------------------------------------------------------------
    def __call__(self, target: T) -> T:
        if inspect.isclass(target):
            return _decorate_class(self, target)  # type: ignore[return-value]
        if not callable(target):
            raise TypeError(f"dynamokit.mock decorates functions and classes, not {type(target).__name__}")
        func: Any = target
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self.fresh():
                    return await func(*args, **kwargs)
            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self.fresh():
                return func(*args, **kwargs)
        return run  # type: ignore[return-value]

    # -- serve=True ---------------------------------------------------------------------------------------
    def _serve(self, engine: Engine) -> None:
        from ..server._http import Server

        self._server = Server(engine, "127.0.0.1", 0)
        self._server.start()
        url = self._server.url
        values = {"AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": url}
        if not (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")):
            values.update(AWS_ACCESS_KEY_ID="dynamokit", AWS_SECRET_ACCESS_KEY="dynamokit")
        if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
            values["AWS_DEFAULT_REGION"] = self.region
        self._environ = {name: os.environ.get(name) for name in values}
        os.environ.update(values)

    def _stop_server(self) -> None:
        for name, value in self._environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._environ = {}
        if self._server is not None:
            self._server.stop()
            self._server = None


def mock(target: Any = None, /, *, tables: Iterable[Any] = (), seed: Source | None = None,
         serve: bool = False, region: str = "us-east-1", throttling: bool = False, faults: Iterable[Fault] = (),
         fault_seed: int | None = None) -> Any:
    """Answer every DynamoDB client of the process with a fresh embedded engine.

    `with dynamokit.mock() as engine:`, `@dynamokit.mock` / `@dynamokit.mock(tables=...)` on a function or a
    class (each test gets a fresh engine). `tables`: CreateTable requests and/or `dynamokit.model` Apps,
    created in each fresh engine; `seed`: items to load (see `dynamokit.testing.seed`); `serve=True` also
    serves the engine over HTTP on 127.0.0.1 and points `AWS_ENDPOINT_URL_DYNAMODB` at it (for subprocesses
    and non-Python SDKs), with dummy credentials and region if none are set; the environment is restored.
    `throttling=True`: provisioned tables throttle (`engine.throttle`); `faults`: `Fault`s injected, decided by
    a random source seeded with `fault_seed` (`engine.faults`); see docs/testing.md, "Faults and throttling"."""
    made = Mock(tables=tables, seed=seed, serve=serve, region=region, throttling=throttling, faults=faults,
                fault_seed=fault_seed)
    return made if target is None else made(target)


@contextmanager
def mocking(**options: Any) -> Iterator[Mock]:
    """A started `Mock` (for fixtures that want the mock itself: `.engine`, `.url`)."""
    made = Mock(**options)
    made.start()
    try:
        yield made
    finally:
        made.stop()


# -- the hook ---------------------------------------------------------------------------------------------
class MockAnswer(Answer):
    """`client.Answer` whose engine is the active mock's. `born`: made during a mock, so using it after the
    mock has ended is an error rather than a request to AWS."""

    def __init__(self, made: Any, born: bool) -> None:
        super().__init__(None, made)
        self.born = born

    def __call__(self, model: OperationModel, params: dict[str, Any], **_: Any) -> Any:
        current = _active
        if current is None or current._engine is None:
            if self.born:
                raise MockError(f"{model.name}: this DynamoDB client was made under a dynamokit.mock that has "
                                "ended; make clients inside the mock (nothing was sent)")
            return None  # made outside any mock: its own endpoint answers, as before
        return self.answer(current._engine, model, params)


class MockSerializer(DirectSerializer):
    """`DirectSerializer` only while a mock answers: a client made before it serializes as always after it."""

    born = True

    def serialize_to_request(self, parameters: dict[str, Any], model: OperationModel) -> dict[str, Any]:
        if _active is None and not self.born:
            return self._serializer.serialize_to_request(parameters, model)  # type: ignore[no-any-return]
        return super().serialize_to_request(parameters, model)


class _Unborn(MockSerializer):
    born = False


def _hook(made: Any, born: bool) -> Any:
    """Hook `made` (unless it is bound to an engine already, or not DynamoDB: marked, so checked once)."""
    if getattr(made, "_dynamokit_answer", None) is None:
        if made.meta.service_model.service_name in SERVICES:
            install(made, MockAnswer(made, born), MockSerializer if born else _Unborn, only_in_process=born)
        else:
            made._dynamokit_answer = False
    return made


# -- patches, applied while a mock is active ----------------------------------------------------------------
_SESSION_ARGUMENTS = inspect.signature(Session.create_client)


def _client_arguments(session: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """create_client's arguments, with dummy credentials and a region where none would be found."""
    bound = _SESSION_ARGUMENTS.bind(session, *args, **kwargs)
    arguments = dict(bound.arguments)
    del arguments["self"]
    if arguments["service_name"] in SERVICES and _active is not None:
        if (arguments.get("aws_access_key_id") is None and arguments.get("aws_secret_access_key") is None
                and getattr(session, "_credentials", None) is None):
            arguments.update(aws_access_key_id="dynamokit", aws_secret_access_key="dynamokit")
        if arguments.get("region_name") is None and not session.get_config_variable("region"):
            arguments["region_name"] = _active.region
    return arguments


def _patched_create_client(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _hook(original(self, **_client_arguments(self, args, kwargs)), born=True)
    return create_client


def _patched_async_create_client(original: Callable[..., Any]) -> Callable[..., Any]:
    async def _create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _hook(await original(self, **_client_arguments(self, args, kwargs)), born=True)
    return _create_client


def _patched_call(original: Callable[..., Any]) -> Callable[..., Any]:
    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if "_dynamokit_answer" not in self.__dict__:
            _hook(self, born=False)  # a client made before the mock
        return original(self, operation_name, api_params)
    return _make_api_call


def _patched_async_call(original: Callable[..., Any]) -> Callable[..., Any]:
    async def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if "_dynamokit_answer" not in self.__dict__:
            _hook(self, born=False)
        return await original(self, operation_name, api_params)
    return _make_api_call


def _targets() -> list[tuple[Any, str, Callable[[Callable[..., Any]], Callable[..., Any]]]]:
    found: list[tuple[Any, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
        (Session, "create_client", _patched_create_client),
        (BaseClient, "_make_api_call", _patched_call),
    ]
    try:
        from aiobotocore.client import AioBaseClient
        from aiobotocore.session import AioSession
    except ImportError:
        return found
    found += [(AioSession, "_create_client", _patched_async_create_client),
              (AioBaseClient, "_make_api_call", _patched_async_call)]
    return found


def _patch() -> None:
    for owner, name, wrap in _targets():
        original = owner.__dict__[name]
        _restore.append((owner, name, original))
        setattr(owner, name, functools.wraps(original)(wrap(original)))


def _unpatch() -> None:
    while _restore:
        owner, name, original = _restore.pop()
        setattr(owner, name, original)


# -- tables and classes -----------------------------------------------------------------------------------
def _table_requests(tables: Iterable[Any]) -> list[tuple[str, dict[str, Any]]]:
    """The CreateTable (and UpdateTimeToLive) requests that lay `tables` down, computed once."""
    requests: list[tuple[str, dict[str, Any]]] = []
    for entry in tables:
        if isinstance(entry, dict):
            requests.append(("CreateTable", entry))
            continue
        from ..model._schema import create_table_request

        for table in entry.tables.values():  # a dynamokit.model App
            requests.append(("CreateTable", create_table_request(table)))
            if table.ttl_attribute:
                requests.append(("UpdateTimeToLive", {"TableName": table.name, "TimeToLiveSpecification": {
                    "Enabled": True, "AttributeName": table.ttl_attribute}}))
    return requests


def _decorate_class(settings: Mock, klass: type) -> type:
    """Each test of `klass` runs in its own fresh mock, from its setup to its teardown: unittest's via
    `setUp` (stopped by a cleanup), pytest-style classes' via `setup_method`/`teardown_method`. A class
    decorated again (or a subclass of a decorated one) replaces the mock's settings, not nests them."""
    if issubclass(klass, unittest.TestCase):
        set_up = _original(klass.setUp)

        @functools.wraps(set_up)
        def setUp(self: Any) -> None:
            made = settings.fresh()
            made.start()
            self.addCleanup(made.stop)
            set_up(self)

        setUp.__dynamokit_original__ = set_up  # type: ignore[attr-defined]
        klass.setUp = setUp  # type: ignore[method-assign]
        return klass
    set_up_method = _original(getattr(klass, "setup_method", None))
    tear_down_method = _original(getattr(klass, "teardown_method", None))

    def setup_method(self: Any, method: Any = None) -> None:
        made = settings.fresh()
        made.start()
        self._dynamokit_mock = made
        if set_up_method is not None:
            try:
                _call(set_up_method, self, method)
            except BaseException:
                self.__dict__.pop("_dynamokit_mock", None)
                made.stop()
                raise

    def teardown_method(self: Any, method: Any = None) -> None:
        try:
            if tear_down_method is not None:
                _call(tear_down_method, self, method)
        finally:
            made = self.__dict__.pop("_dynamokit_mock", None)
            if made is not None:
                made.stop()

    setup_method.__dynamokit_original__ = set_up_method  # type: ignore[attr-defined]
    teardown_method.__dynamokit_original__ = tear_down_method  # type: ignore[attr-defined]
    klass.setup_method = setup_method  # type: ignore[attr-defined]
    klass.teardown_method = teardown_method  # type: ignore[attr-defined]
    return klass


def _original(method: Any) -> Any:
    """`method` without the wrapping of an earlier class decoration."""
    return getattr(method, "__dynamokit_original__", method)


def _call(hook: Callable[..., Any], instance: Any, method: Any) -> None:
    """A setup/teardown method, given the test method only if it takes it (as pytest does)."""
    if len(inspect.signature(hook).parameters) >= 2:
        hook(instance, method)
    else:
        hook(instance)
