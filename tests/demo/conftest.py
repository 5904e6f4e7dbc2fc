"""One end-to-end `dynamokit demo` run on a small data set, shared by the tests that read its reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dynamokit._demo.cli import demo

SIZE = 600


@dataclass
class DemoRun:
    output: str
    json: dict[str, Any]
    html: Path
    directory: Path


@pytest.fixture(scope="package")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    where = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        demo,
        [
            "--size",
            str(SIZE),
            "--seed",
            "3",
            "--dir",
            str(where / "data"),
            "--html",
            str(where / "report.html"),
            "--json",
            str(where / "report.json"),
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return DemoRun(
        result.output, json.loads((where / "report.json").read_text()), where / "report.html", where / "data"
    )
