"""The `dynamokit` command line, run as a real subprocess."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dynamokit import __version__
from dynamokit._cli import main

from .conftest import http_client

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))}


def dynamokit(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dynamokit._cli", *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dynamokit._cli", *args], env=ENV, text=True,
                          capture_output=True, timeout=60, check=False)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`dynamokit serve --port 0` on a database file, and the URL it printed."""
    process = dynamokit("serve", "--port", "0", "--db", str(tmp_path / "data.db"))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, line
        yield process, found.group(0)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_serve_prints_url_answers_and_stops_on_sigterm(serving: tuple[subprocess.Popen[str], str]) -> None:
    """`serve` prints its URL and a usage hint, answers boto3, and exits 0 on SIGTERM."""
    process, url = serving
    assert process.stdout is not None
    assert "aws dynamodb list-tables --endpoint-url " + url in process.stdout.readline()
    client = http_client(url)
    client.create_table(TableName="tbl", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    assert client.list_tables()["TableNames"] == ["tbl"]
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err and "WARNING" not in err


def test_serve_stops_on_sigint(serving: tuple[subprocess.Popen[str], str]) -> None:
    """Ctrl-C (SIGINT) stops the server cleanly, without a traceback."""
    process, url = serving
    assert http_client(url).list_tables()["TableNames"] == []
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_port_in_use_is_a_readable_error() -> None:
    """A port already taken gives a one-line error and a non-zero exit code."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        done = run("serve", "--port", str(taken.getsockname()[1]))
    assert done.returncode != 0
    assert "cannot listen on 127.0.0.1" in done.stderr
    assert "Traceback" not in done.stderr


def test_unusable_db_path_is_a_readable_error(tmp_path: Path) -> None:
    """A database path that cannot be opened gives a one-line error and a non-zero exit code."""
    done = run("serve", "--port", "0", "--db", str(tmp_path / "no" / "such" / "dir" / "x.db"))
    assert done.returncode != 0
    assert "cannot open database" in done.stderr
    assert "Traceback" not in done.stderr


def test_non_loopback_host_warns() -> None:
    """Binding to a non-loopback address prints a loud warning (there is no authentication)."""
    process = dynamokit("serve", "--host", "0.0.0.0", "--port", "0")
    try:
        assert process.stdout is not None
        assert "http://0.0.0.0:" in process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert "WARNING" in err and "NO authentication" in err


def test_version() -> None:
    """`dynamokit --version` prints the package version."""
    done = run("--version")
    assert done.returncode == 0
    assert __version__ in done.stdout


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the CLI, groups included: ("serve",), ("model",), ("model", "show"), ..."""
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*path, name))
        if isinstance(command, click.Group):
            found += commands(command, (*path, name))
    return found


def test_the_command_list_is_complete() -> None:
    assert {"demo", "serve", "model show", "model export", "streams run"} <= {" ".join(c) for c in commands()}


@pytest.mark.parametrize("path", [(), *commands()], ids=lambda p: " ".join(p) or "dynamokit")
def test_every_command_has_an_example(path: tuple[str, ...]) -> None:
    done = CliRunner().invoke(main, [*path, "--help"], terminal_width=200)
    assert done.exit_code == 0, done.output
    example = done.output.partition("Example")[2]
    assert example, f"`dynamokit {' '.join(path)} --help` shows no example"
    assert " ".join(("dynamokit", *path)) in example


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("path", [c for c in commands() if not isinstance(main.commands[c[0]], click.Group)
                                  or len(c) > 1], ids=" ".join)
def test_every_command_is_in_the_docs(path: tuple[str, ...]) -> None:
    command = " ".join(("dynamokit", *path))
    assert any(command in doc.read_text(encoding="utf-8") for doc in DOCS), f"no doc mentions `{command}`"


NOTES = """
from dynamokit.model import App, Entity, Keys, Table


class Note(Entity):
    note_id: str
    keys = Keys(pk="NOTE#{note_id}", sk="NOTE")


app = App(Table("notes", [Note]))


def broken():
    raise RuntimeError("the model could not be built:\\nsecond line")
"""


def in_directory(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI run in `directory` as the installed `dynamokit` script runs: without it on sys.path (-P)."""
    return subprocess.run([sys.executable, "-P", "-m", "dynamokit._cli", *args], env=ENV, text=True, cwd=directory,
                          capture_output=True, timeout=60, check=False)


def test_model_show_finds_modules_in_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text(NOTES)
    done = in_directory(tmp_path, "model", "show", "notes:app", "--markdown")
    assert done.returncode == 0, done.stderr
    assert "NOTE#{note_id}" in done.stdout
    missing = in_directory(tmp_path, "model", "show", "nothere:app")
    assert missing.returncode == 2 and f"no module named 'nothere' in {tmp_path}" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_unexpected_errors_are_one_line_unless_debug(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text(NOTES)
    done = in_directory(tmp_path, "model", "show", "notes:broken")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "dynamokit: error: RuntimeError: the model could not be built: second line (--debug shows the traceback)"]
    debug = in_directory(tmp_path, "--debug", "model", "show", "notes:broken")
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "RuntimeError" in debug.stderr


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    for args in (("model", "show", "no-colon"), ("serve", "--port", "99999"), ("nosuchcommand",)):
        done = in_directory(tmp_path, *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr and "Error:" in done.stderr, args


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(line) for line in found.split()]


@pytest.mark.parametrize("db", ["file", ":memory:"])
def test_serve_workers_share_one_port_and_one_database(tmp_path: Path, db: str) -> None:
    """`--workers 3`: three worker processes accept on one port (SO_REUSEPORT) over one database, so a table
    one process created is served by all; they stop with their supervisor, even when it is killed."""
    process = dynamokit("serve", "--port", "0", "--workers", "3",
                        "--db", str(tmp_path / "data.db") if db == "file" else ":memory:")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url and "3 processes" in line, line
        workers = _children(process.pid)
        assert len(workers) == 3
        http_client(url.group(0)).create_table(
            TableName="tbl", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        clients = []
        for n in range(30):  # fresh connections land on every process: each sees the table and the items
            client = http_client(url.group(0))
            clients.append(client)
            client.put_item(TableName="tbl", Item={"pk": {"S": f"k{n}"}})
            assert client.get_item(TableName="tbl", Key={"pk": {"S": f"k{n}"}})["Item"] == {"pk": {"S": f"k{n}"}}
        served = [pid for pid in workers if _accepted(pid)]
        assert len(served) >= 2, "connections were spread over the processes"
        clients[0].delete_table(TableName="tbl")  # every process sees the table gone at once
        for client in clients:
            with pytest.raises(client.exceptions.ResourceNotFoundException):
                client.get_item(TableName="tbl", Key={"pk": {"S": "k0"}})
        process.kill()  # even a SIGKILLed parent takes its workers with it
        process.wait(timeout=10)
        for pid in workers:
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"worker {pid} outlived its parent")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _accepted(pid: int) -> bool:
    """Whether process `pid` holds an established TCP connection (it accepted one of the clients)."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return False
    sockets = {link[8:-1] for link in inodes if link.startswith("socket:[")}
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "01" and fields[9] in sockets:  # ESTABLISHED
                return True
    return False


def test_serve_throttling(tmp_path: Path) -> None:
    """`serve --throttling`: a provisioned table of 1 WCU refuses a quick burst of writes (without the flag it
    would take them all)."""
    process = dynamokit("serve", "--port", "0", "--db", str(tmp_path / "data.db"), "--throttling")
    try:
        assert process.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        assert found
        client = http_client(found.group(0))
        client.create_table(TableName="tbl", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
        codes = []
        for n in range(30):
            try:
                client.put_item(TableName="tbl", Item={"pk": {"S": str(n)}})
                codes.append("ok")
            except client.exceptions.ProvisionedThroughputExceededException:
                codes.append("throttled")
        assert codes[0] == "ok" and "throttled" in codes
    finally:
        process.kill()
        process.wait(timeout=10)


def test_serve_faults(tmp_path: Path) -> None:
    """`serve --fault`: the named operation fails with the named error; others do not."""
    process = dynamokit("serve", "--port", "0", "--db", str(tmp_path / "data.db"),
                        "--fault", "ListTables:InternalServerError", "--fault-seed", "1")
    try:
        assert process.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        assert found
        client = http_client(found.group(0))
        with pytest.raises(client.exceptions.InternalServerError) as raised:
            client.list_tables()
        assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 1  # http_client retries once
        assert client.describe_limits()["TableMaxReadCapacityUnits"] > 0
    finally:
        process.kill()
        process.wait(timeout=10)


def test_serve_refuses_bad_faults() -> None:
    for spec in ("PutItem", "PutItem:Oops", "PutItem:ThrottlingException:2", "a:b:c:d:e"):
        result = CliRunner().invoke(main, ["serve", "--port", "0", "--fault", spec])
        assert result.exit_code == 2 and "--fault" in result.output, (spec, result.output)
