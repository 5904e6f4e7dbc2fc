"""A request as code to copy: boto3 (Python) and the AWS CLI."""

from __future__ import annotations

import json
import pprint
import re
import shlex
from typing import Any

from .markup import Safe, code_block, html, pretty

# Flags of the AWS CLI for boolean parameters.
_BOOLEANS = {"ScanIndexForward": ("--scan-index-forward", "--no-scan-index-forward"),
             "ConsistentRead": ("--consistent-read", "--no-consistent-read")}
_PAGINATED = {"Query", "Scan", "ListTables"}


def snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def kebab(name: str) -> str:
    return snake(name).replace("_", "-")


def boto3_code(operation: str, request: dict[str, Any], endpoint: str | None, region: str) -> str:
    """`client.<operation>(**request)` as a runnable Python snippet (binary values as bytes)."""
    from ...model._transport import _to_boto  # on first use: importing the model layer costs pydantic

    target = f"endpoint_url={endpoint!r}, " if endpoint else ""
    lines = ["import boto3", "", f'client = boto3.client("dynamodb", {target}region_name={region!r})']
    arguments = "".join(f"    {key}={_literal(value)},\n" for key, value in _to_boto(request).items())
    lines.append(f"response = client.{snake(operation)}(\n{arguments})" if arguments
                 else f"response = client.{snake(operation)}()")
    return "\n".join(lines) + "\n"


def _literal(value: Any) -> str:
    text = pprint.pformat(value, indent=1, width=100, sort_dicts=False)
    return text.replace("\n", "\n    ")


def cli_command(operation: str, request: dict[str, Any], endpoint: str | None, region: str) -> str:
    """The same request as an `aws dynamodb` command (one request: --no-paginate)."""
    words = ["aws", "dynamodb", kebab(operation)]
    for key, value in request.items():
        if key in _BOOLEANS and isinstance(value, bool):
            words.append(_BOOLEANS[key][0 if value else 1])
        elif isinstance(value, (dict, list)):
            words += [f"--{kebab(key)}", json.dumps(value, ensure_ascii=False)]
        else:
            words += [f"--{kebab(key)}", str(value)]
    if operation in _PAGINATED:
        words.append("--no-paginate")
    words += ["--region", region]
    if endpoint:
        words += ["--endpoint-url", endpoint]
    return " ".join(shlex.quote(w) for w in words[:3]) + "".join(
        (" \\\n  " if w.startswith("--") else " ") + shlex.quote(w) for w in words[3:]) + "\n"


def request_blocks(operation: str, request: dict[str, Any], endpoint: str | None, region: str) -> Safe:
    """The request a page sends, shown three ways: its JSON, boto3 code and an AWS CLI command."""
    return html('<div class="request">{}{}{}</div>', code_block(pretty(request), f"{operation} request"),
                code_block(boto3_code(operation, request, endpoint, region), "boto3"),
                code_block(cli_command(operation, request, endpoint, region), "AWS CLI"))
