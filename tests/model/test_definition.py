"""Model definition checks, table definitions, infrastructure export, the catalogue and the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dynamokit.model import GSI, App, Collection, Entity, Index, Keys, ModelError, Pattern, Table
from dynamokit.model._cli import model
from dynamokit.model._schema import cloudformation, create_table_requests, terraform
from dynamokit.model.catalogue import markdown, patterns

from .models import Comment, Post, User, blog_app


def test_pattern_needing_a_scan_is_rejected_naming_the_index() -> None:
    with pytest.raises(ModelError) as error:
        App(
            Table("blog", [Post], indexes=[GSI("gsi1"), GSI("gsi2"), GSI("gsi3")]),
            patterns=[Pattern("posts_by_title", Post, by=("title",))],
        )
    message = str(error.value)
    assert "posts_by_title" in message and "without a Scan" in message
    assert "GSI 'gsi3'" in message and "Index('gsi3', pk='{title}')" in message
    with pytest.raises(ModelError, match="a new GSI"):
        App(
            Table("blog", [Post], indexes=[GSI("gsi1"), GSI("gsi2")]),
            patterns=[Pattern("by_title", Post, by=("title",))],
        )


def test_bad_definitions_are_rejected() -> None:
    class Bad(Entity):
        bad_id: str
        keys = Keys(pk="BAD#{nope}", sk="X")

    with pytest.raises(ModelError, match="unknown field"):
        App(Table("blog", [Bad]))

    class Lost(Entity):
        lost_id: str
        keys = Keys(pk="L#{lost_id}", sk="L", by_x=Index("gsi9", pk="X"))

    with pytest.raises(ModelError, match="no GSI 'gsi9'"):
        App(Table("blog", [Lost]))
    with pytest.raises(ModelError, match="no key shares"):
        App(
            Table("blog", [Post, User], indexes=[GSI("gsi1"), GSI("gsi2")]),
            collections=[Collection("mixed", {"post": Post, "users": list[User]})],
        )
    with pytest.raises(ModelError, match="sort key"):
        App(Table("blog", [Post], sk=None, indexes=[GSI("gsi1"), GSI("gsi2")]))


def test_create_table_input_and_exports() -> None:
    app = blog_app()
    (request,) = create_table_requests(app)
    assert request["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert [g["IndexName"] for g in request["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    assert {a["AttributeName"] for a in request["AttributeDefinitions"]} == {
        "pk",
        "sk",
        "gsi1pk",
        "gsi1sk",
        "gsi2pk",
        "gsi2sk",
    }
    assert request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    props = cloudformation(app)["Resources"]["BlogTable"]["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    hcl = terraform(app)
    assert 'resource "aws_dynamodb_table" "blog"' in hcl and 'attribute_name = "expires"' in hcl
    assert hcl.count("global_secondary_index {") == 2 and hcl.count("{") == hcl.count("}")


def test_catalogue() -> None:
    rows = {r.name: r for r in patterns(blog_app())}
    assert rows["posts_by_author"].index == "gsi1"
    assert rows["posts_by_author"].condition == 'gsi1pk = "AUTHOR#{author}" AND begins_with(gsi1sk, "POST#")'
    assert rows["post_with_comments"].condition == (
        'pk = "POST#{post_id}" AND sk BETWEEN "COMMENT#" AND "POST#\\U0010ffff"'
    )
    assert rows["post_with_comments"].reads == "members only"
    assert rows["post_with_comments"].rcu == 1.5
    text = markdown(blog_app())
    assert (
        "| blog | post | `POST#{post_id}` | `POST#{post_id}` | `AUTHOR#{author} / POST#{status}#{created}` |"
        in text
    )


def test_cli_show_and_export() -> None:
    runner = CliRunner()
    result = runner.invoke(model, ["show", "tests.model.models:blog_app", "--markdown"])
    assert result.exit_code == 0, result.output
    assert "## Access patterns" in result.output and "posts_by_author" in result.output
    result = runner.invoke(model, ["show", "tests.model.models:blog_app"])
    assert result.exit_code == 0 and "Entities x keys" in result.output
    result = runner.invoke(model, ["export", "tests.model.models:sql_app", "--format", "create-table"])
    assert [r["TableName"] for r in json.loads(result.output)] == ["authors", "articles", "notes"]
    result = runner.invoke(model, ["export", "tests.model.models:sql_app", "--format", "terraform"])
    assert result.exit_code == 0 and "aws_dynamodb_table" in result.output
    assert runner.invoke(model, ["show", "tests.model.models"]).exit_code != 0


def test_comment_and_post_share_the_collection_partition() -> None:
    app = blog_app()
    assert app.bound(Comment).primary.pk.text == app.bound(Post).primary.pk.text
