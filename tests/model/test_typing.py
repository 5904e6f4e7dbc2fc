"""Types reach the call site: mypy --strict passes on user code and reports each deliberate mistake."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "typing"
SRC = Path(__file__).parents[2] / "src"


def mypy(*files: str) -> tuple[int, str]:
    """mypy --strict on files of tests/model/typing, as a user sees it: dynamokit is found through its
    py.typed marker and errors inside the library are not the user's (follow-imports=silent)."""
    pytest.importorskip("mypy")
    env = {**os.environ, "MYPYPATH": f"{SRC}{os.pathsep}{HERE}"}
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--no-incremental",
            "--cache-dir=/dev/null",
            "--explicit-package-bases",
            *files,
        ],
        check=False,
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


def test_py_typed_ships() -> None:
    assert (SRC / "dynamokit" / "py.typed").exists()


def test_user_code_passes_mypy_strict() -> None:
    code, output = mypy("models.py", "usage_ok.py")
    assert code == 0, output


def test_each_deliberate_mistake_is_reported() -> None:
    source = (HERE / "usage_errors.py").read_text().splitlines()
    expected = {
        (n, m.group(1)) for n, line in enumerate(source, 1) if (m := re.search(r"# E: ([\w-]+)", line))
    }
    assert len(expected) == 12
    code, output = mypy("models.py", "usage_errors.py")
    reported = {
        (int(m.group(1)), m.group(2))
        for m in re.finditer(r"usage_errors\.py:(\d+): error: .*\[([\w-]+)\]", output)
    }
    assert code == 1
    assert reported == expected, output


def test_typed_patterns_run() -> None:
    import importlib.util
    from datetime import datetime

    from dynamokit import Engine
    from dynamokit.model import ModelError, UnboundedFilterWarning, UnknownAttribute
    from dynamokit.model._builders import condition_of
    from dynamokit.model._schema import create_tables

    spec = importlib.util.spec_from_file_location("typing_models", HERE / "models.py")
    assert spec is not None and spec.loader is not None
    models = importlib.util.module_from_spec(spec)
    sys.modules["typing_models"] = models  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(models)
    finally:
        del sys.modules["typing_models"]
    with Engine() as engine:
        app = models.blog().use(engine)
        create_tables(app)
        for day in (1, 2, 3):
            app.put(
                models.Post(post_id=f"p{day}", author="ann", title="t", created=datetime(2024, 1, day))
            ).run()
        assert models.posts_by_author.by == ("author",)
        assert models.posts_by_author.description == "An author's posts, oldest first."
        query = app.query(models.posts_by_author, "ann").ge(created=datetime(2024, 1, 2))
        assert [p.post_id for p in query.reverse().all()] == ["p3", "p2"]
        assert len(app.query(models.posts_by_author, author="ann").all()) == 3
        typed = app.query(models.posts_by_author, author="ann").where(
            lambda p: (p.created > datetime(2024, 1, 1)) & ~(p.post_id == "p3")
        )
        with pytest.warns(UnboundedFilterWarning):
            assert [p.post_id for p in typed.all()] == ["p2"]
        with pytest.raises(TypeError, match="combine conditions with &, | and ~"):
            app.query(models.posts_by_author, author="ann").where(lambda p: p.views > 1 and p.title == "t")
        with pytest.raises(TypeError, match="must return a condition"):
            app.query(models.posts_by_author, author="ann").where(lambda p: True)
        with pytest.raises(UnknownAttribute, match="did you mean 'title'"):
            app.query(models.posts_by_author, author="ann").where(lambda p: p.titel == "x")
        nested = condition_of(lambda u: u.address.city == "Oslo")
        assert list(nested.paths()) == ["address.city"]
        with pytest.raises(ModelError, match=r"pattern 'posts_by_author' needs \['author'\]"):
            app.query(models.posts_by_author)  # type: ignore[call-overload]
