"""Cold-start cost of importing dynamokit's Lambda-facing modules: each import in a fresh interpreter, the
median of several runs (milliseconds of the import itself, interpreter start-up excluded), and how many
modules it loads.

    python bench/imports.py                      # this tree's src/
    python bench/imports.py --src OTHER/src      # another tree, e.g. an older checkout, to compare
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

MODULES = ("dynamokit", "dynamokit.model", "dynamokit.streams", "dynamokit._engine.core")
PROBE = """
import sys, time, json
start = time.perf_counter()
import {module}
took = time.perf_counter() - start
heavy = [m for m in ("sqlite3", "boto3", "botocore", "duckdb", "rich", "click", "dynamokit._engine.core")
         if m in sys.modules]
print(json.dumps([took * 1000, len(sys.modules), heavy]))
"""


def measure(module: str, src: str, runs: int) -> tuple[float, int, list[str]]:
    """Median import milliseconds, modules loaded and heavy modules loaded, over `runs` fresh interpreters."""
    env = {**os.environ, "PYTHONPATH": src, "PYTHONDONTWRITEBYTECODE": "1"}
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], env=env, capture_output=True,
                             text=True, check=True, timeout=120).stdout
        samples.append(json.loads(out))
    return statistics.median(s[0] for s in samples), samples[-1][1], samples[-1][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=os.path.join(os.path.dirname(os.path.dirname(__file__)), "src"))
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-c", "import " + ", ".join(MODULES)], check=True,  # bytecode caches warm
                   env={**os.environ, "PYTHONPATH": args.src})
    print(f"{'module':<24}{'median ms':>10}{'modules':>9}  heavy modules loaded")
    for module in MODULES:
        millis, count, heavy = measure(module, args.src, args.runs)
        print(f"{module:<24}{millis:>10.1f}{count:>9}  {', '.join(heavy) or '-'}")


if __name__ == "__main__":
    main()
