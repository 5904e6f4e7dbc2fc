"""Every python block of docs/testing.md runs: blocks that define tests run as a pytest session of their own
(so fixtures and decorators are exercised as a user's suite would), the others are executed as scripts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_guide_has_blocks() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_block(number: int, tmp_path: Path) -> None:
    code = BLOCKS[number]
    if "def test_" not in code:
        exec(compile(code, f"{DOC.name}[block {number}]", "exec"), {"__name__": f"docs_block_{number}"})  # noqa: S102
        return
    path = tmp_path / f"test_docs_block_{number}.py"
    path.write_text(code)
    tests = len(re.findall(r"^def test_", code, re.MULTILINE))
    outcome = pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-c", os.devnull,
                           str(path)], plugins=[_Count()])
    assert outcome == 0
    assert _Count.passed == tests


class _Count:
    passed = 0

    def pytest_sessionstart(self) -> None:
        _Count.passed = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.passed:
            _Count.passed += 1
