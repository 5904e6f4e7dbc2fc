"""The `dynamokit` command's entry point. The command line is the `cli` extra (click, rich): without it the
command says, in one line, which install adds it."""

from __future__ import annotations

import sys
from importlib.util import find_spec

HINT = "pip install 'dynamokit[cli]'"


def main() -> None:
    """Run the command line, or exit with status 1 and one line naming the extra when it is not installed."""
    missing = [name for name in ("click", "rich") if find_spec(name) is None]
    if missing:
        sys.exit(f"dynamokit: the command line needs {' and '.join(missing)}, which the cli extra installs: {HINT}")
    from ._cli import main as cli

    cli()
