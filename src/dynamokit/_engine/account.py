"""The account's and the region's own control-plane calls: DescribeLimits, DescribeEndpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Engine, Operation


def describe_limits(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """The default account and table throughput quotas of a region."""
    return {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}


def describe_endpoints(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """The regional endpoint, cached for a day."""
    address = f"dynamodb.{engine.region}.amazonaws.com"
    return {"Endpoints": [{"Address": address, "CachePeriodInMinutes": 1440}]}


OPERATIONS: dict[str, Operation] = {
    "DescribeLimits": describe_limits,
    "DescribeEndpoints": describe_endpoints,
}
