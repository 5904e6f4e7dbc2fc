"""The blog example code (examples/blog in the source tree), imported as the package `dynamokit_blog`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

NAME = "dynamokit_blog"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "blog"


def blog_package() -> ModuleType:
    """The examples/blog package (its modules import each other relatively)."""
    if NAME in sys.modules:
        return sys.modules[NAME]
    init = EXAMPLES / "__init__.py"
    if not init.exists():
        raise RuntimeError(f"the blog example is not at {EXAMPLES}: run the demo from a source checkout")
    spec = importlib.util.spec_from_file_location(NAME, init, submodule_search_locations=[str(EXAMPLES)])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = package
    spec.loader.exec_module(package)
    return package


def module(name: str) -> ModuleType:
    """One module of the blog example, e.g. `module("single_table")`."""
    blog_package()
    return importlib.import_module(f"{NAME}.{name}")
