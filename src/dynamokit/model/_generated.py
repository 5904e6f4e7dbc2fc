"""Functions generated once per class or template (straight-line code instead of per-call dispatch)."""

from __future__ import annotations

from typing import Any


def define(source: str, filename: str, namespace: dict[str, Any], *names: str) -> list[Any]:
    """Run generated `source` (built only from our own templates, every name and value repr()-quoted or
    passed through `namespace`) and return the functions it defines, by name."""
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - see the docstring
    return [namespace[name] for name in names]
