"""docs/migrations.md's python code blocks, run in order in one namespace (the page is executable)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "migrations.md"


def test_the_walkthrough_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "docs_migrations"}
    exec(compile("\n".join(blocks), str(DOC), "exec", dont_inherit=True), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    shown = re.search(
        r"```text\n(blog: model version 1 -> 2.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL
    )
    assert shown is not None and shown.group(1).strip() in printed  # the plan shown is the plan printed
    assert "access pattern 'posts_in_category' reads GSI 'gsi2', which table 'blog' lacks" in printed
    assert "blog: stored v2, App v2; run v1->v2 finished: scanned 40, migrated 40, parked now 0" in printed
    namespace["engine"].close()  # type: ignore[attr-defined]
