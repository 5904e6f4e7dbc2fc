"""The pytest plugin: engine, boto3 client and fresh model tables per test, as a user's suite uses them."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
from dynamokit.model import App, Entity, Keys, Table


class Note(Entity):
    note_id: str
    text: str
    keys = Keys(pk="NOTE#{note_id}", sk="NOTE")


def notes() -> App:
    return App(Table("notes", [Note]))


def test_tables_from_a_model(dynamokit_tables, dynamokit_client):
    app = dynamokit_tables(notes())
    app.put(Note(note_id="n1", text="hi")).run()
    assert dynamokit_client.list_tables()["TableNames"] == ["notes"]
    item = dynamokit_client.get_item(TableName="notes", Key={"pk": {"S": "NOTE#n1"}, "sk": {"S": "NOTE"}})
    assert item["Item"]["text"] == {"S": "hi"}


def test_each_test_gets_fresh_tables(dynamokit_tables, dynamokit_engine):
    app = dynamokit_tables(notes())
    assert app.get(Note, note_id="n1").run() is None
    assert dynamokit_engine.call("ListTables", {})["TableNames"] == ["notes"]
"""


def test_fixtures_in_a_user_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # load it once, whether or not it is installed
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_inprocess("-p", "dynamokit.testing.plugin", "-q")
    result.assert_outcomes(passed=2)
