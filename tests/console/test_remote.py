"""`dynamokit console --endpoint-url URL` (a real subprocess) and the model page of `--app`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynamokit._engine import Engine
from dynamokit.model import App, Entity, Keys, Table
from dynamokit.server import Server
from dynamokit.server._auth import Authenticator, AuthorizingBackend
from dynamokit.server._console import configure

from .conftest import Browser, create_posts

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_console(server: Server, key: str = "k", secret: str = "s") -> Iterator[Browser]:
    """`dynamokit console` pointed at `server` with these keys in the environment, and a browser on it."""
    env = {**os.environ, "PYTHONPATH": SRC, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    process = subprocess.Popen([sys.executable, "-m", "dynamokit._cli", "console", "--endpoint-url", server.url,
                                "--port", "0", "--region", "us-east-1"],
                               env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/console/", line)
        assert found, (line, process.stderr.read() if process.poll() is not None else "")
        yield Browser(int(found.group(1)))
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def console(server: Server) -> Iterator[Browser]:
    yield from run_console(server)


def test_with_auth_the_console_command_signs_as_the_principal(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:ListTables",
                                                      "Resource": "*"}]}
    path.write_text(json.dumps({"principals": [{"name": "alice", "access_key_id": "AKIDALICE",
                                                "secret_access_key": "alice-secret", "policies": [policy]}]}))
    create_posts(engine)
    backend = AuthorizingBackend(engine, Authenticator.from_file(str(path), engine.region, engine.account_id))
    with Server(backend) as server:
        for browser in run_console(server, "AKIDALICE", "alice-secret"):
            page = browser.get("/console/tables/posts")  # DescribeTable: not allowed
            assert page.status == 400 and "AccessDeniedException" in (page.error() or "")
        for browser in run_console(server, "AKIDALICE", "wrong"):
            page = browser.get("/console/")
            assert page.status == 400 and "InvalidSignatureException" in (page.error() or "")


def test_the_console_command_serves_any_endpoint(engine: Engine, console: Browser) -> None:
    create_posts(engine, stream=True)
    engine.call("PutItem", {"TableName": "posts", "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}}})
    listed = console.get("/console/")
    assert listed.status == 200 and 'href="/console/tables/posts"' in listed.text
    page = console.post("/console/tables/new", {"name": "made", "pk": "id", "pk_type": "S"})
    assert page.status == 200 and "made" in engine.call("ListTables")["TableNames"]
    found = console.get("/console/tables/posts/items?mode=query&pk=a").text
    assert '<td title="S">b</td>' in found
    status, stream = console.api("DescribeTable", {"TableName": "posts"})
    status, described = console.api("DescribeStream", {"StreamArn": stream["Table"]["LatestStreamArn"]})
    assert status == 200 and described["StreamDescription"]["Shards"]  # the Streams API, through its own client
    usage = console.get("/console/usage")  # the endpoint's running totals are not published
    assert usage.status == 200 and 'id="usage-unavailable"' in usage.text and "CloudWatch" in usage.text
    # the console's own server does not proxy the DynamoDB API to the endpoint
    refused = console.request("POST", "/", b"{}", {"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                                    "Content-Type": "application/x-amz-json-1.0"})
    assert refused.status == 400 and "UnrecognizedClientException" in refused.text


class Note(Entity):
    owner: str
    note_id: str
    keys = Keys(pk="OWNER#{owner}", sk="NOTE#{note_id}")


def test_the_model_page_shows_the_design_chart(browser: Browser) -> None:
    assert browser.get("/console/model").status == 404
    configure(App(Table("notes", [Note])))
    try:
        page = browser.get("/console/model")
        assert page.status == 200 and "OWNER#{owner}" in page.text and 'id="patterns"' in page.text
        assert 'href="/console/model"' in browser.get("/console/").text
    finally:
        configure(None)
