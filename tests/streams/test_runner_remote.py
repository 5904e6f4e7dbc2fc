"""The runner over a real Streams endpoint: a dynamokit HTTP server on 127.0.0.1 read through boto3, with
durable checkpoints behind the same endpoint, iterator expiry and trimmed data."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from click.testing import CliRunner

from dynamokit import Engine
from dynamokit.server._http import Server
from dynamokit.streams import LocalRunner
from dynamokit.streams._checkpoints import Checkpoints
from dynamokit.streams._cli import streams
from dynamokit.streams._sources import RemoteSource

from .conftest import Clock

CREDENTIALS = {"aws_access_key_id": "k", "aws_secret_access_key": "s"}


@pytest.fixture
def server(engine: Engine) -> Iterator[Server]:
    with Server(engine, port=0) as running:
        yield running


def clients(url: str) -> tuple[Any, Any]:
    """boto3 `dynamodb` and `dynamodbstreams` clients of the endpoint."""
    config = Config(retries={"max_attempts": 1})
    return tuple(boto3.client(service, endpoint_url=url, region_name="us-east-1", config=config, **CREDENTIALS)
                 for service in ("dynamodb", "dynamodbstreams"))  # type: ignore[return-value]


@pytest.fixture
def source(server: Server) -> RemoteSource:
    return RemoteSource(*clients(server.url))


class Versions:
    """A handler keeping every (key, version) it is given, in delivery order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            image = record["dynamodb"]["NewImage"]
            self.seen.append((image["pk"]["S"], int(image["n"]["N"])))
        assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int | float) for r in event["Records"])
        return {"batchItemFailures": []}

    def per_key(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for key, n in self.seen:
            out.setdefault(key, []).append(n)
        return out


def write(engine: Engine, keys: list[str], versions: range) -> None:
    for n in versions:
        for key in keys:
            engine.call("PutItem", {"TableName": "src", "Item": {"pk": {"S": key}, "n": {"N": str(n)}}})


KEYS = [f"k{i}" for i in range(6)]


def test_every_record_once_in_key_order_and_a_restart_resumes(engine: Engine, server: Server,
                                                                 source: RemoteSource,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write(engine, KEYS, range(20))
    first = Versions()
    runner = LocalRunner(source, "src", first, batch_size=7, name="remote")
    runner.run_until_caught_up(30)
    assert Counter(first.seen) == Counter((k, n) for k in KEYS for n in range(20))  # each exactly once
    assert first.per_key() == {k: list(range(20)) for k in KEYS}
    positions = Checkpoints(engine, None, f"remote|{runner.stream_arn}").load()  # stored behind the endpoint
    assert positions and all(p.after is not None for p in positions.values())

    write(engine, KEYS[:2], range(20, 23))
    for name, value in {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}.items():
        monkeypatch.setenv(name, value)
    again = Versions()
    LocalRunner.remote("src", again, endpoint_url=server.url, region_name="us-east-1", batch_size=7,
                       name="remote").run_until_caught_up(30)  # a restart: acknowledged batches stay done
    assert again.per_key() == {k: [20, 21, 22] for k in KEYS[:2]}


def test_background_remote_runner(engine: Engine, source: RemoteSource) -> None:
    handler = Versions()
    runner = LocalRunner(source, "src", handler, name="tail").start()
    try:
        write(engine, KEYS, range(5))
        runner.run_until_caught_up(30)
        write(engine, KEYS, range(5, 8))
        metrics = runner.run_until_caught_up(30)
    finally:
        runner.stop()
    assert handler.per_key() == {k: list(range(8)) for k in KEYS}
    assert metrics.processed == 48 and metrics.watermark is not None


def test_an_expired_iterator_is_reopened_where_reading_stopped(engine: Engine, clock: Clock,
                                                               source: RemoteSource) -> None:
    write(engine, KEYS, range(3))
    handler = Versions()
    runner = LocalRunner(source, "src", handler, name="expiry")
    runner.run_until_caught_up(30)
    clock.advance(16 * 60)  # the runner's open iterators are older than 15 minutes now
    write(engine, KEYS, range(3, 5))
    runner.run_until_caught_up(30)
    assert handler.per_key() == {k: list(range(5)) for k in KEYS}


def test_trimmed_records_are_skipped_with_a_warning(engine: Engine, clock: Clock, source: RemoteSource,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    write(engine, KEYS, range(2))
    handler = Versions()
    runner = LocalRunner(source, "src", handler, name="trim")
    runner.run_until_caught_up(30)
    write(engine, ["lost"], range(1))
    clock.advance(25 * 3600)  # past the 24 h retention: "lost" is trimmed before it was read
    write(engine, ["fresh"], range(1))
    with caplog.at_level(logging.WARNING, "dynamokit.streams"):
        runner.run_until_caught_up(30)
    assert [key for key, _ in handler.seen[len(KEYS) * 2:]] == ["fresh"]
    assert "trimmed" in caplog.text


def test_latest_position_is_taken_and_kept(engine: Engine, source: RemoteSource) -> None:
    write(engine, KEYS, range(2))
    LocalRunner(source, "src", Versions(), starting_position="LATEST", name="late").positions()
    write(engine, KEYS[:1], range(2, 3))
    handler = Versions()
    LocalRunner(source, "src", handler, starting_position="LATEST", name="late").run_until_caught_up(30)
    assert handler.seen == [("k0", 2)]


def test_a_table_without_a_stream_is_refused(source: RemoteSource) -> None:
    with pytest.raises(ValueError, match="no stream"):
        LocalRunner(source, "views", Versions())


HANDLER = """
def handler(event, context):
    with open(__file__ + ".seen", "a") as out:
        out.writelines(r["dynamodb"]["Keys"]["pk"]["S"] + "\\n" for r in event["Records"])
    return {"batchItemFailures": []}
"""


def test_the_cli_runs_a_handler_against_an_endpoint(engine: Engine, server: Server, tmp_path: Path) -> None:
    (tmp_path / "remote_handler.py").write_text(HANDLER)
    write(engine, KEYS, range(1))
    src = str(Path(__file__).resolve().parents[2] / "src")  # the code under test, not an installed copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), src]), "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "s"}
    command = [sys.executable, "-c", "from dynamokit._cli import main; main()", "streams", "run",
               "remote_handler:handler", "--endpoint-url", server.url, "--region", "us-east-1", "--table", "src",
               "--name", "cli", "--parallelization-factor", "2", "--every", "0.2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = tmp_path / "remote_handler.py.seen"
    try:
        deadline = time.monotonic() + 60
        while not (seen.exists() and len(seen.read_text().split()) >= len(KEYS)):
            assert process.poll() is None and time.monotonic() < deadline, "the runner exited or is stuck"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert sorted(seen.read_text().split()) == KEYS
    assert f"processed={len(KEYS)}" in out.splitlines()[-1], err


def test_the_cli_needs_one_place_to_read() -> None:
    result = CliRunner().invoke(streams, ["run", "mod:fn", "--table", "t"])
    assert result.exit_code != 0 and "exactly one of --db and --endpoint-url" in result.output
