"""docs/deploy.md: its ```python blocks run, in order, in one namespace (the page's own `dynamokit.mock`
answers the DynamoDB clients it makes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "deploy.md"


def test_the_python_blocks_of_deploy_md_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("BLOG_SEARCH_DIR", str(tmp_path))
    from dynamokit.examples.blog import deploy

    deploy._reader.cache_clear()
    namespace: dict[str, object] = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - the documentation's own code
    finally:
        deploy._reader.cache_clear()
    out = capsys.readouterr().out
    assert "batch_size must be an integer 1-10000, not 10001" in out
    assert (tmp_path / "infra" / "main.tf").exists()
