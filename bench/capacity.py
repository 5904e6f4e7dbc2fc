"""Server capacity with a load generator that is not boto3: wrk replaying signed GetItem/PutItem requests.

boto3 signs 200 GetItem and 200 PutItem requests once (captured on their way out); a Lua script replays them
alternately over keep-alive connections (wrk -t1 -c8). The server's own CPU time during the run (from
/proc/PID/stat) gives requests/s per core of server CPU: a 2-core machine shares its cores with wrk.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from typing import Any

import boto3
from botocore.config import Config

from . import setup as peers
from .run import free_port, start_server
from .workload import CREATE_TABLE, TABLE, Workload

ITEMS = 1000
CONNECTIONS = 8


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lua(url: str, path: str) -> None:
    """Load the table, capture signed requests and write the replaying wrk script."""
    made = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k",
                        aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))
    made.create_table(**CREATE_TABLE)
    made.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2})
    work = Workload(ITEMS)
    for n in range(ITEMS):
        made.put_item(**work.request("PutItem", n))
    captured: list[tuple[dict[str, str], bytes]] = []

    def keep(request: Any, **_: Any) -> None:
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "x-amz-target", "x-amz-date", "authorization")}
        captured.append((headers, request.body))

    made.meta.events.register("before-send", keep)
    for n in range(200):
        made.get_item(**work.request("GetItem", n))
        made.put_item(**work.request("PutItem", work.any()))
    lines = ["local reqs = {}", "init = function(args)"]
    for headers, body in captured:
        fields = ", ".join(f'["{k}"] = [==[{v}]==]' for k, v in headers.items())
        lines.append(f'  reqs[#reqs + 1] = wrk.format("POST", "/", {{{fields}}}, [==[{body.decode()}]==])')
    lines += ["end", "local i = 0", "request = function()", "  i = i % #reqs + 1", "  return reqs[i]", "end"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def _wrk(url: str, script: str, pid: int, seconds: int) -> dict[str, Any]:
    before = _cpu_seconds(pid)
    done = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script, url],
                          capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu = _cpu_seconds(pid) - before
    out = done.stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1, "s": 1e3}
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests,
            "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else None,
            "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else None,
            "cpu_share": cpu / seconds, "per_core": requests / cpu if cpu else None}


def measure(tmp: str, seconds: int = 10, rounds: int = 2, log: Any = sys.stderr) -> dict[str, Any]:
    if not shutil.which("wrk"):
        return {"missing": "wrk not installed (apt-get install wrk)"}
    servers: dict[str, list[str]] = {}
    servers["dynamokit serve"] = [sys.executable, "-c", "from dynamokit._cli import main; main()", "serve",
                                  "--db", os.path.join(tmp, "capacity.db"), "--port", "{port}", "--workers", "1"]
    if shutil.which("node") and os.path.exists(peers.DYNALITE):
        servers["dynalite memory"] = ["node", peers.DYNALITE, "--port", "{port}"]
    running: dict[str, tuple[str, str, subprocess.Popen[Any]]] = {}
    results: dict[str, Any] = {"connections": CONNECTIONS, "seconds": seconds, "rounds": rounds}
    try:
        for name, argv in servers.items():
            port = free_port()
            proc = start_server([a.replace("{port}", str(port)) for a in argv], port,
                                os.path.join(tmp, f"capacity-{port}.log"))
            url = f"http://127.0.0.1:{port}"
            script = os.path.join(tmp, f"capacity-{port}.lua")
            _lua(url, script)
            running[name] = (url, script, proc)
            _wrk(url, script, proc.pid, 1)  # warm-up
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in running}
        for _ in range(rounds):
            for name, (url, script, proc) in running.items():
                runs[name].append(_wrk(url, script, proc.pid, seconds))
                print(f"  wrk {name}: {runs[name][-1]}", file=log)
        for name, measured in runs.items():
            results[name] = {key: statistics.median(m[key] for m in measured) if isinstance(measured[0][key], float)
                             else measured[-1][key] for key in measured[0]}
            results[name]["non2xx"] = sum(m["non2xx"] for m in measured)
    except (RuntimeError, OSError, AttributeError, subprocess.TimeoutExpired) as error:
        results["error"] = f"{type(error).__name__}: {error}"
    finally:
        for _, _, proc in running.values():
            proc.terminate()
            proc.wait(10)
    return results
