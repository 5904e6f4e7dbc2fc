"""`dynamokit migrate plan|run|status` on a database file: a run killed with SIGKILL resumes where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dynamokit import Engine
from dynamokit.model.migrations import status
from dynamokit.model.schema import create_tables

from .migration_models import STATUSES, v1_app, v1_doc, v2_app, v2_doc

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT)]))}
TARGET = "tests.model.migration_models:v2_app"
COUNT = 3000


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dynamokit.cli", "migrate", *args],
        env=ENV,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=300,
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
        [sys.executable, "-m", "dynamokit.cli", "migrate", "run", TARGET, "--db", str(db), "--rate", "600",
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
        [sys.executable, "-m", "dynamokit.cli", "migrate", "run", "forgetful:app", "--db", str(db)],
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
        [sys.executable, "-m", "dynamokit.cli", "migrate", "run", TARGET, "--db", str(db), "--rate", "600",
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
