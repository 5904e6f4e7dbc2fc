"""A deployment as a CloudFormation template (AWS::Lambda::Function + AWS::Lambda::EventSourceMapping) or a
SAM template (AWS::Serverless::Function with a DynamoDB event): tables, roles, functions, mappings and
on-failure queues."""

from __future__ import annotations

import json
from typing import Any

from . import _iam as iam
from ._spec import Deployment, Processor
from ._tables import cloudformation_properties, logical_id

FORMATS = ("sam", "cloudformation")


def template(deployment: Deployment, kind: str = "sam") -> dict[str, Any]:
    """The template as a dict (`kind`: "sam" or "cloudformation")."""
    if kind not in FORMATS:
        raise ValueError(f"kind must be sam or cloudformation, not {kind!r}")
    resources: dict[str, Any] = {}
    for name in deployment.tables:
        resource: dict[str, Any] = {"Type": "AWS::DynamoDB::Table",
                                    "Properties": cloudformation_properties(deployment, name)}
        policy = "Retain" if deployment.settings_of(name).deletion_protection else "Delete"
        resource |= {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}  # explicit, for stateful resources
        resources[logical_id(name, "Table")] = resource
    for processor in deployment.processors:
        resources |= _processor(deployment, processor, kind)
    out: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
    if kind == "sam":
        out["Transform"] = "AWS::Serverless-2016-10-31"
    elif deployment.processors:
        out["Parameters"] = {
            "CodeS3Bucket": {"Type": "String", "Description": "S3 bucket of the functions' deployment package"},
            "CodeS3Key": {"Type": "String", "Description": "S3 key of the functions' deployment package (.zip)"}}
    out["Description"] = "dynamokit deployment: tables" + (" and stream processors" if deployment.processors else "")
    out["Resources"] = resources
    return out


def template_json(deployment: Deployment, kind: str = "sam") -> str:
    return json.dumps(template(deployment, kind), indent=2) + "\n"


def _ref(kind: iam.Kind, name: str) -> Any:
    table = logical_id(name, "Table")
    if kind == "table":
        return {"Fn::GetAtt": [table, "Arn"]}
    if kind == "indexes":
        return {"Fn::Sub": f"${{{table}.Arn}}/index/*"}
    if kind == "stream":
        return {"Fn::GetAtt": [table, "StreamArn"]}
    if kind == "stream-wildcard":
        return {"Fn::Sub": f"${{{table}.Arn}}/stream/*"}
    if kind == "queue":
        return {"Fn::GetAtt": [logical_id(name, "Queue"), "Arn"]}
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{name}:*"}


def _processor(deployment: Deployment, processor: Processor, kind: str) -> dict[str, Any]:
    mapping, base = processor.mapping, logical_id(processor.name, "")
    resources: dict[str, Any] = {f"{base}Role": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": iam.TRUST,
        "Policies": [{"PolicyName": f"{processor.name}-least-privilege", "PolicyDocument": {
            "Version": "2012-10-17", "Statement": iam.statements(processor, _ref)}}]}}}
    settings: dict[str, Any] = {
        "FunctionName": processor.name, "Handler": mapping.handler.replace(":", "."),  # type: ignore[union-attr]
        "Runtime": deployment.runtime, "MemorySize": processor.memory, "Timeout": processor.timeout,
        "Role": {"Fn::GetAtt": [f"{base}Role", "Arn"]}}
    if processor.environment:
        settings["Environment"] = {"Variables": dict(processor.environment)}
    source = {"EventSourceArn": _ref("stream", mapping.table)} | mapping.properties()
    if mapping.on_failure is not None:
        queue = logical_id(mapping.on_failure, "Queue")
        resources[queue] = {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
                            "Properties": {
            "QueueName": mapping.on_failure, "MessageRetentionPeriod": 1_209_600}}
        source["DestinationConfig"] = {"OnFailure": {"Destination": _ref("queue", mapping.on_failure)}}
    if kind == "sam":
        event = {"Stream": source.pop("EventSourceArn")} | source
        if "DestinationConfig" in event:
            event["DestinationConfig"]["OnFailure"]["Type"] = "SQS"
        resources[f"{base}Function"] = {"Type": "AWS::Serverless::Function", "Properties": settings | {
            "CodeUri": deployment.code, "Events": {"Stream": {"Type": "DynamoDB", "Properties": event}}}}
    else:
        resources[f"{base}Function"] = {"Type": "AWS::Lambda::Function", "Properties": settings | {
            "Code": {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}}}}
        resources[f"{base}Mapping"] = {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "FunctionName": {"Ref": f"{base}Function"}} | source}
    return resources
