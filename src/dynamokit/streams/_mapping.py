"""EventSourceMapping: one description of a stream processor's event source, read by the local runner and by
the deployment export alike, so local and deployed settings cannot drift. Standard library only."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")


class MappingError(ValueError):
    """A setting outside what Lambda's event source mapping allows (the message names the setting)."""


@dataclass(frozen=True)
class EventSourceMapping:
    """How `table`'s stream feeds `handler` (`module:function`), in Lambda's terms.

    Every setting has Lambda's allowed range, checked here once (`LocalRunner` builds one of these from its
    keyword arguments). `on_failure` names the destination of records given up on: on AWS an SQS queue of
    that name (it receives the sequence ranges, as Lambda sends them), locally a table of that name (the
    records in full). `report_batch_item_failures` is FunctionResponseTypes=ReportBatchItemFailures: without
    it a `batchItemFailures` response counts as success, as in Lambda.
    """

    table: str
    handler: str | None = None
    batch_size: int = 100
    batching_window: float = 0
    parallelization_factor: int = 1
    bisect_on_error: bool = False
    max_retries: int = -1
    max_record_age: float = -1
    on_failure: str | None = None
    report_batch_item_failures: bool = True
    tumbling_window: int = 0
    filter_criteria: dict[str, Any] | None = field(default=None, hash=False)
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"

    def __post_init__(self) -> None:
        _text("table", self.table)
        if self.handler is not None:
            module, _, function = self.handler.partition(":")
            if not module or not function.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
                raise MappingError(f"handler must be module:function, not {self.handler!r}")
        _whole("batch_size", self.batch_size, 1, 10_000)
        _number("batching_window", self.batching_window, 0, 300)
        _whole("parallelization_factor", self.parallelization_factor, 1, 10)
        _flag("bisect_on_error", self.bisect_on_error)
        if self.max_retries != -1:
            _whole("max_retries", self.max_retries, 0, 10_000, "-1 (forever) or ")
        if self.max_record_age != -1:
            _number("max_record_age", self.max_record_age, 60, 604_800, "-1 (forever) or ")
        if self.on_failure is not None:
            _text("on_failure", self.on_failure)
        _flag("report_batch_item_failures", self.report_batch_item_failures)
        _whole("tumbling_window", self.tumbling_window, 0, 900)
        _filters(self.filter_criteria)
        if self.starting_position not in STARTING_POSITIONS:
            raise MappingError(f"starting_position must be TRIM_HORIZON or LATEST, not {self.starting_position!r}")

    def with_options(self, **options: Any) -> EventSourceMapping:
        """A copy with some settings changed (checked again)."""
        return replace(self, **options)

    def properties(self) -> dict[str, Any]:
        """The AWS::Lambda::EventSourceMapping properties these settings are (without EventSourceArn,
        FunctionName and the destination's ARN, which the export fills in): every setting, defaults included,
        so the deployed mapping is exactly the local one."""
        if self.batching_window != int(self.batching_window) or self.max_record_age != int(self.max_record_age):
            raise MappingError("batching_window and max_record_age must be whole seconds to deploy")
        props: dict[str, Any] = {
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": int(self.batching_window),
            "ParallelizationFactor": self.parallelization_factor,
            "BisectBatchOnFunctionError": self.bisect_on_error,
            "MaximumRetryAttempts": self.max_retries,
            "MaximumRecordAgeInSeconds": int(self.max_record_age),
            "TumblingWindowInSeconds": self.tumbling_window,
            "StartingPosition": self.starting_position,
        }
        if self.report_batch_item_failures:
            props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        if self.filter_criteria:
            props["FilterCriteria"] = {"Filters": [
                {"Pattern": f["Pattern"] if isinstance(f["Pattern"], str) else json.dumps(f["Pattern"])}
                for f in self.filter_criteria["Filters"]]}
        return props

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_handler(handler: str) -> Callable[..., Any]:
    """The function `module:function` names (what Lambda invokes: `module.function`)."""
    module, _, function = handler.partition(":")
    found: Callable[..., Any] | None = getattr(importlib.import_module(module), function, None)
    if not callable(found):
        raise MappingError(f"handler {handler!r}: module {module!r} has no function {function!r}")
    return found


def _text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise MappingError(f"{name} must be a non-empty name, not {value!r}")


def _flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise MappingError(f"{name} must be True or False, not {value!r}")


def _whole(name: str, value: object, low: int, high: int, also: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MappingError(f"{name} must be {also}an integer {low}-{high}, not {value!r}")


def _number(name: str, value: object, low: float, high: float, also: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise MappingError(f"{name} must be {also}{low}-{high} seconds, not {value!r}")


def _filters(criteria: object) -> None:
    """FilterCriteria: `{"Filters": [{"Pattern": <JSON object, or its text>}, ...]}`, at most 5 filters."""
    if criteria is None:
        return
    filters = criteria.get("Filters") if isinstance(criteria, dict) else None
    if not isinstance(filters, list) or not 1 <= len(filters) <= 5 or not all(
            isinstance(f, dict) and set(f) == {"Pattern"} for f in filters):
        raise MappingError('filter_criteria must be {"Filters": [{"Pattern": ...}]} with 1-5 filters')
    for f in filters:
        pattern = f["Pattern"]
        if isinstance(pattern, str):
            try:
                pattern = json.loads(pattern)
            except ValueError:
                raise MappingError(f"filter_criteria: pattern {f['Pattern']!r} is not JSON") from None
        if not isinstance(pattern, dict):
            raise MappingError(f"filter_criteria: a pattern must be a JSON object, not {f['Pattern']!r}")
