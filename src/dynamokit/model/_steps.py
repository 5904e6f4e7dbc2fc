"""Sans-I/O operations: each operation is a generator of the requests it needs, driven sync or async.

An operation's logic (requests, retries, reads before writes, paging, backoff) is written once as a
generator that yields `(operation, request)` and receives the response (or has the DynamoDBError thrown
into it). `run_sync` drives it over a Transport, `run_async` over an AsyncTransport, so `.run()` and
`.arun()` share every line of request building and control flow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, TypeVar

from .._errors import DynamoDBError
from ._transport import AsyncTransport, Transport

R = TypeVar("R")
Call = tuple[str, dict[str, Any]]
Steps = Generator[Call, Any, R]

SLEEP = "__sleep__"  # a pseudo-operation: {"seconds": s, "sleep": fn} waits (asyncio.sleep when async)


def call(operation: str, request: dict[str, Any]) -> Steps[dict[str, Any]]:
    """One request as a step: `response = yield from call("GetItem", request)`."""
    response: dict[str, Any] = yield operation, request
    return response


def sleep(seconds: float, sleeper: Callable[[float], None] = time.sleep) -> Steps[None]:
    yield SLEEP, {"seconds": seconds, "sleep": sleeper}


def _sleep(request: dict[str, Any]) -> None:
    request["sleep"](request["seconds"])


async def _asleep(request: dict[str, Any]) -> None:
    if request["sleep"] is time.sleep:
        await asyncio.sleep(request["seconds"])
    else:
        request["sleep"](request["seconds"])


# Pseudo-operations the drivers answer themselves (their result is sent into the steps): SLEEP, plus what a
# caller adds (e.g. the migration runner's PARALLEL).
PSEUDO: Mapping[str, Callable[[dict[str, Any]], Any]] = {SLEEP: _sleep}
APSEUDO: Mapping[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {SLEEP: _asleep}


def run_sync(transport: Transport, steps: Steps[R],
             pseudo: Mapping[str, Callable[[dict[str, Any]], Any]] = PSEUDO) -> R:
    """Drive `steps` over a synchronous Transport."""
    try:
        operation, request = next(steps)
        while True:
            handle = pseudo.get(operation)
            if handle is not None:
                operation, request = steps.send(handle(request))
                continue
            try:
                response = transport.call(operation, request)
            except DynamoDBError as error:
                operation, request = steps.throw(error)
                continue
            operation, request = steps.send(response)
    except StopIteration as done:
        result: R = done.value
        return result


async def run_async(transport: AsyncTransport, steps: Steps[R],
                    pseudo: Mapping[str, Callable[[dict[str, Any]], Awaitable[Any]]] = APSEUDO) -> R:
    """Drive `steps` over an AsyncTransport (backoff waits with asyncio.sleep unless a custom sleep is set)."""
    try:
        operation, request = next(steps)
        while True:
            handle = pseudo.get(operation)
            if handle is not None:
                operation, request = steps.send(await handle(request))
                continue
            try:
                response = await transport.call(operation, request)
            except DynamoDBError as error:
                operation, request = steps.throw(error)
                continue
            operation, request = steps.send(response)
    except StopIteration as done:
        result: R = done.value
        return result
