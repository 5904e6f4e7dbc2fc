"""dynamokit against every peer and the floors: `python -m bench` runs it all and writes docs/benchmarks.md.

    python -m bench                 # setup (peers into bench/.peers/), comparison, capacity (wrk), scaling 10k/100k
    python -m bench --quick         # a smoke run of the whole pipeline in well under a minute
    python -m bench --million       # the scaling run goes on to 1M items
    python -m bench --only dynamokit,stub --no-scale --no-capacity   # a subset of targets and parts
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from . import capacity, report, run, scale
from . import setup as peers

DOC = os.path.join(run.REPO, "docs", "benchmarks.md")


def results_path(out: str) -> str:
    """Where the numbers behind a doc are kept (gitignored): bench/results/benchmarks.json for the default doc."""
    return os.path.join(run.REPO, "bench", "results", os.path.splitext(os.path.basename(out))[0] + ".json")


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"{platform.python_implementation()} {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1k items, few calls: checks the pipeline")
    parser.add_argument("--items", type=int, help="items loaded (default 10,000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5)")
    parser.add_argument("--budget", type=float, help="seconds at most per cell per round (default 1.5)")
    parser.add_argument("--threads", default="1,4", help="client thread counts (default 1,4)")
    parser.add_argument("--only", help="comma-separated name fragments of targets to run")
    parser.add_argument("--no-setup", action="store_true", help="do not install peers")
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument("--no-capacity", action="store_true")
    parser.add_argument("--million", action="store_true", help="scaling run up to 1M items (loading takes minutes)")
    parser.add_argument("--out", default=DOC, help="Markdown output (default docs/benchmarks.md)")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rewrite the doc and chart from the numbers kept in bench/results/")
    args = parser.parse_args()
    if args.report_only:
        with open(results_path(args.out)) as f:
            write(json.load(f), args.out)
        return
    items = args.items or (500 if args.quick else 10_000)
    rounds = args.rounds or (1 if args.quick else 5)
    budget = args.budget or (0.1 if args.quick else 1.5)
    scale_ = 20 if args.quick else 1
    counts = {"PutItem": items, "GetItem": 10_000 // scale_, "UpdateItem": 2000 // scale_,
              "CondPutFail": 2000 // scale_, "Query": 2000 // scale_, "QueryGSI": 2000 // scale_,
              "BatchWrite25": 500 // scale_, "Transact4": 1000 // scale_, "Scan": 50 // scale_}
    if not args.no_setup:
        peers.setup()
    started = time.time()
    load = [os.getloadavg()]
    results: dict = {"machine": machine(), "items": items, "rounds": rounds, "budget": budget, "counts": counts,
                     "command": " ".join(["python -m bench", *sys.argv[1:]])}
    with tempfile.TemporaryDirectory(prefix="dynamokit-bench-") as tmp:
        targets = run.make_targets(tmp, items, args.only.split(",") if args.only else None)
        try:
            run.compare(targets, items, counts, rounds, budget, [int(t) for t in args.threads.split(",")])
            results["rss"] = {t.name: run.vm_hwm(t.server.pid) for t in targets if t.server and not t.missing}
        finally:
            for target in targets:
                target.stop()
        results["table"] = run.summarise(targets)
        results["missing"] = {t.name: t.missing for t in targets if t.missing}
        results["check"] = {t.name: t.check for t in targets if t.check}
        load.append(os.getloadavg())
        if not args.no_capacity:
            results["capacity"] = capacity.measure(tmp, seconds=1 if args.quick else 10,
                                                   rounds=1 if args.quick else 2)
            load.append(os.getloadavg())
        if not args.no_scale:
            sizes = [1000, 5000] if args.quick else [10_000, 100_000] + ([1_000_000] if args.million else [])
            results["scale"] = scale.measure(tmp, sizes, queries=50 if args.quick else 200,
                                             rounds=2 if args.quick else 5)
            load.append(os.getloadavg())
    results["load"] = load
    results["seconds"] = time.time() - started
    results["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    os.makedirs(os.path.dirname(results_path(args.out)), exist_ok=True)
    with open(results_path(args.out), "w") as f:
        json.dump(results, f, indent=1)
    write(results, args.out)


def write(results: dict, out: str) -> None:
    """The Markdown doc at `out` and its chart beside it (same name, .png; drawn with the peers' matplotlib)."""
    chart: str | None = os.path.splitext(os.path.abspath(out))[0] + ".png"
    if os.path.exists(peers.PYTHON):
        done = subprocess.run([peers.PYTHON, "-m", "bench.chart", results_path(out), chart], cwd=run.REPO, check=False)
        chart = chart if done.returncode == 0 else None
    else:
        chart = None
    text = report.markdown(results, os.path.relpath(chart, os.path.dirname(os.path.abspath(out))) if chart else None)
    text = report.keep_hand_written(text, out)
    with open(out, "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {out} (measuring took {results['seconds']:.0f}s)", file=sys.stderr)


if __name__ == "__main__":
    main()
