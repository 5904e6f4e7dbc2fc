"""The blog example code the demo runs: the package `dynamokit.examples.blog`, shipped with dynamokit."""

from __future__ import annotations

import importlib
from types import ModuleType

PACKAGE = "dynamokit.examples.blog"


def module(name: str) -> ModuleType:
    """One module of the blog example, e.g. `module("single_table")`."""
    return importlib.import_module(f"{PACKAGE}.{name}")
