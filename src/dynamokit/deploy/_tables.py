"""A deployment's tables as CreateTable requests (local engines) and CloudFormation properties: the model's
keys, GSIs, stream and TTL plus the deployment's billing, PITR, deletion protection and LSIs."""

from __future__ import annotations

from typing import Any

from ..model._schema import create_table_request as model_request
from ._spec import Deployment, DeploymentError


def create_table_request(deployment: Deployment, name: str) -> dict[str, Any]:
    """The CreateTable input of one table as deployed."""
    table, settings = deployment.tables[name], deployment.settings_of(name)
    request = model_request(table)
    if settings.billing == "PROVISIONED":
        request["BillingMode"] = "PROVISIONED"
        units = {"ReadCapacityUnits": settings.read_capacity, "WriteCapacityUnits": settings.write_capacity}
        request["ProvisionedThroughput"] = units
        for gsi in request.get("GlobalSecondaryIndexes", ()):
            gsi["ProvisionedThroughput"] = dict(units)
    if settings.lsis:
        if table.sk is None:
            raise DeploymentError(f"table {name!r}: local secondary indexes need a table with a sort key")
        known = {d["AttributeName"]: d["AttributeType"] for d in request["AttributeDefinitions"]}
        for lsi in settings.lsis:
            if known.setdefault(lsi.sk, lsi.sk_type) != lsi.sk_type:
                raise DeploymentError(f"table {name!r}: LSI {lsi.name} sort key {lsi.sk!r} is both S and N")
        request["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": t} for a, t in known.items()]
        request["LocalSecondaryIndexes"] = [{
            "IndexName": lsi.name,
            "KeySchema": [{"AttributeName": table.pk, "KeyType": "HASH"}, {"AttributeName": lsi.sk, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": lsi.projection}} for lsi in settings.lsis]
    if settings.deletion_protection:
        request["DeletionProtectionEnabled"] = True
    return request


def cloudformation_properties(deployment: Deployment, name: str) -> dict[str, Any]:
    """The AWS::DynamoDB::Table properties of one table."""
    table, settings = deployment.tables[name], deployment.settings_of(name)
    props = create_table_request(deployment, name)
    if table.stream:
        props["StreamSpecification"] = {"StreamViewType": table.stream}
    if table.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    if settings.pitr:
        props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    return props


def logical_id(name: str, suffix: str) -> str:
    """A CloudFormation logical id (letters and digits) from a resource name."""
    parts = "".join(c if c.isalnum() else " " for c in name).split()
    return "".join(p[:1].upper() + p[1:] for p in parts) + suffix


def terraform_name(name: str) -> str:
    """A Terraform resource name from a resource name."""
    text = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)
    return text if text[:1].isalpha() or text[:1] == "_" else f"_{text}"
