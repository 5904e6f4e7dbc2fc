"""`dynamokit migrate plan|run|status` on a database file: a run killed with SIGKILL resumes where it stopped,
under a writer, every item migrated exactly once (100k items with -m slow)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.model._schema import create_tables
from dynamokit.model.migrations import status

from .migration_models import STATUSES, Doc, v1_app, v1_doc, v2_app, v2_doc
from .test_migrations import answers, fresh

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT)]))}
TARGET = "tests.model.migration_models:v2_app"
COUNT = 3000


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dynamokit._cli", "migrate", *args],
        env=ENV,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def load(path: Path) -> None:
    with Engine(str(path)) as engine:
        old = v1_app().use(engine)
        create_tables(old)
        assert not old.batch_write([v1_doc(i) for i in range(COUNT)])


def test_plan_run_killed_resumed_status(tmp_path: Path) -> None:
    db = tmp_path / "docs.db"
    load(db)
    planned = cli("plan", TARGET, "--db", str(db), "--count", "--rate", "1000")
    assert planned.returncode == 0, planned.stderr
    assert f"items to rewrite: {COUNT:,} (counted) of doc" in planned.stdout
    assert "access pattern 'docs_by_status' is incomplete" in planned.stdout

    slow = subprocess.Popen(  # ~3 WCU per item at 600 WCU/s: about 15 s unless killed
        [sys.executable, "-m", "dynamokit._cli", "migrate", "run", TARGET, "--db", str(db), "--rate", "600",
         "--segments", "3", "--chunk", "25"],
        env=ENV, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        with Engine(str(db)) as engine:
            app = v2_app().use(engine)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = status(app)[0]
                if sum(c.counts["migrated"] for c in found.checkpoints.values()) >= 300:
                    break
                time.sleep(0.1)
            os.kill(slow.pid, signal.SIGKILL)
            slow.wait(10)
            stopped = status(app)[0]
            assert stopped.run is not None and "finished" not in stopped.run
            assert stopped.stored is None
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.wait()
    shown = cli("status", TARGET, "--db", str(db))
    assert "in progress or stopped" in shown.stdout, shown.stdout + shown.stderr

    resumed = cli("run", TARGET, "--db", str(db), "--segments", "8")
    assert resumed.returncode == 0, resumed.stderr
    assert "docs: v1 -> v2 (resumed)" in resumed.stdout and "parked 0" in resumed.stdout
    assert "finished" in cli("status", TARGET, "--db", str(db)).stdout
    with Engine(str(db)) as engine:
        app = v2_app().use(engine)
        for state in STATUSES:
            expected = [v2_doc(i) for i in range(COUNT) if STATUSES[i % 3] == state]
            assert app.query("docs_by_status", status=state).all() == expected
        raw = engine.call("Scan", {"TableName": "docs", "Select": "COUNT", "FilterExpression": "#v = :two",
                                   "ExpressionAttributeNames": {"#v": "_v"},
                                   "ExpressionAttributeValues": {":two": {"N": "2"}}})  # fmt: skip
        assert raw["Count"] == COUNT
    again = cli("run", TARGET, "--db", str(db))
    assert again.stdout.strip() == "docs: at model version 2, nothing to do"


def test_refusals_and_misuse_are_one_line(tmp_path: Path) -> None:
    db = tmp_path / "docs.db"
    load(db)
    (tmp_path / "forgetful.py").write_text(
        "from dynamokit.model.migrations import AddAttribute, Migration\n"
        "from tests.model.migration_models import Doc, v2_app\n"
        "app = v2_app([Migration(1, 2, [AddAttribute(Doc, 'lang', 'en')])])\n"
    )
    env_cwd = {**ENV, "PYTHONPATH": ENV["PYTHONPATH"] + os.pathsep + str(tmp_path)}
    refused = subprocess.run(
        [sys.executable, "-m", "dynamokit._cli", "migrate", "run", "forgetful:app", "--db", str(db)],
        env=env_cwd, cwd=ROOT, text=True, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused: access pattern 'docs_by_status' reads GSI 'gsi2'" in lines[0]
    both = cli("plan", TARGET, "--db", str(db), "--endpoint-url", "http://127.0.0.1:1")
    assert both.returncode == 2 and "give exactly one of --db FILE or --endpoint-url URL" in both.stderr


def test_ctrl_c_stops_at_checkpoints_and_the_next_run_resumes(tmp_path: Path) -> None:
    db = tmp_path / "docs.db"
    load(db)
    running = subprocess.Popen(
        [sys.executable, "-m", "dynamokit._cli", "migrate", "run", TARGET, "--db", str(db), "--rate", "600",
         "--segments", "3", "--chunk", "25"],
        env=ENV, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        with Engine(str(db)) as engine:
            app = v2_app().use(engine)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not status(app)[0].checkpoints:
                time.sleep(0.1)
            running.send_signal(signal.SIGINT)
            _, err = running.communicate(timeout=60)
            assert running.returncode == 130, err
            assert "stopped at the last checkpoints; run again to resume" in err
            stopped = status(app)[0]
            assert stopped.run is not None and "finished" not in stopped.run
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    resumed = cli("run", TARGET, "--db", str(db))
    assert "docs: v1 -> v2 (resumed)" in resumed.stdout, resumed.stdout + resumed.stderr
    with Engine(str(db)) as engine:
        assert v2_app().use(engine).query("docs_by_status", status="live").all() == [
            v2_doc(i) for i in range(COUNT) if i % 3 == 1
        ]


def stream_records(engine: Engine, table: str) -> list[dict[str, Any]]:
    """Every record of the table's stream, from the trim horizon (each shard read to its tip)."""
    from dynamokit.streams._sources import Cursor, EngineSource

    source = EngineSource(engine)
    arn, _ = source.describe(table)
    records: list[dict[str, Any]] = []
    for shard in source.shards(arn):
        cursor = Cursor(arn, shard["ShardId"])
        while page := source.read(cursor, 1000):
            records += page
    return records


def killed_and_resumed_under_a_writer(db: Path, count: int, rate: str | None) -> None:
    """`migrate run` in a subprocess is killed with SIGKILL mid-run while a writer in this process updates
    random documents, then resumed. The stream shows each document rewritten v1 -> v2 exactly once and every
    other change an increment of the writer (never an old image written back); every update is kept, and the
    new access patterns answer exactly like the same documents loaded fresh in the new shape."""
    with Engine(str(db)) as engine:
        old = v1_app().use(engine)
        create_tables(old)
        for start in range(0, count, 5000):
            assert not old.batch_write([v1_doc(i) for i in range(start, min(start + 5000, count))])
        engine.call("UpdateTable", {"TableName": "docs", "StreamSpecification": {
            "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})  # fmt: skip
        app, writer_app = v2_app().use(engine), v2_app().use(engine)
        views: Counter[str] = Counter()
        stop = threading.Event()

        def writer() -> None:
            chooser = random.Random(11)
            while not stop.is_set():
                doc_id = f"d{chooser.randrange(count):06d}"
                writer_app.update(Doc, doc_id=doc_id).add(views=1).run()
                views[doc_id] += 1

        command = [sys.executable, "-m", "dynamokit._cli", "migrate", "run", TARGET, "--db", str(db),
                   "--segments", "4", "--chunk", "100", *(["--rate", rate] if rate else [])]  # fmt: skip
        running = subprocess.Popen(command, env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and running.poll() is None:
                found = status(app)[0]
                if sum(c.counts["migrated"] for c in found.checkpoints.values()) >= count // 3:
                    break
                time.sleep(0.05)
            os.kill(running.pid, signal.SIGKILL)
            running.wait(30)
            assert running.returncode == -signal.SIGKILL, "the run ended before it was killed"
            stopped = status(app)[0]
            assert stopped.run is not None and "finished" not in stopped.run and stopped.stored is None
            resumed = cli("run", TARGET, "--db", str(db), "--segments", "4", timeout=3000)
            assert resumed.returncode == 0, resumed.stderr
            assert "docs: v1 -> v2 (resumed)" in resumed.stdout and "parked 0" in resumed.stdout
        finally:
            stop.set()
            thread.join()
            if running.poll() is None:
                running.kill()
                running.wait()
        assert sum(views.values()) > 0
        upgrades: Counter[str] = Counter()
        for record in stream_records(engine, "docs"):
            change = record["dynamodb"]
            key = change["Keys"]["pk"]["S"]
            before, after = change.get("OldImage", {}), change.get("NewImage", {})
            if before.get("_v") != {"N": "2"} and after.get("_v") == {"N": "2"}:
                upgrades[key] += 1
                continue
            assert (
                record["eventName"] == "MODIFY" and int(after["views"]["N"]) == int(before["views"]["N"]) + 1
            )
            assert {k: v for k, v in after.items() if k != "views"} == {
                k: v for k, v in before.items() if k != "views"
            }, "a change other than the writer's increment: an old image written back?"
        assert upgrades == Counter({f"DOC#d{i:06d}": 1 for i in range(count)}), "not migrated exactly once"
        for i in range(count):
            assert app.get(Doc, doc_id=f"d{i:06d}").run() == v2_doc(i, views[f"d{i:06d}"])
        fresh_engine, expected = fresh(count, views)
        with fresh_engine:
            assert answers(app) == answers(expected)


def test_killed_and_resumed_under_a_writer_every_item_migrated_once(tmp_path: Path) -> None:
    killed_and_resumed_under_a_writer(tmp_path / "docs.db", COUNT, "1500")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_one_hundred_thousand_items_killed_and_resumed_under_a_writer(tmp_path: Path) -> None:
    killed_and_resumed_under_a_writer(tmp_path / "docs.db", 100_000, None)


def test_a_raising_transform_parks_items_exit_3_and_retry_parked_finishes(tmp_path: Path) -> None:
    db = tmp_path / "docs.db"
    load(db)
    (tmp_path / "fragile.py").write_text(
        "from tests.model.migration_models import count_words, migrations, v2_app\n"
        "def fragile(values):\n"
        "    if values['doc_id'] == 'd000007':\n"
        "        raise ValueError('no words here')\n"
        "    return count_words(values)\n"
        "app = v2_app(migrations(fragile))\n"
    )
    env = {**ENV, "PYTHONPATH": ENV["PYTHONPATH"] + os.pathsep + str(tmp_path)}
    parked = subprocess.run(
        [sys.executable, "-m", "dynamokit._cli", "migrate", "run", "fragile:app", "--db", str(db)],
        env=env, cwd=ROOT, text=True, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert parked.returncode == 3, parked.stderr
    assert (
        "parked doc {'pk': {'S': 'DOC#d000007'}, 'sk': {'S': 'DOC'}}: ValueError: no words here"
        in parked.stdout
    )
    assert "1 item(s) parked: fix the migration, then run --retry-parked" in parked.stdout
    assert "parked now 1" in cli("status", TARGET, "--db", str(db)).stdout
    retried = cli("run", TARGET, "--db", str(db), "--retry-parked")
    assert retried.returncode == 0, retried.stderr
    assert "finished" in cli("status", TARGET, "--db", str(db)).stdout
    with Engine(str(db)) as engine:
        assert v2_app().use(engine).get(Doc, doc_id="d000007").run() == v2_doc(7)
