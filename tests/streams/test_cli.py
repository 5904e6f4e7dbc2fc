"""`dynamokit streams run`: argument handling (the runner itself is tested in test_runner)."""

from __future__ import annotations

from click.testing import CliRunner

from dynamokit.streams._cli import streams


def test_run_rejects_a_bad_target(tmp_path: object) -> None:
    result = CliRunner().invoke(streams, ["run", "nomodule", "--db", ":memory:", "--table", "t"])
    assert result.exit_code != 0 and "module:processor" in result.output
