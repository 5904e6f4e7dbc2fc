"""The line around the public API: code a user reads (README.md's and docs/'s python blocks, examples/, the
shipped blog in dynamokit.examples) imports dynamokit only through public modules (tests/test_imports.py's
PUBLIC) and only names in their `__all__`, so moving an internal module never breaks a user."""

from __future__ import annotations

import ast
import pathlib
import re
import tomllib

import pytest

from .test_imports import PUBLIC

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Example code is shipped to be read and run, not an API: docs may import the blog from it.
EXAMPLES = "dynamokit.examples"
# Not in PUBLIC, yet not private: `dynamokit.client` is the package behind the public function of that name
# (its internals are `_direct`, `_responses`).
FACES = {"dynamokit.client"}
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def sources() -> list[tuple[str, str]]:
    """(where, code) for every python block of the docs and every example file."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for number, block in enumerate(BLOCK.findall(doc.read_text()), 1):
            found.append((f"{doc.relative_to(ROOT)} block {number}", block))
    for folder in (ROOT / "examples", ROOT / "src" / "dynamokit" / "examples"):
        found += [(str(path.relative_to(ROOT)), path.read_text()) for path in sorted(folder.rglob("*.py"))]
    return found


def offences(code: str) -> list[str]:
    """Each import of dynamokit in `code` that reaches past the public API, as a line saying what."""
    wrong = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            wrong += [f"import {a.name}: not a public module" for a in node.names
                      if a.name.startswith("dynamokit") and not public_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("dynamokit"):
            module = node.module or ""
            if module == EXAMPLES or module.startswith(EXAMPLES + "."):
                continue
            if module not in PUBLIC:
                wrong.append(f"from {module} import ...: not a public module")
                continue
            wrong += [f"from {module} import {a.name}: not in its __all__" for a in node.names
                      if a.name not in PUBLIC[module] and not public_module(f"{module}.{a.name}")]
    return wrong


def public_module(name: str) -> bool:
    return name in PUBLIC or name == EXAMPLES or name.startswith(EXAMPLES + ".")


def test_offences_are_found() -> None:
    assert offences("import dynamokit._engine.core\nfrom dynamokit.model import App, schema\n"
                    "from dynamokit.model._schema import create_tables\nfrom dynamokit import model, Nope\n"
                    "from .data import x\nimport json") == [
        "import dynamokit._engine.core: not a public module",
        "from dynamokit.model import schema: not in its __all__",
        "from dynamokit.model._schema import ...: not a public module",
        "from dynamokit import Nope: not in its __all__",
    ]


@pytest.mark.parametrize(("where", "code"), sources(), ids=[where for where, _ in sources()])
def test_docs_and_examples_use_the_public_api(where: str, code: str) -> None:
    assert offences(code) == []


def source_modules() -> list[str]:
    """Every module under src/dynamokit, by dotted name (a package by its own name)."""
    src = ROOT / "src" / "dynamokit"
    return sorted(".".join(("dynamokit", *path.relative_to(src).with_suffix("").parts)).removesuffix(".__init__")
                  for path in src.rglob("*.py"))


def entry_point_modules() -> set[str]:
    """The modules pyproject.toml's console scripts and entry points name (their names are held by installs)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    targets = [*project.get("scripts", {}).values(),
               *(target for group in project.get("entry-points", {}).values() for target in group.values())]
    return {target.split(":")[0].strip() for target in targets}


def misnamed(modules: list[str], entry_points: set[str]) -> list[str]:
    """The modules that look public but are not: neither in PUBLIC, an entry point, a public face or example
    code, nor private (a component of the dotted name starting with `_`)."""
    return [m for m in modules if m not in PUBLIC and m not in entry_points and m not in FACES
            and not public_module(m) and not any(part.startswith("_") for part in m.split("."))]


def test_misnamed_modules_are_found() -> None:
    looks_public = ["dynamokit.model.codec", "dynamokit.engine"]  # privatize: keep (the names before the renames)
    assert misnamed(["dynamokit", *looks_public, "dynamokit.model._codec", "dynamokit._engine.core",
                     "dynamokit.streams._sinks.duck", "dynamokit.__main__", "dynamokit.launcher",
                     "dynamokit.examples.blog.api", "dynamokit.client"], {"dynamokit.launcher"}) == looks_public


def test_every_module_is_public_or_private() -> None:
    """The line around the public API shows in the names: a module of a public package is `_`-named (or in a
    `_`-named subpackage) unless it is public (PUBLIC), an entry point or example code."""
    modules = source_modules()
    entry_points = entry_point_modules()
    assert entry_points <= set(modules), "an entry point in pyproject.toml names a module that is not there"
    assert set(PUBLIC) <= set(modules)
    assert misnamed(modules, entry_points) == []
