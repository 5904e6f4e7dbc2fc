"""`dynamokit model export`: an App or a Deployment as SAM, CloudFormation, Terraform or CreateTable
requests, printed or written to a folder."""

from __future__ import annotations

import json
from pathlib import Path

from ..model import App
from ._cloudformation import template_json
from ._spec import Deployment
from ._tables import create_table_request
from ._terraform import terraform

FORMATS = ("sam", "cloudformation", "terraform", "create-table")
FILES = {"sam": "template.json", "cloudformation": "template.json", "terraform": "main.tf",
         "create-table": "tables.json"}


def as_deployment(found: object) -> Deployment | None:
    """A Deployment as is, an App as a deployment of its tables alone (None: neither), calling a factory."""
    if callable(found) and not isinstance(found, (App, Deployment, type)):
        found = found()
    if isinstance(found, App):
        return Deployment(found)
    return found if isinstance(found, Deployment) else None


def render(deployment: Deployment, kind: str) -> str:
    """The export's text in `kind` (one of FORMATS)."""
    if kind == "terraform":
        return terraform(deployment)
    if kind == "create-table":
        return json.dumps([create_table_request(deployment, name) for name in deployment.tables], indent=2) + "\n"
    return template_json(deployment, kind)


def write(deployment: Deployment, kind: str, out: str | Path) -> Path:
    """Write the export into folder `out` (created if missing); the file written."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILES[kind]
    path.write_text(render(deployment, kind))
    return path
