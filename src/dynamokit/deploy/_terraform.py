"""A deployment as Terraform HCL for the AWS provider: aws_dynamodb_table, aws_iam_role (+ its inline
policy), aws_cloudwatch_log_group, aws_lambda_function, aws_lambda_event_source_mapping, aws_sqs_queue.
The function's package is `var.package` (a .zip built from the deployment's code)."""

from __future__ import annotations

from typing import Any

from . import _iam as iam
from ._hcl import Block, Expr, render, string
from ._spec import Deployment, Processor
from ._tables import create_table_request, terraform_name

# AWS::Lambda::EventSourceMapping property -> aws_lambda_event_source_mapping argument
MAPPING_ARGUMENTS = {
    "BatchSize": "batch_size",
    "MaximumBatchingWindowInSeconds": "maximum_batching_window_in_seconds",
    "ParallelizationFactor": "parallelization_factor",
    "BisectBatchOnFunctionError": "bisect_batch_on_function_error",
    "MaximumRetryAttempts": "maximum_retry_attempts",
    "MaximumRecordAgeInSeconds": "maximum_record_age_in_seconds",
    "TumblingWindowInSeconds": "tumbling_window_in_seconds",
    "StartingPosition": "starting_position",
    "FunctionResponseTypes": "function_response_types",
}


def terraform(deployment: Deployment) -> str:
    """The HCL of every resource of the deployment."""
    return render(blocks(deployment))


def blocks(deployment: Deployment) -> list[Block]:
    """The deployment's Terraform blocks (the provider requirement, variables, resources)."""
    blocks = [Block("terraform").add("required_providers", Block("required_providers").add(
        "aws", {"source": "hashicorp/aws", "version": ">= 5.0"}))]
    blocks += [_table(deployment, name) for name in deployment.tables]
    if deployment.processors:
        blocks.append(Block("variable", ("package",)).add("type", Expr("string")).add(
            "description", "Path of the functions' deployment package (.zip)"))
    for processor in deployment.processors:
        blocks += _processor(deployment, processor)
    return blocks


def _table(deployment: Deployment, name: str) -> Block:
    table, settings = deployment.tables[name], deployment.settings_of(name)
    request = create_table_request(deployment, name)
    block = Block("resource", ("aws_dynamodb_table", terraform_name(name)))
    block.add("name", name).add("billing_mode", request["BillingMode"]).add("hash_key", table.pk)
    block.add("range_key", table.sk)
    if settings.billing == "PROVISIONED":
        block.add("read_capacity", settings.read_capacity).add("write_capacity", settings.write_capacity)
    for d in request["AttributeDefinitions"]:
        block.add("attribute", Block("attribute").add("name", d["AttributeName"]).add("type", d["AttributeType"]))
    for gsi in request.get("GlobalSecondaryIndexes", ()):
        keys = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        index = Block("global_secondary_index").add("name", gsi["IndexName"]).add("hash_key", keys["HASH"])
        index.add("range_key", keys.get("RANGE")).add("projection_type", gsi["Projection"]["ProjectionType"])
        if settings.billing == "PROVISIONED":
            index.add("read_capacity", settings.read_capacity).add("write_capacity", settings.write_capacity)
        block.add("global_secondary_index", index)
    for lsi in request.get("LocalSecondaryIndexes", ()):
        block.add("local_secondary_index", Block("local_secondary_index").add("name", lsi["IndexName"]).add(
            "range_key", lsi["KeySchema"][1]["AttributeName"]).add("projection_type", lsi["Projection"]["ProjectionType"]))
    if table.ttl_attribute:
        block.add("ttl", Block("ttl").add("attribute_name", table.ttl_attribute).add("enabled", True))
    if table.stream:
        block.add("stream_enabled", True).add("stream_view_type", table.stream)
    if settings.pitr:
        block.add("point_in_time_recovery", Block("point_in_time_recovery").add("enabled", True))
    if settings.deletion_protection:
        block.add("deletion_protection_enabled", True)
        block.add("lifecycle", Block("lifecycle").add("prevent_destroy", True))
    return block


def _ref(kind: iam.Kind, name: str) -> Any:
    table = f"aws_dynamodb_table.{terraform_name(name)}"
    if kind == "table":
        return Expr(f"{table}.arn")
    if kind == "indexes":
        return Expr(f'"${{{table}.arn}}/index/*"')
    if kind == "stream":
        return Expr(f"{table}.stream_arn")
    if kind == "stream-wildcard":
        return Expr(f'"${{{table}.arn}}/stream/*"')
    if kind == "queue":
        return Expr(f"aws_sqs_queue.{terraform_name(name)}.arn")
    return Expr(f'"${{aws_cloudwatch_log_group.{terraform_name(name)}.arn}}:*"')


def _processor(deployment: Deployment, processor: Processor) -> list[Block]:
    mapping, name = processor.mapping, terraform_name(processor.name)
    policy = {"Version": "2012-10-17", "Statement": iam.statements(processor, _ref)}
    blocks = [
        Block("resource", ("aws_iam_role", name)).add("name", f"{processor.name}-role").add(
            "assume_role_policy", _jsonencode(iam.TRUST)),
        Block("resource", ("aws_iam_role_policy", name)).add("name", f"{processor.name}-least-privilege").add(
            "role", Expr(f"aws_iam_role.{name}.id")).add("policy", _jsonencode(policy)),
        Block("resource", ("aws_cloudwatch_log_group", name)).add("name", f"/aws/lambda/{processor.name}"),
    ]
    function = Block("resource", ("aws_lambda_function", name)).add("function_name", processor.name).add(
        "role", Expr(f"aws_iam_role.{name}.arn")).add("handler", mapping.handler.replace(":", "."))  # type: ignore[union-attr]
    function.add("runtime", deployment.runtime).add("memory_size", processor.memory).add("timeout", processor.timeout)
    function.add("filename", Expr("var.package")).add("source_code_hash", Expr("filebase64sha256(var.package)"))
    if processor.environment:
        function.add("environment", Block("environment").add("variables", dict(processor.environment)))
    function.add("depends_on", [Expr(f"aws_cloudwatch_log_group.{name}"), Expr(f"aws_iam_role_policy.{name}")])
    blocks.append(function)
    source = Block("resource", ("aws_lambda_event_source_mapping", name)).add(
        "event_source_arn", _ref("stream", mapping.table)).add("function_name", Expr(f"aws_lambda_function.{name}.arn"))
    props = mapping.properties()
    for prop, argument in MAPPING_ARGUMENTS.items():
        source.add(argument, props.get(prop))
    if "FilterCriteria" in props:
        criteria = Block("filter_criteria")
        for f in props["FilterCriteria"]["Filters"]:
            criteria.add("filter", Block("filter").add("pattern", f["Pattern"]))
        source.add("filter_criteria", criteria)
    if mapping.on_failure is not None:
        queue = terraform_name(mapping.on_failure)
        blocks.append(Block("resource", ("aws_sqs_queue", queue)).add("name", mapping.on_failure).add(
            "message_retention_seconds", 1_209_600))
        source.add("destination_config", Block("destination_config").add("on_failure", Block("on_failure").add(
            "destination_arn", _ref("queue", mapping.on_failure))))
    blocks.append(source)
    return blocks


def _jsonencode(value: Any) -> Expr:
    return Expr(f"jsonencode({_hcl_object(value)})")


def _hcl_object(value: Any) -> str:
    """A JSON-like value as one HCL expression line (references left as expressions)."""
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return string(value)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_hcl_object(v) for v in value) + "]"
    return "{ " + ", ".join(f"{string(k)} = {_hcl_object(v)}" for k, v in value.items()) + " }"
