"""The least-privilege policy of a processor's role, independent of the template language: a `ref`
function turns (kind, name) into that language's expression for the resource's ARN."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from ._spec import Processor

Kind = Literal["table", "indexes", "stream", "stream-wildcard", "queue", "log-group"]
Ref = Callable[[Kind, str], Any]
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def statements(processor: Processor, ref: Ref) -> list[dict[str, Any]]:
    """Logs to the function's own log group; stream reads on exactly the mapped table's stream (ListStreams
    on that table's streams); SendMessage to exactly the on-failure queue; the declared actions on exactly
    the declared tables and their indexes."""
    out: list[dict[str, Any]] = [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                                       "logs:PutLogEvents"],
         "Resource": [ref("log-group", processor.name)]},
        {"Sid": "ReadStream", "Effect": "Allow", "Action": STREAM_READ,
         "Resource": [ref("stream", processor.mapping.table)]},
        {"Sid": "ListStreams", "Effect": "Allow", "Action": ["dynamodb:ListStreams"],
         "Resource": [ref("stream-wildcard", processor.mapping.table)]},
    ]
    if processor.mapping.on_failure is not None:
        out.append({"Sid": "OnFailure", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                    "Resource": [ref("queue", processor.mapping.on_failure)]})
    for n, (table, actions) in enumerate(sorted(processor.tables.items())):
        out.append({"Sid": f"Table{n}", "Effect": "Allow",
                    "Action": [f"dynamodb:{a}" for a in sorted(set(actions))],
                    "Resource": [ref("table", table), ref("indexes", table)]})
    return out
