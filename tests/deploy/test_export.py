"""Deployment export: every template passes cfn-lint; Terraform parses (terraform fmt) and matches a provider
schema excerpt; the deployed event source mapping is the local runner's, setting by setting."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_all
from click.testing import CliRunner

from dynamokit import Engine
from dynamokit.deploy import (
    LSI,
    READ,
    Deployment,
    DeploymentError,
    EventSourceMapping,
    Processor,
    TableSettings,
    template,
    terraform,
)
from dynamokit.deploy._hcl import Block, Expr
from dynamokit.deploy._terraform import MAPPING_ARGUMENTS, blocks
from dynamokit.examples.blog import faux_sql, microservice, simple, single_table
from dynamokit.examples.blog.deploy import READER
from dynamokit.examples.blog.deploy import deployment as blog_deployment
from dynamokit.model import create_tables
from dynamokit.model._cli import model
from dynamokit.streams import LocalRunner

SCHEMA = json.loads((Path(__file__).parent / "aws_provider_schema.json").read_text())


def busy_deployment() -> Deployment:
    """Every setting away from its default: provisioned capacity, LSIs, filters, windows, environment."""
    mapping = EventSourceMapping(
        microservice.POSTS_TABLE, "dynamokit.examples.blog.deploy:handler", batch_size=500, batching_window=5,
        parallelization_factor=4, bisect_on_error=True, max_retries=3, max_record_age=3600, on_failure="dead",
        report_batch_item_failures=False, tumbling_window=60, starting_position="LATEST",
        filter_criteria={"Filters": [{"Pattern": {"eventName": ["INSERT", "MODIFY"]}},
                                     {"Pattern": '{"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "POST#"}]}}}}'}]})
    return Deployment(
        microservice.posts_app(), microservice.views_app(),
        processors=[Processor("busy-reader", mapping, tables={microservice.VIEWS_TABLE: READ},
                              environment={"LOG_LEVEL": "INFO"}, memory=1024, timeout=300)],
        settings={microservice.VIEWS_TABLE: TableSettings(
            billing="PROVISIONED", read_capacity=5, write_capacity=5,
            lsis=(LSI("by_title", "title"), LSI("by_likes", "likes", "N", "KEYS_ONLY")))},
        runtime="python3.13")


DEPLOYMENTS = {
    "blog-microservice": lambda: blog_deployment,
    "busy": busy_deployment,
    "blog-simple": lambda: Deployment(simple.app()),
    "blog-faux-sql": lambda: Deployment(faux_sql.app()),
    "blog-single-table": lambda: Deployment(single_table.app(), defaults=TableSettings(pitr=True)),
}


IGNORED = {"I4010"}  # informational: asks for a Metadata.com.aws.cloudformation.Context prose block


def lint(document: dict[str, Any]) -> list[str]:
    """cfn-lint with every rule (errors, warnings and informational) but IGNORED."""
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in lint_all(json.dumps(document))
            if m.rule.id not in IGNORED]


@pytest.mark.parametrize("kind", ["sam", "cloudformation"])
@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_every_template_passes_cfn_lint(name: str, kind: str) -> None:
    assert lint(template(DEPLOYMENTS[name](), kind)) == []


def test_cfn_lint_is_really_checking() -> None:
    """A negative control: the same template with a batch size Lambda refuses is reported."""
    broken = copy.deepcopy(template(blog_deployment, "cloudformation"))
    broken["Resources"]["BlogReaderMapping"]["Properties"]["BatchSize"] = 0
    assert any("BatchSize" in m for m in lint(broken))


def test_the_blog_runner_uses_the_deployed_settings_exactly(tmp_path: Path) -> None:
    """Setting by setting: the local runner of the microservice blog against the exported mapping (CFN, SAM,
    Terraform)."""
    with Engine(":memory:") as engine:
        blog = microservice.MicroserviceBlog(engine, engine, str(tmp_path))
        blog.create()
        try:
            runner = blog.runner
            assert runner.settings == READER
            effective = effective_properties(runner)
        finally:
            blog.close()
    cfn = template(blog_deployment, "cloudformation")["Resources"]["BlogReaderMapping"]["Properties"]
    sam = template(blog_deployment, "sam")["Resources"]["BlogReaderFunction"]["Properties"]["Events"]["Stream"]
    assert {k: cfn[k] for k in effective} == effective
    assert {k: sam["Properties"][k] for k in effective} == effective
    assert cfn["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["BlogReaderFailuresQueue", "Arn"]}
    queue = template(blog_deployment, "cloudformation")["Resources"]["BlogReaderFailuresQueue"]["Properties"]
    assert queue["QueueName"] == runner.settings.on_failure == "blog-reader-failures"
    mapping = resource_block(blocks(blog_deployment), "aws_lambda_event_source_mapping")
    assert {prop: dict(mapping.body)[arg] for prop, arg in MAPPING_ARGUMENTS.items()} == effective


def effective_properties(runner: LocalRunner) -> dict[str, Any]:
    """What the runner actually runs with (the settings its parts read), in EventSourceMapping property names."""
    out = {
        "BatchSize": runner.settings.batch_size,
        "MaximumBatchingWindowInSeconds": runner.settings.batching_window,
        "ParallelizationFactor": runner.settings.parallelization_factor,
        "BisectBatchOnFunctionError": runner.settings.bisect_on_error,
        "MaximumRetryAttempts": runner.settings.max_retries,
        "MaximumRecordAgeInSeconds": runner.settings.max_record_age,
        "TumblingWindowInSeconds": runner.settings.tumbling_window,
        "StartingPosition": runner.settings.starting_position,
    }
    if runner.settings.report_batch_item_failures:
        out["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    return out


def test_a_busy_runner_matches_its_busy_export() -> None:
    deployment = busy_deployment()
    mapping = deployment.mapping("busy-reader")
    with Engine(":memory:") as engine:
        create_tables(microservice.posts_app().use(engine))
        runner = LocalRunner.from_mapping(engine, mapping, lambda event, context: {"state": {}})
        cfn = template(deployment, "cloudformation")["Resources"]["BusyReaderMapping"]["Properties"]
        effective = effective_properties(runner)
        assert "FunctionResponseTypes" not in cfn and "FunctionResponseTypes" not in effective
        assert {k: cfn[k] for k in effective} == effective
        patterns = [json.loads(f["Pattern"]) for f in cfn["FilterCriteria"]["Filters"]]
        assert patterns == runner.filters.patterns


def resource_block(found: list[Block], kind: str) -> Block:
    return next(b for b in found if b.type == "resource" and b.labels[0] == kind)


def check_block(block: Block, schema: dict[str, Any], where: str) -> list[str]:
    problems = []
    names = [name for name, _ in block.body]
    for required in schema.get("required", ()):
        if required not in names:
            problems.append(f"{where}: missing {required}")
    for name, value in block.body:
        if isinstance(value, Block):
            inner = schema.get("blocks", {}).get(name)
            if inner is None:
                problems.append(f"{where}: unknown block {name}")
            else:
                problems += check_block(value, inner, f"{where}.{name}")
            continue
        kind = schema.get("arguments", {}).get(name)
        ok = {"string": isinstance(value, str) and not isinstance(value, Expr),
              "number": isinstance(value, int) and not isinstance(value, bool),
              "bool": isinstance(value, bool), "list": isinstance(value, list), "map": isinstance(value, dict),
              "expression": isinstance(value, str)}.get(kind or "", False)
        if not ok:
            problems.append(f"{where}: argument {name} = {value!r} is not a {kind or 'known argument'}")
        if name in schema.get("enums", {}) and value not in schema["enums"][name]:
            problems.append(f"{where}: {name} = {value!r} not in {schema['enums'][name]}")
        if name in schema.get("ranges", {}):
            low, high = schema["ranges"][name]
            if not low <= value <= high:
                problems.append(f"{where}: {name} = {value} outside {low}-{high}")
    return problems


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_terraform_matches_the_provider_schema_excerpt(name: str) -> None:
    problems = []
    for block in blocks(DEPLOYMENTS[name]()):
        if block.type == "resource":
            kind = block.labels[0]
            assert kind in SCHEMA, kind
            problems += check_block(block, SCHEMA[kind], f"{kind}.{block.labels[1]}")
    assert problems == []


def test_the_schema_check_catches_a_wrong_argument() -> None:
    table = resource_block(blocks(blog_deployment), "aws_dynamodb_table")
    table.body.append(("billing", "PAY_PER_REQUEST"))
    table.body.append(("stream_view_type", "NEW"))
    assert len(check_block(table, SCHEMA["aws_dynamodb_table"], "t")) == 2


@pytest.mark.skipif(shutil.which("terraform") is None, reason="the terraform binary is not installed")
@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_terraform_parses_the_hcl(name: str, tmp_path: Path) -> None:
    """`terraform fmt` parses the HCL (providers cannot be downloaded here, so `terraform validate` cannot run)."""
    result = subprocess.run(["terraform", "fmt", "-"], check=False, input=terraform(DEPLOYMENTS[name]()), text=True,
                            capture_output=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    broken = subprocess.run(["terraform", "fmt", "-"], check=False, input='resource "x" "y" {\n  a = \n}\n', text=True,
                            capture_output=True, timeout=60, cwd=tmp_path)
    assert broken.returncode != 0  # the control: fmt does reject bad syntax


def test_least_privilege_role() -> None:
    resources = template(blog_deployment, "sam")["Resources"]
    statements = resources["BlogReaderRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["ReadStream"]["Resource"] == [{"Fn::GetAtt": ["MsPostsTable", "StreamArn"]}]
    assert by_sid["OnFailure"] == {"Sid": "OnFailure", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                                   "Resource": [{"Fn::GetAtt": ["BlogReaderFailuresQueue", "Arn"]}]}
    assert by_sid["Table0"]["Resource"] == [{"Fn::GetAtt": ["MsViewsTable", "Arn"]},
                                            {"Fn::Sub": "${MsViewsTable.Arn}/index/*"}]
    assert not any("MsPostsTable" in json.dumps(s) for s in statements if s["Sid"].startswith("Table"))
    assert all("*" != r for s in statements for r in s["Resource"])


def test_tables_carry_keys_indexes_stream_ttl_billing_pitr_and_protection() -> None:
    resources = template(busy_deployment(), "cloudformation")["Resources"]
    views = resources["MsViewsTable"]["Properties"]
    assert views["BillingMode"] == "PROVISIONED" and views["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert [i["IndexName"] for i in views["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    assert [i["IndexName"] for i in views["LocalSecondaryIndexes"]] == ["by_title", "by_likes"]
    assert {"AttributeName": "likes", "AttributeType": "N"} in views["AttributeDefinitions"]
    posts = template(blog_deployment, "sam")["Resources"]["MsPostsTable"]
    assert posts["DeletionPolicy"] == posts["UpdateReplacePolicy"] == "Retain"
    assert posts["Properties"]["DeletionProtectionEnabled"] is True
    assert posts["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert posts["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Deployment(microservice.views_app(), processors=[Processor("r", READER)]),
     "processor r: no table 'ms_posts' in the deployment"),
    (lambda: Deployment(microservice.posts_app(), microservice.views_app(), processors=[
        Processor("r", READER.with_options(table=microservice.VIEWS_TABLE))]), "table 'ms_views' has no stream"),
    (lambda: Processor("r", READER, tables={"ms_views": ["Explode"]}), "unknown table action"),
    (lambda: Processor("r", EventSourceMapping("ms_posts")), "names no handler"),
    (lambda: TableSettings(billing="PROVISIONED"), "read_capacity and write_capacity"),
    (lambda: Deployment(simple.app(), settings={"nope": TableSettings()}), "settings: no table 'nope'"),
    (lambda: template(Deployment(microservice.views_app(), defaults=TableSettings(
        lsis=(LSI("x", "gsi2sk", "N"),))), "sam"), "LSI x sort key 'gsi2sk' is both S and N"),
])
def test_misuse_is_one_clear_error(build: Any, message: str) -> None:
    with pytest.raises(DeploymentError, match=message) as caught:
        build()
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("kind", "file"), [("sam", "template.json"), ("cloudformation", "template.json"),
                                            ("terraform", "main.tf"), ("create-table", "tables.json")])
def test_cli_export_writes_the_deployment(kind: str, file: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(model, ["export", "dynamokit.examples.blog.deploy:deployment", "--format", kind,
                                        "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / file).read_text()
    if kind in ("sam", "cloudformation"):
        assert lint(json.loads(text)) == []
    assert "blog-reader" in text or kind == "create-table"


def test_cli_export_refuses_what_is_not_an_app() -> None:
    result = CliRunner().invoke(model, ["export", "dynamokit.examples.blog.deploy:READER", "--format", "sam"])
    assert result.exit_code == 2 and "is not a dynamokit.model.App or dynamokit.deploy.Deployment" in result.output
