"""One target in its own process, driven over stdin/stdout (one JSON object a line) by bench.run.

    python -m bench.worker KIND [ARG]

KIND: native DB | inprocess DB (dynamokit.client) | http URL (boto3 over loopback) | moto (mock_aws, run with
the peers' python) | stub (boto3 answered in-process by canned bodies) | sqlite DB (raw sqlite3).
Commands: {"setup": {"items": N}} creates the table; {"run": OP, "start": I, "count": N, "budget": S,
"threads": T} makes up to N calls of OP (or stops after S seconds) from T threads and answers the latencies.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .workload import CREATE_TABLE, TABLE, Workload, run_op

Call = Callable[[str, dict[str, Any]], dict[str, Any]]


def _boto3(made_client: Callable[[], Any]) -> tuple[Callable[[int], Call], Callable[[Exception], bool]]:
    """call(op, request) over boto3 clients: one per client thread index, made once and kept."""
    made: dict[int, Call] = {}

    def caller(k: int) -> Call:
        if k not in made:
            one = made_client()
            methods = {api: getattr(one, py) for py, api in one.meta.method_to_api_mapping.items()}
            made[k] = lambda op, request: methods[op](**request)
            try:  # the first call loads botocore's models: not part of any measurement
                made[k]("DescribeTable", {"TableName": TABLE})
            except Exception:  # noqa: BLE001 - the table may not exist yet
                pass
        return made[k]

    def failed(error: Exception) -> bool:
        return getattr(error, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"

    return caller, failed


def target(kind: str, arg: str) -> tuple[Callable[[int], Call], Callable[[Exception], bool], Callable[[], None]]:
    """(per-thread caller factory, is-conditional-failure, close) for a kind of target."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1}, max_pool_connections=16)
    if kind == "native":
        from dynamokit import Engine
        engine = Engine(arg)
        return (lambda k: engine.call), (lambda e: getattr(e, "code", "") == "ConditionalCheckFailedException"), \
            engine.close
    if kind == "inprocess":
        from dynamokit import Engine, client
        engine = Engine(arg)
        return (*_boto3(lambda: client(engine)), engine.close)
    if kind == "http":
        return (*_boto3(lambda: boto3.client("dynamodb", endpoint_url=arg, region_name="us-east-1",
                                             aws_access_key_id="k", aws_secret_access_key="s", config=config)),
                lambda: None)
    if kind == "moto":
        os.environ.update(AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s", AWS_DEFAULT_REGION="us-east-1")
        from moto import mock_aws
        mock = mock_aws()
        mock.start()
        return (*_boto3(lambda: boto3.client("dynamodb", region_name="us-east-1", config=config)), mock.stop)
    if kind == "stub":
        from .stubs import Canned, inprocess_stub_client
        canned = Canned(int(arg))
        return (*_boto3(lambda: inprocess_stub_client(canned)), lambda: None)
    if kind == "sqlite":
        from .rawsqlite import ConditionFailed, RawSqlite
        raw = RawSqlite(arg)
        return (lambda k: raw.call), (lambda e: isinstance(e, ConditionFailed)), lambda: None
    raise SystemExit(f"unknown target kind {kind}")


def setup(caller: Callable[[int], Call]) -> None:
    call = caller(0)
    call("CreateTable", CREATE_TABLE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # dynalite creates tables asynchronously
        table = call("DescribeTable", {"TableName": TABLE})["Table"]
        if table["TableStatus"] == "ACTIVE" and all(
                index.get("IndexStatus", "ACTIVE") == "ACTIVE" for index in table.get("GlobalSecondaryIndexes", [])):
            return
        time.sleep(0.05)
    raise RuntimeError("table never became ACTIVE")


def run(caller: Callable[[int], Call], failed: Callable[[Exception], bool], items: int, op: str, start: int,
        count: int, budget: float, threads: int) -> dict[str, Any]:
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    calls = [caller(k) for k in range(threads)]
    barrier = threading.Barrier(threads + 1) if threads > 1 else None
    deadline = [0.0]

    def loop(k: int) -> None:
        call = calls[k]
        work = Workload(items, seed=start * 31 + k)
        mine = latencies[k]
        clock = time.perf_counter
        if barrier:
            barrier.wait()
        for i in range(start + k, start + count, threads):
            request = work.request(op, i)
            t0 = clock()
            try:
                run_op(call, failed, op, request)
            except Exception as error:  # noqa: BLE001 - reported, not fatal
                errors.append(f"{type(error).__name__}: {error}"[:300])
            t1 = clock()
            mine.append(t1 - t0)
            if t1 > deadline[0]:
                return

    if threads == 1:
        begun = time.perf_counter()
        deadline[0] = begun + budget
        loop(0)
    else:
        pool = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
        for thread in pool:
            thread.start()
        deadline[0] = time.perf_counter() + 3600
        barrier.wait()
        begun = time.perf_counter()
        deadline[0] = begun + budget
        for thread in pool:
            thread.join()
    wall = time.perf_counter() - begun
    flat = [x for mine in latencies for x in mine]
    return {"lat": flat, "wall": wall, "errors": len(errors), "error": errors[0] if errors else None}


def main() -> None:
    kind, arg = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
    caller, failed, close = target(kind, arg)
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the protocol stream
    items = 0
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        command = json.loads(line)
        if "setup" in command:
            items = command["setup"]["items"]
            setup(caller)
            answer: dict[str, Any] = {"ok": True}
        elif "check" in command:  # the workload's answers are the same on every target
            call = caller(0)
            work = Workload(items)
            pages = [call("Scan", {"TableName": TABLE})]
            while "LastEvaluatedKey" in pages[-1]:
                pages.append(call("Scan", {"TableName": TABLE, "ExclusiveStartKey": pages[-1]["LastEvaluatedKey"]}))
            answer = {"Query": len(call("Query", work.request("Query", 0))["Items"]),
                      "QueryGSI": len(call("Query", work.request("QueryGSI", 0))["Items"]),
                      "Scan": sum(len(page["Items"]) for page in pages), "ScanPages": len(pages)}
        elif "run" in command:
            answer = run(caller, failed, items, command["run"], command["start"], command["count"],
                         command["budget"], command.get("threads", 1))
        else:
            break
        out.write(json.dumps(answer) + "\n")
        out.flush()
    close()


if __name__ == "__main__":
    main()
