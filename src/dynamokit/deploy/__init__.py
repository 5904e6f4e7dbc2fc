"""dynamokit.deploy: the same app on AWS unchanged. A `Deployment` lists the App(s) and the stream
processors (each with its `EventSourceMapping`, the one the local runner reads too) and exports as SAM,
CloudFormation or Terraform: tables, Lambda functions, event source mappings, least-privilege roles and
on-failure queues."""

from __future__ import annotations

from ..streams._mapping import EventSourceMapping, MappingError
from ._cloudformation import template, template_json
from ._export import render, write
from ._spec import LSI, READ, WRITE, Deployment, DeploymentError, Processor, TableSettings
from ._tables import create_table_request
from ._terraform import terraform

__all__ = [
    "LSI",
    "READ",
    "WRITE",
    "Deployment",
    "DeploymentError",
    "EventSourceMapping",
    "MappingError",
    "Processor",
    "TableSettings",
    "create_table_request",
    "render",
    "template",
    "template_json",
    "terraform",
    "write",
]
