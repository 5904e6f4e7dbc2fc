"""Every ```python block of docs/patterns/*.md runs, in order, one namespace per guide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDES = sorted((Path(__file__).resolve().parents[2] / "docs" / "patterns").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_every_pattern_has_a_guide() -> None:
    assert {g.stem for g in GUIDES} >= {"simple", "faux-sql", "single-table", "microservice"}


@pytest.mark.parametrize("guide", GUIDES, ids=[g.stem for g in GUIDES])
def test_guide_examples_run(guide: Path) -> None:
    blocks = BLOCK.findall(guide.read_text(encoding="utf-8"))
    assert blocks, f"{guide.name} has no python examples"
    namespace: dict[str, object] = {"__name__": f"docs_{guide.stem.replace('-', '_')}"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{guide.name}[block {number}]", "exec"), namespace)  # noqa: S102 - running the docs is the point
