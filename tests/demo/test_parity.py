"""The same code runs elsewhere: the demo's four blog patterns, run through the Transport against the
embedded engine and against moto_server over HTTP (an independent DynamoDB implementation), with the same
seeded data and workload, answer every access pattern identically, with the same number of requests.

The microservice pattern's reader reads the posts table's stream through `RemoteSource` (DynamoDB Streams
over HTTP) on moto, and through the engine's own stream store on the engine.

What is compared, per pattern: each access pattern's answer for every repetition (items in order where the
Blog API defines one), the data-plane requests each repetition made, the answers after the writes have
settled, and the interrupted-delete probe (which write failed, partial deletes, orphans).

Not compared: consumed capacity. moto_server does not meter it: every Scan, Query, PutItem and each table
of a BatchWriteItem reports 1.0 unit whatever the item sizes, and TransactWriteItems reports none, so the
demo's RCU/WCU columns are the embedded engine's (DynamoDB's rules) only. Nor timings or view lag.

The default run (SIZE items, REPS repetitions) takes well under a minute; `-m slow` runs the same
comparison at 500 items. moto is slow per transaction (it deep-copies the tables a TransactWriteItems
touches), which is what bounds the size: the microservice reader writes each comment's view in one.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit._demo.meter import Meter
from dynamokit._demo.runner import STEP, _probe
from dynamokit.examples.blog import access, data
from dynamokit.examples.blog.faux_sql import FauxSqlBlog
from dynamokit.examples.blog.microservice import MicroserviceBlog
from dynamokit.examples.blog.simple import SimpleBlog
from dynamokit.examples.blog.single_table import SingleTableBlog
from dynamokit.model import BotoTransport, Transport

from ..conftest import moto_server

SIZE, SEED, REPS = 200, 11, 3  # the default run
LARGER = 500  # test_parity_larger (-m slow)
PATTERNS = ("simple", "faux_sql", "single_table", "microservice")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _client(url: str, service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"max_attempts": 1}),
    )


@dataclass
class Outcome:
    answers: dict[str, Any]  # access pattern key -> the answer of each repetition; "after_writes"
    requests: dict[str, list[int]]  # access pattern key -> data-plane requests of each repetition
    probe: Any
    wcu: float  # write capacity consumed by loading, as reported by the endpoint


def _build(name: str, meter: Meter, background: Meter, stream: Any, directory: Path) -> Any:
    if name == "microservice":
        directory.mkdir(parents=True, exist_ok=True)
        return MicroserviceBlog(meter, stream, str(directory), reader_transport=background)
    return {"simple": SimpleBlog, "faux_sql": FauxSqlBlog, "single_table": SingleTableBlog}[name](meter)


def run(
    name: str, transport: Transport, stream: Any, directory: Path, size: int = SIZE, reps: int = REPS
) -> Outcome:
    """What the demo's runner does for one pattern, minus the timings: load, every access pattern (reads
    first) REPS times, the answers after the writes, and the interrupted-delete probe."""
    items = data.generate(size, SEED)
    work = access.workload(items, reps, SEED)
    meter, background = Meter(transport), Meter(transport)
    blog = _build(name, meter, background, stream, directory)
    try:
        blog.create()
        blog.load(items, STEP, lambda n: None)
        wcu = meter.tally.wcu
        answers: dict[str, Any] = {}
        requests: dict[str, list[int]] = {}
        for pattern in sorted(access.ACCESS_PATTERNS, key=lambda a: a.writes):
            answers[pattern.key], requests[pattern.key] = [], []
            for i in range(reps):
                before = meter.snapshot()
                answers[pattern.key].append(pattern.run(blog, work, i))
                requests[pattern.key].append(meter.tally.minus(before).requests)
        blog.settle()
        answers["after_writes"] = access.after_writes(blog, work)
        probe = _probe(blog, meter, work.probes, work.children)
        return Outcome(answers, requests, probe, wcu)
    finally:
        blog.close()


def run_both(moto_url: str, where: Path, size: int = SIZE, reps: int = REPS) -> dict[str, dict[str, Outcome]]:
    """Every pattern on a fresh embedded engine and on moto_server (reset before each pattern)."""
    from dynamokit.streams._sources import RemoteSource

    found: dict[str, dict[str, Outcome]] = {}
    for name in PATTERNS:
        with Engine() as engine:
            on_engine = run(name, engine, engine, where / "engine" / name, size, reps)
        reset = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset).read()
        dynamodb = _client(moto_url, "dynamodb")
        stream = RemoteSource(dynamodb, _client(moto_url, "dynamodbstreams"))
        on_moto = run(name, BotoTransport(dynamodb), stream, where / "moto" / name, size, reps)
        found[name] = {"engine": on_engine, "moto": on_moto}
    return found


@pytest.fixture(scope="module")
def outcomes(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Outcome]]:
    return run_both(moto_url, tmp_path_factory.mktemp("parity"))


@pytest.mark.parametrize("name", PATTERNS)
@pytest.mark.parametrize("key", [a.key for a in access.ACCESS_PATTERNS] + ["after_writes"])
def test_same_answers(outcomes: dict[str, dict[str, Outcome]], name: str, key: str) -> None:
    engine, moto = outcomes[name]["engine"], outcomes[name]["moto"]
    assert moto.answers[key] == engine.answers[key]


@pytest.mark.parametrize("name", PATTERNS)
@pytest.mark.parametrize("key", [a.key for a in access.ACCESS_PATTERNS])
def test_same_request_counts(outcomes: dict[str, dict[str, Outcome]], name: str, key: str) -> None:
    engine, moto = outcomes[name]["engine"], outcomes[name]["moto"]
    assert moto.requests[key] == engine.requests[key]


@pytest.mark.parametrize("name", PATTERNS)
def test_same_interrupted_delete(outcomes: dict[str, dict[str, Outcome]], name: str) -> None:
    assert outcomes[name]["moto"].probe == outcomes[name]["engine"].probe


def test_answers_are_not_trivial(outcomes: dict[str, dict[str, Outcome]]) -> None:
    """The comparison means something: the reads found data, and all four patterns agree on both sides."""
    engine = outcomes["single_table"]["engine"]
    assert all(page is not None and page.comment_count for page in engine.answers["post_page"])
    assert all(engine.answers["top_posts"]) and any(engine.answers["search"])
    for key in [a.key for a in access.ACCESS_PATTERNS if not a.writes] + ["after_writes"]:
        for side in ("engine", "moto"):
            assert len({repr(outcomes[n][side].answers[key]) for n in PATTERNS}) == 1, (key, side)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_parity_larger(moto_url: str, tmp_path: Path) -> None:
    """The same comparison with more data and repetitions (Scans and Queries still one page each). Not
    the demo's 3000 items: moto_server deep-copies every table a TransactWriteItems touches, stream
    included, before applying it, so the microservice reader's per-comment transactions grow quadratic
    (at 1200 items the run passed 5 minutes and 5 GB)."""
    found = run_both(moto_url, tmp_path, size=LARGER, reps=8)
    for name in PATTERNS:
        engine, moto = found[name]["engine"], found[name]["moto"]
        assert moto.answers == engine.answers, name
        assert moto.requests == engine.requests, name
        assert moto.probe == engine.probe, name
