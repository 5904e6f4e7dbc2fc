"""`dynamokit serve --workers N`: wrk capacity with 1 and 2 (or more) server processes on one database file.

    python -m bench.workers_bench [--seconds 10] [--workers 1 2]

wrk (-t1 -c8) replays 200 signed GetItem and 200 PutItem requests alternately (the mixed load of
`bench.capacity`), a GetItem-only script (reads: what each core adds) and a PutItem-only one (writes: where
SQLite's one writer at a time caps every process together). On a 2-core machine wrk itself takes a share of a
core, so this shows where a second process helps, not a clean scaling curve.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

from .capacity import _cpu_seconds, _lua
from .run import free_port, start_server


def _only(script: str, path: str, operation: str) -> None:
    """The mixed script with only its `operation` requests."""
    with open(script) as f:
        lines = f.read().splitlines()
    kept = [line for line in lines if not line.startswith("  reqs[") or operation in line]
    with open(path, "w") as f:
        f.write("\n".join(kept) + "\n")


def _server_cpu(pid: int) -> float:
    """CPU seconds used so far by the serving processes: `pid` and its workers."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return sum(_cpu_seconds(p) for p in [pid, *map(int, found.split())])


def _rps(url: str, script: str, seconds: int, pid: int) -> tuple[float, str]:
    """Requests per second, and the p99 latency and requests per server CPU-second (what one core would
    answer, however busy the machine is)."""
    before = _server_cpu(pid)
    done = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", "-s", script, url],
                          capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu = _server_cpu(pid) - before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))
    requests = int(re.search(r"(\d+) requests in", done.stdout).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", done.stdout)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    return rps, (f"p99 {p99.group(1) if p99 else '?'}, {requests / cpu:.0f} req per server CPU-s, "
                 f"server CPU {cpu / seconds:.2f} cores") + (f", {bad.group(1)} non-2xx" if bad else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="workers-bench-")
    for workers in args.workers:
        port = free_port()
        argv = [sys.executable, "-m", "dynamokit", "serve", "--port", str(port), "--workers", str(workers),
                "--db", os.path.join(tmp, f"w{workers}.db")]
        proc = start_server(argv, port, os.path.join(tmp, f"w{workers}.log"))
        try:
            url = f"http://127.0.0.1:{port}"
            mixed = os.path.join(tmp, f"mixed{workers}.lua")
            _lua(url, mixed)
            reads, writes = os.path.join(tmp, f"reads{workers}.lua"), os.path.join(tmp, f"writes{workers}.lua")
            _only(mixed, reads, "GetItem")
            _only(mixed, writes, "PutItem")
            _rps(url, mixed, 1, proc.pid)  # warm-up
            for name, script in (("GetItem only", reads), ("GetItem + PutItem", mixed), ("PutItem only", writes)):
                rps, extra = _rps(url, script, args.seconds, proc.pid)
                print(f"workers {workers}: {name:18} {rps:8.0f} req/s ({extra})")
        finally:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
