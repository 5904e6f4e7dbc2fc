"""What importing dynamokit costs: the model and the stream handlers load without the engine, SQLite, DuckDB,
rich, click or boto3 (a Lambda function's cold start), and what is imported lazily still works."""

from __future__ import annotations

import importlib
import json
import pathlib
import subprocess
import sys

import pytest

import dynamokit as dynamokit_package

HEAVY = ("sqlite3", "duckdb", "rich", "click", "boto3", "botocore", "aiobotocore", "dynamokit._engine.core",
         "dynamokit._engine.storage", "dynamokit.client", "dynamokit.server")


def fresh(code: str) -> str:
    """Run `code` in a fresh interpreter (the test run's sys.path) and return its standard output."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                          env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def loaded_after(statement: str) -> list[str]:
    out = fresh(f"import sys\n{statement}\nimport json\nprint(json.dumps(sorted(sys.modules)))")
    modules = set(json.loads(out.splitlines()[-1]))
    return sorted(m for m in HEAVY if m in modules or any(n.startswith(m + ".") for n in modules))


@pytest.mark.parametrize("statement", [
    "import dynamokit",
    "import dynamokit.model",
    "import dynamokit.streams",
    "from dynamokit.streams import Change, StreamProcessor, View, decode",
    "import dynamokit.streams._processor, dynamokit.streams._changes, dynamokit.streams._views",
    "from dynamokit import DynamoDBError",
])
def test_light_imports(statement: str) -> None:
    assert loaded_after(statement) == []


def test_the_heavy_check_can_fail() -> None:
    assert {"dynamokit._engine.core", "sqlite3"} <= set(loaded_after("from dynamokit import Engine"))


def test_lazy_names_resolve() -> None:
    out = fresh(
        "import dynamokit.client, dynamokit, dynamokit.streams as s\n"
        "from dynamokit import Engine, EngineClosed, client, resource\n"
        "from dynamokit._engine import DynamoDBError as E\n"
        "assert E is dynamokit.DynamoDBError and dynamokit.client is client and callable(client)\n"
        "ddb = client(Engine())\n"
        "print(ddb.list_tables()['TableNames'], s.LocalRunner.__name__, s.FtsSink.__name__, set(dir(dynamokit)) >= set(dynamokit.__all__))"
    )
    assert out.split() == ["[]", "LocalRunner", "FtsSink", "True"]


def test_unknown_names_raise_attribute_error() -> None:
    import dynamokit
    import dynamokit.streams

    with pytest.raises(AttributeError):
        dynamokit.Nope  # noqa: B018
    with pytest.raises(AttributeError):
        dynamokit.streams.Nope  # noqa: B018


def test_duckdb_missing_says_which_extra() -> None:
    out = fresh(
        "import sys\nsys.modules['duckdb'] = None  # as if not installed\n"
        "import dynamokit.streams\n"
        "try:\n    from dynamokit.streams import DuckDBSink\nexcept ImportError as error:\n    print(error)\n"
        "from dynamokit.examples.blog import microservice\nprint(microservice.DuckDBSink)"
    )
    assert "pip install 'dynamokit[analytics]'" in out and out.splitlines()[-1] == "None"


# The command line and what only it imports: the `cli` extra (click, rich).
CLI_MODULES = ("dynamokit.__main__", "dynamokit._cli", "dynamokit._transfer_cli", "dynamokit._targets", "dynamokit._demo",
               "dynamokit.model._cli", "dynamokit.model.migrations._cli", "dynamokit.streams._cli")
WITHOUT_CLI_EXTRA = "import sys\nsys.modules['click'] = sys.modules['rich'] = None  # as if not installed\n"


def test_everything_but_the_command_line_works_without_the_cli_extra() -> None:
    """The engine, server, model, streams, mock and pytest plugin import without click and rich."""
    src = pathlib.Path(dynamokit_package.__file__).parent
    modules = sorted(".".join(("dynamokit", *path.relative_to(src).with_suffix("").parts)).removesuffix(".__init__")
                     for path in src.rglob("*.py"))
    light = [m for m in modules if not any(m == c or m.startswith(c + ".") for c in CLI_MODULES)]
    assert "dynamokit.testing.plugin" in light and "dynamokit.model.catalogue" in light
    out = fresh(WITHOUT_CLI_EXTRA + "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in light)
                + "import boto3, dynamokit\nwith dynamokit.mock():\n"
                "    print(boto3.client('dynamodb', region_name='eu-west-1').list_tables()['TableNames'])")
    assert out.split() == ["[]"]


def test_the_command_without_the_cli_extra_names_it() -> None:
    done = subprocess.run([sys.executable, "-c", WITHOUT_CLI_EXTRA + "from dynamokit.launcher import main\nmain()",
                           "--help"], capture_output=True, text=True, timeout=120, check=False,
                          env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "dynamokit: the command line needs click and rich, which the cli extra installs: pip install 'dynamokit[cli]'"]


def test_the_command_with_the_cli_extra() -> None:
    assert "demo" in fresh("import sys\nsys.argv = ['dynamokit', '--help']\nimport dynamokit.__main__")


PUBLIC = {
    "dynamokit": ["DynamoDBError", "Engine", "EngineClosed", "Fault", "__version__", "client", "mock", "resource"],
    "dynamokit.model": [
        "App", "AsyncBotoTransport", "AsyncTransport", "Attr", "Backoff", "BotoTransport", "CascadeTooLarge",
        "Collection", "CollectionPage", "CollectionQuery", "Condition", "Delete", "Entity", "GSI", "Get", "Index",
        "IntegrityError", "InvalidItem", "InvalidItemWarning", "InvalidItems", "InvalidUpdate", "Keys",
        "MissingKeyInputs", "ModelError", "Options", "Page", "Pattern", "Put", "Query", "Ref", "RequestCounter",
        "ScanWarning", "Table", "Template", "ThreadTransport", "Transport", "TypedPattern", "UnboundedFilterWarning",
        "UnknownAttribute", "Update", "UpdateOp", "acreate_tables", "attr", "create_table_requests", "create_tables",
        "from_item", "pattern", "to_item",
    ],
    "dynamokit.streams": [
        "Capacity", "Change", "DuckDBSink", "EventSourceMapping", "Faults", "FreshRead", "FtsSink", "FtsWriter", "Hit",
        "LocalRunner", "MappingError", "Metrics", "OpenSearchSink", "RemoteSource", "Sink", "StreamProcessor",
        "StreamSource", "UnknownEntity", "View", "ViewTransaction", "backfill", "decode", "ensure_table",
        "wait_for_version",
    ],
    "dynamokit.model.catalogue": ["PatternRow", "chart", "markdown", "patterns", "rcu"],
    "dynamokit.model.migrations": [
        "STATE_TABLE", "AddAttribute", "AddIndex", "BuildView", "ChangeIndex", "Migration", "MigrationError", "Parked", "Plan",
        "Progress", "RemoveAttribute", "RenameAttribute", "Report", "TablePlan", "TableRun", "TableStatus",
        "Transform", "ViewPlan", "ViewRun", "arun", "plan", "run", "status", "write_back",
    ],
    "dynamokit.deploy": [
        "LSI", "READ", "WRITE", "Deployment", "DeploymentError", "EventSourceMapping", "MappingError", "Processor",
        "TableSettings", "create_table_request", "render", "template", "template_json", "terraform", "write",
    ],
    "dynamokit.server": ["Authenticator", "AuthorizingBackend", "Principal", "Server", "authorize", "tenant_policy"],
    "dynamokit.testing": ["MockError", "active_mock", "seed"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module: str) -> None:
    """The public API changes only on purpose: a name added to or dropped from __all__ is a change here too,
    and every name in __all__ resolves."""
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(PUBLIC[module])
    for name in imported.__all__:
        assert getattr(imported, name) is not None, name


def test_public_names_are_not_shadowed_by_submodules() -> None:
    """Importing a submodule binds it to its package's attribute of the same name: after every module is
    imported, each public name is still what its module exports, not a submodule."""
    src = pathlib.Path(dynamokit_package.__file__).parent
    modules = sorted(".".join(("dynamokit", *path.relative_to(src).with_suffix("").parts)).removesuffix(".__init__")
                     for path in src.rglob("*.py") if path.stem != "__main__")
    out = fresh("import importlib, json, types\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
                + f"public = {PUBLIC!r}\n"
                "print(json.dumps(sorted(f'{m}.{n}' for m, names in public.items() for n in names\n"
                "                        if isinstance(getattr(importlib.import_module(m), n), types.ModuleType))))")
    assert out.splitlines()[-1] == "[]"
