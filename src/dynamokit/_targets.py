"""`module:attribute` targets of the command line (`dynamokit model show blog:app`), found as uvicorn and
flask find theirs: modules in the current directory first, then installed packages."""

from __future__ import annotations

import importlib
import os
import sys

import click


def load(target: str, what: str = "attribute") -> object:
    """The object `target` (`package.module:name`) names; a click.BadParameter that says what is wrong."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise click.BadParameter(f"expected module:{what}, not {target!r}", param_hint="TARGET")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name and not module_name.startswith(f"{error.name}."):
            raise  # the module exists, and one it imports is missing: the traceback says where
        raise click.BadParameter(f"no module named {module_name!r} in {cwd} or the installed packages",
                                 param_hint="TARGET") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise click.BadParameter(f"module {module_name!r} has no {attribute!r}", param_hint="TARGET") from None
