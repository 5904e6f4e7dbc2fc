"""EventSourceMapping: Lambda's ranges checked once, for the local runner and the export alike."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from dynamokit import Engine
from dynamokit.streams import LocalRunner
from dynamokit.streams._cli import streams
from dynamokit.streams._mapping import EventSourceMapping, MappingError

from .test_runner import Recorder, put

BAD = [
    ("batch_size", 0, "batch_size must be an integer 1-10000"),
    ("batch_size", 10_001, "batch_size must be an integer 1-10000"),
    ("batching_window", 301, "batching_window must be 0-300 seconds"),
    ("batching_window", -1, "batching_window must be 0-300 seconds"),
    ("parallelization_factor", 11, "parallelization_factor must be an integer 1-10"),
    ("max_retries", -2, "max_retries must be -1 (forever) or an integer 0-10000"),
    ("max_retries", 10_001, "max_retries must be -1 (forever) or an integer 0-10000"),
    ("max_record_age", 59, "max_record_age must be -1 (forever) or 60-604800 seconds"),
    ("max_record_age", 604_801, "max_record_age must be -1 (forever) or 60-604800 seconds"),
    ("tumbling_window", 901, "tumbling_window must be an integer 0-900"),
    ("starting_position", "AT_TIMESTAMP", "starting_position must be TRIM_HORIZON or LATEST"),
    ("bisect_on_error", "yes", "bisect_on_error must be True or False"),
    ("filter_criteria", {"Filters": []}, "filter_criteria must be"),
    ("filter_criteria", {"Filters": [{"Pattern": "{nope"}]}, "is not JSON"),
    ("handler", "no_function", "handler must be module:function"),
]


@pytest.mark.parametrize(("setting", "value", "message"), BAD)
def test_bad_settings_are_one_clear_error(setting: str, value: Any, message: str) -> None:
    with pytest.raises(MappingError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        EventSourceMapping("src", **{setting: value})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("setting", "value", "message"), BAD[:-1])
def test_the_runner_checks_through_the_mapping(engine: Engine, setting: str, value: Any, message: str) -> None:
    option = {"on_failure": "on_failure_table"}.get(setting, setting)
    with pytest.raises(MappingError, match=message.split(" must")[0]):
        LocalRunner(engine, "src", Recorder(), **{option: value})


def test_bounds_are_allowed() -> None:
    for options in ({"batch_size": 1}, {"batch_size": 10_000}, {"batching_window": 300}, {"max_retries": -1},
                    {"max_retries": 10_000}, {"max_record_age": 60}, {"max_record_age": 604_800},
                    {"tumbling_window": 900}, {"parallelization_factor": 10}):
        EventSourceMapping("src", **options)


def test_properties_carry_every_setting() -> None:
    mapping = EventSourceMapping("src", "app.reader:handler", batch_size=25, batching_window=2,
                                 parallelization_factor=3, bisect_on_error=True, max_retries=4,
                                 max_record_age=3600, tumbling_window=0, starting_position="LATEST",
                                 filter_criteria={"Filters": [{"Pattern": {"eventName": ["INSERT"]}}]})
    assert mapping.properties() == {
        "BatchSize": 25, "MaximumBatchingWindowInSeconds": 2, "ParallelizationFactor": 3,
        "BisectBatchOnFunctionError": True, "MaximumRetryAttempts": 4, "MaximumRecordAgeInSeconds": 3600,
        "TumblingWindowInSeconds": 0, "StartingPosition": "LATEST",
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]}}
    with pytest.raises(MappingError, match="whole seconds"):
        EventSourceMapping("src", batching_window=0.5).properties()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A module-level handler for `module:function` loading."""
    SEEN.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"])
    return {"batchItemFailures": []}


SEEN: list[str] = []


def test_runner_from_a_mapping_loads_its_handler_and_runs(engine: Engine) -> None:
    SEEN.clear()
    put(engine, "a", n=1)
    mapping = EventSourceMapping("src", f"{__name__}:handler", batch_size=7, on_failure="parked")
    runner = LocalRunner.from_mapping(engine, mapping)
    assert runner.settings == mapping and runner.settings.batch_size == 7 and runner.settings.on_failure == "parked"
    runner.run_until_caught_up(5)
    assert SEEN == ["a"]
    with pytest.raises(MappingError, match="has no function 'nope'"):
        LocalRunner.from_mapping(engine, mapping.with_options(handler=f"{__name__}:nope"))


def test_without_report_batch_item_failures_a_partial_response_is_success(engine: Engine) -> None:
    put(engine, "bad", n=1)
    put(engine, "good", n=1)
    recorder = Recorder(fail={"bad"}, partial=True)
    runner = LocalRunner(engine, "src", recorder, report_batch_item_failures=False, name="ignoring")
    assert runner.run_until_caught_up(5).retries == 0  # Lambda ignores batchItemFailures then: no retry
    assert sorted(recorder.seen) == ["bad", "good"]
    reporting = LocalRunner(engine, "src", Recorder(fail={"bad"}, partial=True), max_retries=1, name="reporting")
    assert reporting.run_until_caught_up(5).retries == 2


def test_cli_reports_a_bad_setting_in_one_line() -> None:
    result = CliRunner().invoke(streams, ["run", f"{__name__}:handler", "--db", ":memory:", "--table", "src",
                                          "--batch-size", "0"])
    assert result.exit_code == 2
    assert "batch_size must be an integer 1-10000, not 0" in result.output
