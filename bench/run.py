"""The comparison: every target side by side on the fixed workload, in interleaved rounds.

Each target runs in its own worker process (bench.worker); servers (dynamokit serve, moto_server, dynalite, the
HTTP stub) run as their own processes. Round r runs, for every target in a rotated order, 1/R of each op's calls
(or stops at the cell's time budget), so load changes on the machine hit every target alike; ops/s is the median
over rounds, p50/p99 come from all the calls together.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from . import setup as peers
from .workload import ALL_OPS, OPS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHONPATH = os.pathsep.join([os.path.join(REPO, "src"), REPO])  # this checkout's dynamokit, not one installed

# name -> (group, needs); groups order the table: dynamokit, peers, floors
DYNAMOKIT = ["dynamokit native", "dynamokit boto3 in-process", "dynamokit serve (HTTP)"]
PEERS = ["moto in-process", "moto_server (HTTP)", "dynalite memory (HTTP)", "dynalite disk (HTTP)"]
FLOORS = ["boto3 stub in-process (floor)", "HTTP stub (floor)", "raw sqlite3 (floor)"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def vm_hwm(pid: int) -> float | None:
    """Peak resident set size (VmHWM) of a process, MiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_server(argv: list[str], port: int, log: str) -> subprocess.Popen[Any]:
    proc = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": PYTHONPATH})
    try:
        wait_port(port, proc)
    except RuntimeError:
        proc.kill()
        raise
    return proc


@dataclass
class Target:
    name: str
    python: str
    kind: str
    arg: str = ""
    server: subprocess.Popen[Any] | None = None
    worker: subprocess.Popen[Any] | None = None
    missing: str | None = None
    results: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        self.worker = subprocess.Popen([self.python, "-m", "bench.worker", self.kind, self.arg], cwd=REPO,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                       env={**os.environ, "PYTHONPATH": PYTHONPATH})
        self.ask(None)

    def ask(self, command: dict[str, Any] | None) -> dict[str, Any]:
        assert self.worker and self.worker.stdin and self.worker.stdout
        if command is not None:
            self.worker.stdin.write(json.dumps(command) + "\n")
            self.worker.stdin.flush()
        line = self.worker.stdout.readline()
        if not line:
            raise RuntimeError(f"worker exited ({self.worker.wait()})")
        return json.loads(line)

    def stop(self) -> None:
        for proc in (self.worker, self.server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()


def make_targets(tmp: str, items: int, only: list[str] | None) -> list[Target]:
    """Every target, its servers started; a target whose peer is not installed is marked missing."""
    py = sys.executable
    made: list[Target] = []

    def server_target(name: str, argv: list[str] | None, port: int, why: str | None = None) -> Target:
        target = Target(name, py, "http", f"http://127.0.0.1:{port}")
        if why or argv is None:
            target.missing = why or "not installed"
            return target
        try:
            target.server = start_server(argv, port, os.path.join(tmp, f"{name.split()[0]}-{port}.log"))
        except (RuntimeError, OSError) as error:
            target.missing = f"did not start: {error}"
        return target

    node = shutil.which("node")
    has_dynalite = node and os.path.exists(peers.DYNALITE)
    has_moto = os.path.exists(peers.MOTO_SERVER)
    wanted = lambda name: only is None or any(part.lower() in name.lower() for part in only)
    for name in DYNAMOKIT + PEERS + FLOORS:
        if not wanted(name):
            continue
        port = free_port()
        if name == "dynamokit native":
            target = Target(name, py, "native", os.path.join(tmp, "native.db"))
        elif name == "dynamokit boto3 in-process":
            target = Target(name, py, "inprocess", os.path.join(tmp, "inprocess.db"))
        elif name == "dynamokit serve (HTTP)":
            target = server_target(name, [py, "-c", "from dynamokit._cli import main; main()", "serve",
                                          "--db", os.path.join(tmp, "serve.db"), "--port", str(port), "--workers", "1"], port)
        elif name == "moto in-process":
            target = Target(name, peers.PYTHON, "moto")
            if not has_moto:
                target.missing = "moto not installed (python -m bench.setup)"
        elif name == "moto_server (HTTP)":
            target = server_target(name, [peers.MOTO_SERVER, "-p", str(port)], port,
                                   None if has_moto else "moto not installed (python -m bench.setup)")
        elif name.startswith("dynalite"):
            argv = [node or "node", peers.DYNALITE, "--port", str(port)]
            if "disk" in name:
                argv += ["--path", os.path.join(tmp, "dynalite")]
            target = server_target(name, argv, port,
                                   None if has_dynalite else "node or dynalite missing (python -m bench.setup)")
        elif name == "boto3 stub in-process (floor)":
            target = Target(name, py, "stub", str(items))
        elif name == "HTTP stub (floor)":
            target = server_target(name, [py, "-m", "bench.stubs", "--items", str(items), "--port", str(port)], port)
        else:
            target = Target(name, py, "sqlite", os.path.join(tmp, "raw.db"))
        made.append(target)
    for target in made:
        if target.missing:
            continue
        try:
            target.start()
            target.ask({"setup": {"items": items}})
        except (RuntimeError, OSError, json.JSONDecodeError) as error:
            target.missing = f"worker failed: {error}"
            target.stop()
    return made


def compare(targets: list[Target], items: int, counts: dict[str, int], rounds: int, budget: float,
            threads: list[int], log: Any = sys.stderr) -> None:
    """Run the workload on every live target: the load (PutItem), then the other ops; per thread count."""
    live = [target for target in targets if not target.missing]

    def cell(target: Target, nthreads: int, op: str, start: int, count: int) -> None:
        loading = op == "PutItem" and nthreads == 1  # the load always completes: every table holds every item
        try:
            answer = target.ask({"run": op, "start": start, "count": count, "budget": 1e9 if loading else budget,
                                 "threads": nthreads})
        except (RuntimeError, OSError) as error:
            target.missing = f"worker died during {op}: {error}"
            return
        target.results.setdefault((nthreads, op), []).append(answer)
        n = len(answer["lat"])
        print(f"  {target.name:30} t={nthreads} {op:12} {n:6} calls {n / answer['wall']:9.0f}/s"
              + (f"  {answer['errors']} errors: {answer['error']}" if answer["errors"] else ""), file=log)

    for nthreads in threads:
        phases = [["PutItem"], OPS] if nthreads == 1 else [ALL_OPS]  # one thread: PutItem loads the table
        for ops in phases:
            for r in range(rounds):
                print(f"threads={nthreads} round {r + 1}/{rounds} {ops[0] if len(ops) == 1 else 'ops'}", file=log)
                order = live[r % len(live):] + live[:r % len(live)] if live else []
                for target in order:
                    if target.missing:
                        continue
                    for op in ops:
                        share = counts[op] // rounds
                        start = r * share if op == "PutItem" else r * share + 10_000_000 * nthreads
                        cell(target, nthreads, op, start, share if op != "PutItem" or nthreads > 1
                             else (items - r * share if r == rounds - 1 else share))
            if ops == ["PutItem"]:
                for target in live:
                    if not target.missing:
                        target.check = target.ask({"check": 1})


def summarise(targets: list[Target]) -> dict[str, Any]:
    """Per (threads, target, op): ops/s (median over rounds), p50/p99 ms (all calls), calls, errors."""
    table: dict[str, Any] = {}
    for target in targets:
        for (nthreads, op), answers in target.results.items():
            lat = sorted(x for answer in answers for x in answer["lat"])
            if not lat:
                continue
            rates = [len(answer["lat"]) / answer["wall"] for answer in answers if answer["lat"]]
            table.setdefault(str(nthreads), {}).setdefault(target.name, {})[op] = {
                "ops": statistics.median(rates), "p50": statistics.median(lat) * 1e3,
                "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3, "calls": len(lat),
                "errors": sum(answer["errors"] for answer in answers),
                "error": next((answer["error"] for answer in answers if answer["error"]), None)}
    return table
