"""`dynamokit.mock(serve=True)`: the mock's engine served on 127.0.0.1 for other processes, through the
environment (`AWS_ENDPOINT_URL_DYNAMODB`, dummy credentials and region), restored afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import boto3

import dynamokit
from dynamokit.testing._mock import Mock

from .conftest import USERS

CHILD = """
import json, boto3
ddb = boto3.client("dynamodb", config=boto3.session.Config(connect_timeout=2, read_timeout=5,
                                                           retries={"max_attempts": 1}))
ddb.put_item(TableName="users", Item={"pk": {"S": "from-child"}})
print(json.dumps(ddb.get_item(TableName="users", Key={"pk": {"S": "from-parent"}})["Item"]))
"""


def _child() -> Any:
    done = subprocess.run([sys.executable, "-c", CHILD], env=dict(os.environ), capture_output=True, text=True, check=False,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_subprocess_reaches_the_same_engine() -> None:
    before = dict(os.environ)
    with dynamokit.mock(tables=[USERS], serve=True) as engine:
        assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"].startswith("http://127.0.0.1:")
        assert os.environ["AWS_ACCESS_KEY_ID"] and os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
        boto3.client("dynamodb").put_item(TableName="users", Item={"pk": {"S": "from-parent"}})
        assert _child() == {"pk": {"S": "from-parent"}}
        assert engine.call("GetItem", {"TableName": "users", "Key": {"pk": {"S": "from-child"}}})["Item"]
    assert dict(os.environ) == before


def test_credentials_and_region_already_set_are_kept(monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://elsewhere.invalid")
    with dynamokit.mock(serve=True):
        assert os.environ["AWS_ACCESS_KEY_ID"] == "mine"
        assert "AWS_DEFAULT_REGION" not in os.environ
        assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] != "http://elsewhere.invalid"
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == "http://elsewhere.invalid"


def test_server_fixture(dynamokit_mock_server: Mock) -> None:
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == dynamokit_mock_server.url
    dynamokit_mock_server.engine.call("CreateTable", USERS)
    dynamokit_mock_server.engine.call("PutItem", {"TableName": "users", "Item": {"pk": {"S": "from-parent"}}})
    assert _child() == {"pk": {"S": "from-parent"}}
