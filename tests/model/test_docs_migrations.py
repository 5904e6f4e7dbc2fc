"""docs/migrations.md's python code blocks, run in order in one namespace (the page is executable)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "migrations.md"


def test_the_walkthrough_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 9
    namespace: dict[str, object] = {"__name__": "docs_migrations"}
    exec(compile("\n".join(blocks), str(DOC), "exec", dont_inherit=True), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    plans = re.findall(
        r"```text\n(\w+: model version 1 -> 2.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL
    )
    assert len(plans) == 2  # single-table and faux-SQL
    for shown in plans:
        assert shown.strip() in printed  # the plan shown is the plan printed
    assert "access pattern 'posts_in_category' reads GSI 'gsi2', which table 'blog' lacks" in printed
    assert "blog: stored v2, App v2; run v1->v2 finished: scanned 40, migrated 40, parked now 0" in printed
    assert "GSI 'by_user' backfill by DynamoDB: 40 WCU (metered by the engine)" in printed
    assert "view 'customer_order' from table 'orders': read 30 items" in printed
    assert (
        "view 'customer_order' ready: scanned 30 items" in printed and ", 30 view writes (30 WCU)" in printed
    )
    assert "reader_views: stored v2, App v2; view 'customer_order' ready; run v1->v2 finished" in printed
    namespace["engine"].close()  # type: ignore[attr-defined]
